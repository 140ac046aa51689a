//! `POST /keys`: one key on every node, with one `uid`.
//!
//! A key's value is derived from its uid and the master key, so the same uid on
//! every node (sharing the master key) gives the same key everywhere, and a tenant
//! token signed with it is valid on every shard. The first node creates the key (and
//! picks the uid when the client gave none, as Meilisearch does); the others get the
//! same body with that uid. If any of them fails, the key is deleted again where it
//! was created and the client gets an error: a key exists on all nodes or none.

use std::sync::Arc;

use serde_json::Value;

use super::{encode_segment, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::route::Method;
use crate::shard_map::ShardMap;

enum Stage {
    AwaitBody,
    /// The first node creates the key.
    First,
    /// The other nodes, with the first node's uid.
    Rest { first: Reply, uid: String },
    /// Deleting the key where it was created, then answering `error`.
    Undo { error: Response, nodes: Vec<usize> },
}

pub(super) struct KeyCreate {
    map: Arc<ShardMap>,
    content_type: Option<String>,
    body: Option<Value>,
    stage: Stage,
}

impl KeyCreate {
    pub fn new(map: Arc<ShardMap>, content_type: Option<String>) -> KeyCreate {
        KeyCreate { map, content_type, body: None, stage: Stage::AwaitBody }
    }

    fn rest(&self) -> std::ops::Range<usize> {
        1..self.map.nodes.len()
    }

    fn undo(&mut self, error: Response, uid: &str, nodes: Vec<usize>) -> Next {
        let path = format!("/keys/{}", encode_segment(uid));
        let calls = nodes.iter().map(|&n| Call { method: Method::Delete, ..Call::get(Target::NodeAsMiroir(n), path.clone()) }).collect();
        self.stage = Stage::Undo { error, nodes };
        Next::Send(calls)
    }
}

impl Flow for KeyCreate {
    fn start(&mut self) -> Next {
        Next::Wait
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        self.stage = Stage::First;
        // Anything but a JSON object is the first node's to refuse, as sent.
        self.body = serde_json::from_slice::<Value>(&body).ok().filter(Value::is_object);
        let call = Call { target: Target::Node(0), method: Method::Post, path: "/keys".into(), content_type: self.content_type.clone(), body: Some(body) };
        Next::Send(vec![call])
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::AwaitBody) {
            Stage::AwaitBody => Next::Wait,
            Stage::First => {
                let first = replies.into_iter().next().unwrap_or_default();
                if first.status != 201 {
                    return match first.is_unavailable() {
                        true => unavailable("this key creation").into(),
                        false => Next::Respond(Response::relay(first)),
                    };
                }
                let uid = first.json().and_then(|v| v.get("uid")?.as_str().map(str::to_string));
                let (Some(uid), Some(mut body)) = (uid, self.body.clone()) else {
                    return MeiliError::new(Code::Internal, "a node created a key without a uid").into();
                };
                if self.rest().is_empty() {
                    return Next::Respond(Response::relay(first));
                }
                body["uid"] = Value::String(uid.clone());
                let bytes = body.to_string().into_bytes();
                let calls = self.rest().map(|n| Call::json(Target::Node(n), Method::Post, "/keys".into(), bytes.clone())).collect();
                self.stage = Stage::Rest { first, uid };
                Next::Send(calls)
            }
            Stage::Rest { first, uid } => {
                let created: Vec<usize> =
                    std::iter::once(0).chain(self.rest().zip(&replies).filter(|(_, r)| r.status == 201).map(|(n, _)| n)).collect();
                match replies.into_iter().find(|r| r.status != 201) {
                    None => Next::Respond(Response::relay(first)),
                    Some(bad) if !bad.is_unavailable() => self.undo(Response::relay(bad), &uid, created),
                    Some(_) => self.undo(Response::error(&unavailable("this key creation on every node")), &uid, created),
                }
            }
            Stage::Undo { error, nodes } => {
                let left: Vec<&str> = nodes
                    .iter()
                    .zip(&replies)
                    .filter(|(_, r)| r.status != 204 && r.status != 404)
                    .filter_map(|(&n, _)| self.map.nodes.get(n).map(|n| n.id.as_str()))
                    .collect();
                if left.is_empty() {
                    return Next::Respond(error);
                }
                MeiliError::new(
                    Code::MiroirNodeUnavailable,
                    format!("The key could not be created on every node, nor removed again from {}: delete it there.", left.join(", ")),
                )
                .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::shard_map;

    fn reply(status: u16, body: Value) -> Reply {
        Reply { status, body: body.to_string().into_bytes() }
    }

    #[test]
    fn the_first_nodes_uid_goes_to_every_other_node() {
        let mut flow = KeyCreate::new(Arc::new(shard_map(3, 1, 1)), Some("application/json".into()));
        let Next::Send(first) = flow.on_body(br#"{"actions":["search"],"indexes":["*"],"expiresAt":null}"#.to_vec()) else { panic!() };
        assert_eq!(first.len(), 1);
        let created = json!({"uid": "u-1", "key": "k", "actions": ["search"]});
        let Next::Send(rest) = flow.on_replies(vec![reply(201, created.clone())]) else { panic!() };
        assert_eq!(rest.len(), 2);
        for call in &rest {
            let body: Value = serde_json::from_slice(call.body.as_deref().unwrap()).unwrap();
            assert_eq!(body["uid"], "u-1");
            assert_eq!(body["actions"], json!(["search"]));
        }
        let Next::Respond(answer) = flow.on_replies(vec![reply(201, created.clone()), reply(201, created.clone())]) else { panic!() };
        assert_eq!(answer.status, 201);
        assert_eq!(serde_json::from_slice::<Value>(&answer.body).unwrap(), created);
    }

    #[test]
    fn a_partial_creation_is_undone_and_answered_as_an_error() {
        let mut flow = KeyCreate::new(Arc::new(shard_map(3, 1, 1)), None);
        flow.on_body(br#"{"actions":["search"],"indexes":["*"],"expiresAt":null}"#.to_vec());
        flow.on_replies(vec![reply(201, json!({"uid": "u-1"}))]);
        let Next::Send(undo) = flow.on_replies(vec![reply(201, json!({})), Reply::default()]) else { panic!() };
        let targets: Vec<Target> = undo.iter().map(|c| c.target).collect();
        assert_eq!(targets, [Target::NodeAsMiroir(0), Target::NodeAsMiroir(1)]);
        assert!(undo.iter().all(|c| c.method == Method::Delete && c.path == "/keys/u-1"));
        let Next::Respond(answer) = flow.on_replies(vec![reply(204, Value::Null), reply(204, Value::Null)]) else { panic!() };
        assert_eq!(answer.status, 503);
    }

    #[test]
    fn a_refusal_by_the_first_node_is_relayed_and_nothing_else_is_sent() {
        let mut flow = KeyCreate::new(Arc::new(shard_map(2, 1, 1)), None);
        flow.on_body(b"{}".to_vec());
        let refusal = json!({"message": "`actions` field is mandatory.", "code": "missing_api_key_actions", "type": "invalid_request", "link": "x"});
        let Next::Respond(answer) = flow.on_replies(vec![reply(400, refusal)]) else { panic!() };
        assert_eq!(answer.status, 400);
    }
}
