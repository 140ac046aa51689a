//! Requests every node must apply alike, as one client task: index creation, update
//! and deletion, settings. A new index also gets Miroir's shard field filterable, so
//! nodes can serve "only shards X, Y" and enumerate a shard.

use std::sync::Arc;

use serde_json::{json, Value};

use super::register::{registered, TaskDraft};
use super::{encode_segment, Call, Flow, Next, Reply, Target};
use crate::route::{Method, TaskKind};
use crate::shard_map::ShardMap;
use crate::wire::SHARD_FIELD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Applying,
    Bookkeeping,
    Registering,
}

pub(super) struct Broadcast {
    map: Arc<ShardMap>,
    method: Method,
    path: String,
    content_type: Option<String>,
    index: Option<String>,
    kind: TaskKind,
    nodes: Vec<usize>,
    draft: Option<TaskDraft>,
    stage: Stage,
}

impl Broadcast {
    pub fn new(
        map: Arc<ShardMap>,
        method: Method,
        path: String,
        content_type: Option<String>,
        index: Option<String>,
        kind: TaskKind,
    ) -> Broadcast {
        let nodes = (0..map.nodes.len()).collect();
        Broadcast { map, method, path, content_type, index, kind, nodes, draft: None, stage: Stage::Applying }
    }
}

/// Settings that make the shard field filterable on a new index.
pub fn shard_bookkeeping_settings() -> Vec<u8> {
    json!({ "filterableAttributes": [SHARD_FIELD] }).to_string().into_bytes()
}

impl Flow for Broadcast {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        if self.kind == TaskKind::IndexCreation {
            let uid = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("uid")?.as_str().map(str::to_string));
            self.index = uid;
        }
        self.draft = Some(TaskDraft::new(self.index.clone(), self.kind.as_str(), self.nodes.len()));
        let body = (!body.is_empty()).then_some(body);
        let calls = self
            .nodes
            .iter()
            .map(|&n| Call {
                target: Target::Node(n),
                method: self.method,
                path: self.path.clone(),
                content_type: self.content_type.clone(),
                body: body.clone(),
            })
            .collect();
        Next::Send(calls)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if self.stage == Stage::Registering {
            return registered(replies);
        }
        let Some(draft) = self.draft.as_mut() else { return Next::Wait };
        let hidden = self.stage == Stage::Bookkeeping;
        if let Err(refusal) = draft.accept(&self.map, &self.nodes, replies, hidden) {
            return Next::Respond(refusal);
        }
        match (&self.index, self.stage, self.kind) {
            (Some(index), Stage::Applying, TaskKind::IndexCreation) => {
                self.stage = Stage::Bookkeeping;
                let path = format!("/indexes/{}/settings", encode_segment(index));
                let body = shard_bookkeeping_settings();
                Next::Send(self.nodes.iter().map(|&n| Call::json(Target::Node(n), Method::Patch, path.clone(), body.clone())).collect())
            }
            _ => {
                self.stage = Stage::Registering;
                draft.register()
            }
        }
    }
}
