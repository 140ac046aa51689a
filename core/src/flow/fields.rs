//! `POST /indexes/{uid}/fields`: the fields a node knows come from the documents it
//! holds, so every live node is asked for all of its fields and the lists are united
//! (a field's settings-derived description is the same on every node), Miroir's own
//! fields dropped, sorted by name as Meilisearch sorts them, and paged once.
//!
//! Every node refuses an invalid body the same way: the first refusal is relayed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{encode_segment, live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::fanout::degraded;
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::ShardMap;
use crate::wire::is_bookkeeping;

/// Meilisearch's default page size for listings.
const DEFAULT_LIMIT: u64 = 20;
/// Asks a node for every field it has.
const ALL: u64 = u32::MAX as u64;

pub(super) struct Fields {
    map: Arc<ShardMap>,
    index: String,
    content_type: Option<String>,
    fail_when_degraded: bool,
    nodes: Vec<usize>,
    /// The client's paging when it could be read; else the body goes as it is.
    paging: Option<(u64, u64)>,
}

impl Fields {
    pub fn new(map: Arc<ShardMap>, index: String, content_type: Option<String>, fail_when_degraded: bool) -> Fields {
        let nodes = live_nodes(&map);
        Fields { map, index, content_type, fail_when_degraded, nodes, paging: None }
    }

    fn merge(&self, replies: Vec<Reply>, (offset, limit): (u64, u64)) -> Next {
        let mut fields: BTreeMap<String, Value> = BTreeMap::new();
        let mut answered = BTreeSet::new();
        for (&node, reply) in self.nodes.iter().zip(replies) {
            let Some(Value::Array(results)) = reply.json().and_then(|mut v| v.get_mut("results").map(Value::take)) else { continue };
            answered.insert(node);
            for field in results {
                let Some(name) = field.get("name").and_then(Value::as_str).map(str::to_string) else { continue };
                if !is_bookkeeping(&name) {
                    fields.entry(name).or_insert(field);
                }
            }
        }
        let placement = IndexPlacement::compute(&self.map, &self.index);
        let missing: Vec<u32> =
            (0..placement.shards).filter(|s| !placement.owners_of(*s).iter().any(|n| answered.contains(n))).collect();
        let headers = match degraded(&missing, &format!("index `{}`", self.index), self.fail_when_degraded) {
            Ok(headers) => headers,
            Err(e) => return e.into(),
        };
        let total = fields.len() as u64;
        // BTreeMap order is byte order of the names, as Meilisearch sorts them.
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let results: Vec<Value> = fields.into_values().skip(skip).take(take).collect();
        let mut out = Map::new();
        out.insert("results".into(), Value::Array(results));
        out.insert("offset".into(), offset.into());
        out.insert("limit".into(), limit.into());
        out.insert("total".into(), total.into());
        Next::Respond(Response { status: 200, body: Value::Object(out).to_string().into_bytes(), headers })
    }
}

/// The client's `offset` and `limit`, and the body asking a node for everything;
/// `None` when the body is not an object with valid paging (nodes will refuse it).
fn read_paging(body: &[u8]) -> Option<((u64, u64), Vec<u8>)> {
    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(body) else { return None };
    let read = |name: &str, default: u64| match obj.get(name) {
        None => Some(default),
        Some(v) => v.as_u64(),
    };
    let paging = (read("offset", 0)?, read("limit", DEFAULT_LIMIT)?);
    obj.insert("offset".into(), 0.into());
    obj.insert("limit".into(), ALL.into());
    Some((paging, Value::Object(obj).to_string().into_bytes()))
}

impl Flow for Fields {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if self.nodes.is_empty() {
            return unavailable("this fields listing").into();
        }
        let json = crate::json_body::check_content_type(self.content_type.as_deref()).is_ok();
        let (paging, body) = match read_paging(&body) {
            Some((paging, rewritten)) if json => (Some(paging), rewritten),
            _ => (None, body),
        };
        self.paging = paging;
        let path = format!("/indexes/{}/fields", encode_segment(&self.index));
        let calls = self
            .nodes
            .iter()
            .map(|&n| Call { target: Target::Node(n), method: Method::Post, path: path.clone(), content_type: self.content_type.clone(), body: Some(body.clone()) })
            .collect();
        Next::Send(calls)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if let Some(refusal) = replies.iter().find(|r| !r.is_unavailable() && r.status != 200) {
            return Next::Respond(Response::relay(refusal.clone()));
        }
        if replies.iter().all(Reply::is_unavailable) {
            return unavailable("this fields listing").into();
        }
        match self.paging {
            Some(paging) => self.merge(replies, paging),
            // Every node accepted a body Miroir could not read: never pass one node's part on.
            None => MeiliError::new(Code::MiroirUnsupportedRoute, format!("Miroir does not support `POST /indexes/{}/fields` with this body yet.", self.index)).into(),
        }
    }
}
