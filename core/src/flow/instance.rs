//! The flows of the instance-wide routes ([`crate::api::ApiRoute`]).

use std::sync::Arc;

use super::sync_change::{Kind, SyncChange};
use super::{any_node, global_stats, keys, Flow, RequestInfo};
use crate::api::ApiRoute;
use crate::route::Method;
use crate::settings::SettingsRoute;
use crate::shard_map::ShardMap;

pub(super) fn flow(map: Arc<ShardMap>, route: ApiRoute, req: RequestInfo) -> Box<dyn Flow> {
    let method = Method::parse(&req.method);
    match route {
        ApiRoute::ReadOne => Box::new(any_node::AnyNode::new(map, req.path, SettingsRoute::Other)),
        ApiRoute::KeyCreate => Box::new(keys::KeyCreate::new(map, req.content_type)),
        ApiRoute::KeyUpdate { .. } => Box::new(SyncChange::new(map, Kind::KeyUpdate, method, req.path, req.content_type)),
        ApiRoute::KeyDelete { .. } => Box::new(SyncChange::new(map, Kind::KeyDelete, method, req.path, req.content_type)),
        ApiRoute::FeaturesUpdate => Box::new(SyncChange::new(map, Kind::Features, method, req.path, req.content_type)),
        ApiRoute::GlobalStats => Box::new(global_stats::GlobalStats::new(map)),
        ApiRoute::TaskList => Box::new(super::tasks_list::TaskList::new(map, &req.path)),
        ApiRoute::TaskBulk { delete } => super::task_bulk::TaskBulk::new(map, delete, &req.path),
        ApiRoute::Batches { uid: None } => super::batches::BatchList::list(map, &req.path),
        ApiRoute::Batches { uid: Some(uid) } => super::batches::BatchList::one(map, &uid),
    }
}
