//! Requests every node must apply alike, as one client task: index creation, update
//! and deletion, settings. Miroir's shard field is made filterable on a new index and
//! kept filterable through every settings change, so nodes can always serve "only
//! shards X, Y" and enumerate a shard.

use std::sync::Arc;

use serde_json::Value;

use super::register::{registered, TaskDraft};
use super::{encode_segment, Call, Flow, Next, Reply, Target};
use crate::placement::IndexPlacement;
use crate::route::{Method, TaskKind};
use crate::settings::{bookkeeping_patch, rewrite_write, SettingsRoute};
use crate::shard_map::ShardMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// A settings change may create its index: is it there?
    Probing { tried: usize },
    /// The index is new: Miroir's settings first.
    Preparing,
    Applying,
    Bookkeeping,
    Registering,
}

/// The client request being broadcast.
pub(super) struct Request {
    pub method: Method,
    pub path: String,
    pub content_type: Option<String>,
}

pub(super) struct Broadcast {
    map: Arc<ShardMap>,
    request: Request,
    index: Option<String>,
    kind: TaskKind,
    settings: SettingsRoute,
    /// Miroir's settings to set again once the client's change is enqueued.
    follow_up: Option<Vec<u8>>,
    nodes: Vec<usize>,
    draft: Option<TaskDraft>,
    stage: Stage,
    /// The (rewritten) request to apply on every node.
    apply: Option<(Method, Option<Vec<u8>>, Option<String>)>,
}

impl Broadcast {
    pub fn new(map: Arc<ShardMap>, request: Request, index: Option<String>, kind: TaskKind, settings: SettingsRoute) -> Broadcast {
        let nodes = (0..map.nodes.len()).collect();
        let follow_up = (kind == TaskKind::IndexCreation).then(bookkeeping_patch);
        Broadcast { map, request, index, kind, settings, follow_up, nodes, draft: None, stage: Stage::Applying, apply: None }
    }

    /// The client's request, as rewritten, to every node.
    fn send_apply(&mut self) -> Next {
        self.stage = Stage::Applying;
        let Some((method, body, content_type)) = self.apply.clone() else { return Next::Wait };
        let calls = self
            .nodes
            .iter()
            .map(|&n| Call { target: Target::Node(n), method, path: self.request.path.clone(), content_type: content_type.clone(), body: body.clone() })
            .collect();
        Next::Send(calls)
    }

    fn settings_calls(&self, index: &str, patch: &[u8]) -> Next {
        let path = format!("/indexes/{}/settings", encode_segment(index));
        Next::Send(self.nodes.iter().map(|&n| Call::json(Target::NodeAsMiroir(n), Method::Patch, path.clone(), patch.to_vec())).collect())
    }

    fn probe(&mut self, tried: usize) -> Next {
        let (Some(index), Some(&node)) = (&self.index, super::live_nodes(&self.map).get(tried)) else {
            return super::unavailable("this settings change").into();
        };
        self.stage = Stage::Probing { tried: tried + 1 };
        Next::Send(vec![Call::get(Target::NodeAsMiroir(node), format!("/indexes/{}", encode_segment(index)))])
    }
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
        let (method, body) = if self.kind == TaskKind::SettingsUpdate {
            let write = rewrite_write(self.settings, self.request.method, body);
            self.follow_up = write.follow_up;
            (write.method, write.body)
        } else {
            (self.request.method, body)
        };
        // Node counts (an index deletion's `deletedDocuments`) see each document once per replica.
        let copies = self.index.as_deref().map_or(1, |i| IndexPlacement::compute(&self.map, i).owners.first().map_or(1, Vec::len));
        let mut draft = TaskDraft::new(self.index.clone(), self.kind.as_str(), copies);
        // Meilisearch keeps `customMetadata` on the documents routes only.
        if matches!(self.kind, TaskKind::DocumentDeletion | TaskKind::DocumentEdition) {
            let query = self.request.path.split_once('?').map_or("", |(_, q)| q);
            draft.record.custom_metadata = crate::route::query_param(query, "customMetadata");
        }
        self.draft = Some(draft);
        let body = (!body.is_empty()).then_some(body);
        let content_type = match (&self.request.content_type, &body) {
            (None, Some(_)) if method != self.request.method => Some("application/json".to_string()),
            (ct, _) => ct.clone(),
        };
        self.apply = Some((method, body, content_type));
        match self.kind {
            TaskKind::SettingsUpdate => self.probe(0),
            _ => self.send_apply(),
        }
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match self.stage {
            Stage::Registering => return registered(replies),
            Stage::Probing { tried } => {
                let reply = replies.into_iter().next().unwrap_or_default();
                return match (reply.status, &self.index) {
                    (404, Some(index)) => {
                        self.stage = Stage::Preparing;
                        self.settings_calls(index, &bookkeeping_patch())
                    }
                    (200, _) => self.send_apply(),
                    _ if reply.is_unavailable() => self.probe(tried),
                    _ => Next::Respond(super::Response::relay(reply)),
                };
            }
            _ => {}
        }
        let Some(draft) = self.draft.as_mut() else { return Next::Wait };
        let hidden = matches!(self.stage, Stage::Bookkeeping | Stage::Preparing);
        if let Err(refusal) = draft.accept(&self.map, &self.nodes, replies, hidden) {
            return Next::Respond(refusal);
        }
        if self.stage == Stage::Preparing {
            return self.send_apply();
        }
        match (self.index.clone(), self.stage, self.follow_up.clone()) {
            (Some(index), Stage::Applying, Some(patch)) => {
                self.stage = Stage::Bookkeeping;
                self.settings_calls(&index, &patch)
            }
            _ => {
                self.stage = Stage::Registering;
                draft.register()
            }
        }
    }
}
