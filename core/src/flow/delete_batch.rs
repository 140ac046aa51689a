//! `POST /indexes/{uid}/documents/delete-batch`: each id goes only to the replicas of
//! its shard, so each node gets the ids it holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::register::{registered, TaskDraft};
use super::{encode_segment, Call, Flow, Next, Reply, Target};
use crate::json_body;
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::ShardMap;

pub(super) struct DeleteBatch {
    map: Arc<ShardMap>,
    index: String,
    content_type: Option<String>,
    nodes: Vec<usize>,
    draft: Option<TaskDraft>,
    registering: bool,
}

impl DeleteBatch {
    pub fn new(map: Arc<ShardMap>, index: String, content_type: Option<String>) -> DeleteBatch {
        DeleteBatch { map, index, content_type, nodes: Vec::new(), draft: None, registering: false }
    }
}

/// The id Meilisearch deletes for a value of the array: a string as is, anything else printed.
fn id_of(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_string)
}

impl Flow for DeleteBatch {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if let Err(e) = json_body::check_content_type(self.content_type.as_deref()) {
            return e.into();
        }
        let ids: Vec<Value> = match json_body::parse(&body) {
            Ok(ids) => ids,
            Err(e) => return e.into(),
        };
        let placement = IndexPlacement::compute(&self.map, &self.index);
        let mut per_node: BTreeMap<usize, Vec<&Value>> = BTreeMap::new();
        for value in &ids {
            for &node in placement.owners_of(placement.shard_of(&id_of(value))) {
                per_node.entry(node).or_default().push(value);
            }
        }
        let copies = placement.owners.first().map_or(1, Vec::len);
        let draft = TaskDraft::new(Some(self.index.clone()), "documentDeletion", copies).detail("providedIds", json!(ids.len()));
        self.draft = Some(draft);
        if per_node.is_empty() {
            // An empty list still makes one (empty) task on a node, as Meilisearch would.
            per_node.insert(placement.owners_of(0).first().copied().unwrap_or(0), Vec::new());
        }
        let path = format!("/indexes/{}/documents/delete-batch", encode_segment(&self.index));
        self.nodes = per_node.keys().copied().collect();
        let calls = per_node
            .into_iter()
            .map(|(node, ids)| Call::json(Target::Node(node), Method::Post, path.clone(), json!(ids).to_string().into_bytes()))
            .collect();
        Next::Send(calls)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if self.registering {
            return registered(replies);
        }
        let Some(draft) = self.draft.as_mut() else { return Next::Wait };
        if let Err(refusal) = draft.accept(&self.map, &self.nodes, replies, false) {
            return Next::Respond(refusal);
        }
        self.registering = true;
        draft.register()
    }
}
