//! One document by id: read from one live replica of its shard, or deleted on every
//! replica of its shard.

use std::sync::Arc;

use serde_json::{json, Value};

use super::register::{registered, TaskDraft};
use super::{encode_segment, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::{NodeState, ShardMap};
use crate::wire::SHARD_FIELD;

/// `GET /indexes/{uid}/documents/{id}`.
pub(super) struct DocumentGet {
    path: String,
    candidates: Vec<usize>,
    tried: usize,
}

impl DocumentGet {
    pub fn new(map: Arc<ShardMap>, index: &str, id: &str, query: &str) -> DocumentGet {
        let placement = IndexPlacement::compute(&map, index);
        let shard = placement.shard_of(id);
        let candidates =
            placement.owners_of(shard).iter().copied().filter(|&n| map.nodes[n].state == NodeState::Up).collect();
        let mut path = format!("/indexes/{}/documents/{}", encode_segment(index), encode_segment(id));
        if !query.is_empty() {
            path = format!("{path}?{query}");
        }
        DocumentGet { path, candidates, tried: 0 }
    }

    fn next_call(&mut self) -> Next {
        let Some(&node) = self.candidates.get(self.tried) else {
            return unavailable("this document").into();
        };
        self.tried += 1;
        Next::Send(vec![Call::get(Target::Node(node), self.path.clone())])
    }
}

impl Flow for DocumentGet {
    fn start(&mut self) -> Next {
        self.next_call()
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match replies.into_iter().next() {
            Some(r) if r.is_unavailable() => self.next_call(),
            Some(r) if r.status == 200 => match r.json() {
                Some(mut doc) => {
                    strip_shard_field(&mut doc);
                    Next::Respond(Response::json(200, &doc))
                }
                None => Next::Respond(Response::relay(r)),
            },
            Some(r) => Next::Respond(Response::relay(r)),
            None => self.next_call(),
        }
    }
}

/// Removes Miroir's bookkeeping field from a document before a client sees it.
pub fn strip_shard_field(doc: &mut Value) {
    if let Some(obj) = doc.as_object_mut() {
        obj.shift_remove(SHARD_FIELD);
    }
}

/// `DELETE /indexes/{uid}/documents/{id}`.
pub(super) struct DocumentDelete {
    map: Arc<ShardMap>,
    path: String,
    owners: Vec<usize>,
    draft: TaskDraft,
    registering: bool,
}

impl DocumentDelete {
    pub fn new(map: Arc<ShardMap>, index: &str, id: &str) -> DocumentDelete {
        let placement = IndexPlacement::compute(&map, index);
        let owners = placement.owners_of(placement.shard_of(id)).to_vec();
        let draft = TaskDraft::new(Some(index.to_string()), "documentDeletion", owners.len()).detail("providedIds", json!(1));
        let path = format!("/indexes/{}/documents/{}", encode_segment(index), encode_segment(id));
        DocumentDelete { map, path, owners, draft, registering: false }
    }
}

impl Flow for DocumentDelete {
    fn start(&mut self) -> Next {
        let calls = self
            .owners
            .iter()
            .map(|&n| Call { method: Method::Delete, ..Call::get(Target::Node(n), self.path.clone()) })
            .collect();
        Next::Send(calls)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if self.registering {
            return registered(replies);
        }
        if let Err(refusal) = self.draft.accept(&self.map, &self.owners, replies, false) {
            return Next::Respond(refusal);
        }
        self.registering = true;
        self.draft.register()
    }
}
