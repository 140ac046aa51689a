//! One document by id: read from one live replica of its shard, or deleted on every
//! write owner of its shard that is not down (leaving a tombstone at the delete's stamp).

use std::sync::Arc;

use serde_json::{json, Value};

use super::quorum::{self, Owners};
use super::register::{refused_after_registering, registered, Part, TaskDraft, WriteScope};
use super::{encode_segment, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::MeiliError;
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::{NodeState, ShardMap};
use crate::task::Tombstones;

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
                    strip_bookkeeping(&mut doc);
                    Next::Respond(Response::json(200, &doc))
                }
                None => Next::Respond(Response::relay(r)),
            },
            Some(r) => Next::Respond(Response::relay(r)),
            None => self.next_call(),
        }
    }
}

/// Removes Miroir's bookkeeping fields from a document before a client sees it.
pub fn strip_bookkeeping(doc: &mut Value) {
    if let Some(obj) = doc.as_object_mut() {
        crate::wire::strip_bookkeeping(obj);
    }
}

/// `DELETE /indexes/{uid}/documents/{id}`.
pub(super) struct DocumentDelete {
    map: Arc<ShardMap>,
    index: String,
    path: String,
    placement: IndexPlacement,
    shard: u32,
    owners: Owners,
    parts: Vec<Part>,
    draft: TaskDraft,
    stage: DeleteStage,
}

enum DeleteStage {
    Deleting,
    Registering,
    RegisteringRefused(MeiliError),
}

impl DocumentDelete {
    pub fn new(map: Arc<ShardMap>, index: &str, id: &str, query: &str, version: u64) -> DocumentDelete {
        let placement = IndexPlacement::compute(&map, index);
        let shard = placement.shard_of(id);
        let owners = quorum::owners(&map, &placement, &[shard]);
        let mut draft = TaskDraft::new(Some(index.to_string()), "documentDeletion", placement.copies()).detail("providedIds", json!(1));
        draft.record.tombstones = Some(Tombstones { version, ids: vec![id.to_string()] });
        draft.record.custom_metadata = crate::route::query_param(query, "customMetadata");
        let path = format!("/indexes/{}/documents/{}", encode_segment(index), encode_segment(id));
        let serving = placement.owners_of(shard);
        let parts = owners.reachable.iter().map(|&node| Part { node, hidden: !serving.contains(&node), documents: 1 }).collect();
        DocumentDelete { map, index: index.to_string(), path, placement, shard, owners, parts, draft, stage: DeleteStage::Deleting }
    }
}

impl Flow for DocumentDelete {
    fn start(&mut self) -> Next {
        if let Err(e) = quorum::check_before(&self.map, &self.placement, &[self.shard], &self.index) {
            return e.into();
        }
        let calls = self
            .parts
            .iter()
            .map(|p| Call { method: Method::Delete, ..Call::get(Target::Node(p.node), self.path.clone()) })
            .collect();
        Next::Send(calls)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, DeleteStage::Registering) {
            DeleteStage::Registering => return registered(replies),
            DeleteStage::RegisteringRefused(e) => return refused_after_registering(&e),
            DeleteStage::Deleting => {}
        }
        let accepted = match self.draft.accept_writes(&self.map, &self.parts, replies) {
            Ok(accepted) => accepted,
            Err(refusal) => return Next::Respond(refusal),
        };
        let shards = [self.shard];
        let scope = WriteScope { map: &self.map, placement: &self.placement, shards: &shards, index: &self.index };
        if let Err(e) = self.draft.settle(&scope, &self.owners, &accepted) {
            self.stage = DeleteStage::RegisteringRefused(e);
        }
        self.draft.register()
    }
}
