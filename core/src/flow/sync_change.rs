//! Synchronous changes every node must apply alike (`PATCH`/`DELETE /keys/{key}`,
//! `PATCH /experimental-features`): not tasks, so the answer is final.
//!
//! The current state is read first (with Miroir's key) so a change that succeeds on
//! some nodes and fails on others can be undone where it succeeded: the client then
//! gets the failure, and the nodes are as they were. A key deletion found already
//! done on some nodes (a deletion interrupted earlier) counts as done there, so
//! retrying it converges.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::route::Method;
use crate::shard_map::ShardMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    KeyUpdate,
    KeyDelete,
    Features,
}

impl Kind {
    fn success(self) -> u16 {
        match self {
            Kind::KeyDelete => 204,
            _ => 200,
        }
    }

    /// The call that puts a node back as `before` showed it.
    fn restore(self, node: usize, path: &str, before: &Value) -> Call {
        let pick = |fields: &[&str]| Value::Object(fields.iter().filter_map(|f| Some((f.to_string(), before.get(*f)?.clone()))).collect());
        match self {
            Kind::KeyUpdate => Call::json(Target::NodeAsMiroir(node), Method::Patch, path.to_string(), pick(&["name", "description"]).to_string().into_bytes()),
            Kind::KeyDelete => {
                let key = pick(&["uid", "name", "description", "actions", "indexes", "expiresAt"]);
                Call::json(Target::NodeAsMiroir(node), Method::Post, "/keys".into(), key.to_string().into_bytes())
            }
            Kind::Features => Call::json(Target::NodeAsMiroir(node), Method::Patch, path.to_string(), before.to_string().into_bytes()),
        }
    }
}

enum Stage {
    Reading { tried: usize },
    Applying { before: Value },
    Undoing { error: Response },
}

pub(super) struct SyncChange {
    map: Arc<ShardMap>,
    kind: Kind,
    method: Method,
    path: String,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    stage: Stage,
}

impl SyncChange {
    pub fn new(map: Arc<ShardMap>, kind: Kind, method: Method, path: String, content_type: Option<String>) -> SyncChange {
        SyncChange { map, kind, method, path, content_type, body: None, stage: Stage::Reading { tried: 0 } }
    }

    fn read(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else { return unavailable("this change").into() };
        self.stage = Stage::Reading { tried: tried + 1 };
        Next::Send(vec![Call::get(Target::NodeAsMiroir(node), self.path.clone())])
    }

    fn apply(&mut self, before: Value) -> Next {
        self.stage = Stage::Applying { before };
        let body = self.body.clone().filter(|b| !b.is_empty());
        let calls = (0..self.map.nodes.len())
            .map(|n| Call { target: Target::Node(n), method: self.method, path: self.path.clone(), content_type: self.content_type.clone(), body: body.clone() })
            .collect();
        Next::Send(calls)
    }

    fn applied(&mut self, before: Value, replies: Vec<Reply>) -> Next {
        let success = self.kind.success();
        let done = |r: &Reply| r.status == success || (self.kind == Kind::KeyDelete && r.status == 404);
        let succeeded: Vec<usize> = replies.iter().enumerate().filter(|(_, r)| r.status == success).map(|(n, _)| n).collect();
        match replies.iter().position(|r| !done(r)) {
            None if !succeeded.is_empty() => Next::Respond(Response::relay(replies[succeeded[0]].clone())),
            // Gone everywhere already: the node's own 404.
            None => Next::Respond(Response::relay(replies.into_iter().next().unwrap_or_default())),
            Some(bad) => {
                let bad = replies[bad].clone();
                let error = match bad.is_unavailable() {
                    true => Response::error(&unavailable("this change on every node")),
                    false => Response::relay(bad),
                };
                if succeeded.is_empty() {
                    return Next::Respond(error);
                }
                let calls = succeeded.iter().map(|&n| self.kind.restore(n, &self.path, &before)).collect();
                self.stage = Stage::Undoing { error };
                Next::Send(calls)
            }
        }
    }
}

