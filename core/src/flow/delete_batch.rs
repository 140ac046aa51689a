//! `POST /indexes/{uid}/documents/delete-batch`: each id goes only to the write owners
//! of its shard that are not down, so each node gets the ids it holds; the task leaves
//! tombstones for the ids at the delete's stamp.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::quorum::{self, Owners};
use super::register::{refused_after_registering, registered, Part, TaskDraft, WriteScope};
use super::{encode_segment, Call, Flow, Next, Reply};
use super::Target;
use crate::error::MeiliError;
use crate::json_body;
use crate::placement::IndexPlacement;
use crate::route::Method;
use crate::shard_map::ShardMap;
use crate::task::Tombstones;

pub(super) struct DeleteBatch {
    map: Arc<ShardMap>,
    index: String,
    content_type: Option<String>,
    /// The client's `customMetadata`, shown with the task.
    custom_metadata: Option<String>,
    version: u64,
    placement: Option<IndexPlacement>,
    shards: Vec<u32>,
    owners: Owners,
    parts: Vec<Part>,
    draft: Option<TaskDraft>,
    stage: Stage,
}

enum Stage {
    Deleting,
    Registering,
    RegisteringRefused(MeiliError),
}

impl DeleteBatch {
    pub fn new(map: Arc<ShardMap>, index: String, content_type: Option<String>, query: &str, version: u64) -> DeleteBatch {
        DeleteBatch {
            custom_metadata: crate::route::query_param(query, "customMetadata"),
            map,
            index,
            content_type,
            version,
            placement: None,
            shards: Vec::new(),
            owners: Owners::default(),
            parts: Vec::new(),
            draft: None,
            stage: Stage::Deleting,
        }
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
        // (node, hidden): a rebalance target's ids go apart, hidden from the counts.
        let mut per_part: BTreeMap<(usize, bool), Vec<&Value>> = BTreeMap::new();
        let mut shards = Vec::new();
        for value in &ids {
            let shard = placement.shard_of(&id_of(value));
            shards.push(shard);
            let serving = placement.owners_of(shard);
            for &node in placement.write_owners_of(shard) {
                if self.map.nodes.get(node).is_some_and(|n| n.state.takes_writes()) {
                    per_part.entry((node, !serving.contains(&node))).or_default().push(value);
                }
            }
        }
        shards.sort_unstable();
        shards.dedup();
        if let Err(e) = quorum::check_before(&self.map, &placement, &shards, &self.index) {
            return e.into();
        }
        let mut draft = TaskDraft::new(Some(self.index.clone()), "documentDeletion", placement.copies()).detail("providedIds", json!(ids.len()));
        draft.record.tombstones = Some(Tombstones { version: self.version, ids: ids.iter().map(id_of).collect() });
        draft.record.custom_metadata = self.custom_metadata.clone();
        self.draft = Some(draft);
        if per_part.is_empty() {
            // An empty list still makes one (empty) task on a node, as Meilisearch would.
            let node = placement.owners_of(0).iter().copied().find(|&n| self.map.nodes[n].state.takes_writes());
            per_part.insert((node.unwrap_or(0), false), Vec::new());
        }
        let path = format!("/indexes/{}/documents/delete-batch", encode_segment(&self.index));
        self.owners = quorum::owners(&self.map, &placement, &shards);
        self.shards = shards;
        self.placement = Some(placement);
        self.parts = per_part.iter().map(|(&(node, hidden), ids)| Part { node, hidden, documents: ids.len() as u64 }).collect();
        let calls = per_part
            .into_iter()
            .map(|((node, _), ids)| Call::json(Target::Node(node), Method::Post, path.clone(), json!(ids).to_string().into_bytes()))
            .collect();
        Next::Send(calls)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::Registering) {
            Stage::Registering => return registered(replies),
            Stage::RegisteringRefused(e) => return refused_after_registering(&e),
            Stage::Deleting => {}
        }
        let (Some(draft), Some(placement)) = (self.draft.as_mut(), self.placement.as_ref()) else { return Next::Wait };
        let accepted = match draft.accept_writes(&self.map, &self.parts, replies) {
            Ok(accepted) => accepted,
            Err(refusal) => return Next::Respond(refusal),
        };
        let scope = WriteScope { map: &self.map, placement, shards: &self.shards, index: &self.index };
        if let Err(e) = draft.settle(&scope, &self.owners, &accepted) {
            self.stage = Stage::RegisteringRefused(e);
        }
        draft.register()
    }
}