impl Flow for SyncChange {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        self.body = Some(body);
        self.read(0)
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::Reading { tried: 0 }) {
            Stage::Reading { tried } => {
                let reply = replies.into_iter().next().unwrap_or_default();
                match reply.status {
                    200 => self.apply(reply.json().unwrap_or(json!({}))),
                    _ if reply.is_unavailable() => self.read(tried),
                    // Not found (or refused) on a node: every node would say the same.
                    _ => Next::Respond(Response::relay(reply)),
                }
            }
            Stage::Applying { before } => self.applied(before, replies),
            Stage::Undoing { error } => {
                if replies.iter().all(|r| r.status < 300) {
                    return Next::Respond(error);
                }
                MeiliError::new(
                    Code::MiroirNodeUnavailable,
                    format!("`{} {}` failed on some nodes and could not be undone on all the others: retry it.", self.method.as_str(), self.path),
                )
                .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::shard_map;

    fn reply(status: u16, body: Value) -> Reply {
        Reply { status, body: if body.is_null() { Vec::new() } else { body.to_string().into_bytes() } }
    }

    #[test]
    fn a_partial_key_update_is_undone_with_the_old_name() {
        let map = Arc::new(shard_map(3, 1, 1));
        let mut flow = SyncChange::new(map, Kind::KeyUpdate, Method::Patch, "/keys/u-1".into(), Some("application/json".into()));
        let Next::Send(read) = flow.on_body(br#"{"name":"new"}"#.to_vec()) else { panic!() };
        assert_eq!(read[0].method, Method::Get);
        let before = json!({"uid": "u-1", "name": "old", "description": null, "actions": ["search"]});
        let Next::Send(apply) = flow.on_replies(vec![reply(200, before)]) else { panic!() };
        assert_eq!(apply.len(), 3);
        let Next::Send(undo) = flow.on_replies(vec![reply(200, json!({})), Reply::default(), reply(200, json!({}))]) else { panic!() };
        assert_eq!(undo.iter().map(|c| c.target).collect::<Vec<_>>(), [Target::NodeAsMiroir(0), Target::NodeAsMiroir(2)]);
        let restored: Value = serde_json::from_slice(undo[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(restored, json!({"name": "old", "description": null}));
        let Next::Respond(answer) = flow.on_replies(vec![reply(200, json!({})), reply(200, json!({}))]) else { panic!() };
        assert_eq!(answer.status, 503);
    }

    #[test]
    fn a_key_deletion_already_done_on_some_nodes_converges() {
        let map = Arc::new(shard_map(2, 1, 1));
        let mut flow = SyncChange::new(map, Kind::KeyDelete, Method::Delete, "/keys/u-1".into(), None);
        flow.on_body(Vec::new());
        let Next::Send(apply) = flow.on_replies(vec![reply(200, json!({"uid": "u-1"}))]) else { panic!() };
        assert!(apply.iter().all(|c| c.body.is_none() && c.method == Method::Delete));
        let Next::Respond(answer) = flow.on_replies(vec![reply(404, json!({"code": "api_key_not_found"})), reply(204, Value::Null)]) else { panic!() };
        assert_eq!(answer.status, 204);
    }

    #[test]
    fn a_deletion_undone_recreates_the_same_key() {
        let map = Arc::new(shard_map(2, 1, 1));
        let mut flow = SyncChange::new(map, Kind::KeyDelete, Method::Delete, "/keys/u-1".into(), None);
        flow.on_body(Vec::new());
        let before = json!({"uid": "u-1", "key": "k", "name": null, "description": null, "actions": ["*"], "indexes": ["*"], "expiresAt": null, "createdAt": "x"});
        flow.on_replies(vec![reply(200, before)]);
        let Next::Send(undo) = flow.on_replies(vec![reply(204, Value::Null), Reply { status: 500, body: Vec::new() }]) else { panic!() };
        assert_eq!(undo[0].path, "/keys");
        let recreated: Value = serde_json::from_slice(undo[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(recreated, json!({"uid": "u-1", "name": null, "description": null, "actions": ["*"], "indexes": ["*"], "expiresAt": null}));
    }
}
