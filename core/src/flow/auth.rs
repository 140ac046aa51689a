//! Every request's key, checked before anything reaches a node.
//!
//! Every node would refuse a bad key alike, but only after Miroir fanned the request
//! out (and a write takes several rounds: a refusal half-way through would leave the
//! nodes changed). So when the map carries the nodes' master key, the client's key is
//! looked up first (`GET /keys/{key}` on one node, with the master key; a tenant
//! token's parent key by its uid) and judged as Meilisearch judges it
//! ([`crate::access`]), with Meilisearch's own 401/403 answers. Found views are kept
//! per filter instance ([`crate::access::cache`]), so a known key costs no round.

use serde_json::Value;

use super::register::{registered, TaskDraft};
use super::{encode_segment, live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::access::cache::SharedKeys;
use crate::access::tenant::{self, Parsed, Token};
use crate::access::{bearer, invalid_key, judge, matches_pattern, strings, Need, SWAP};
use crate::error::{Code, MeiliError};
use crate::route::Method;
use crate::shard_map::ShardMap;
use std::sync::Arc;

/// What the check needs of the request beyond its route.
pub(super) struct Check {
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The host clock (0: unknown); keys' and tokens' expiry.
    pub now_ms: u64,
    /// `POST /multi-search`: every query's index is checked once the body is in.
    pub multi_search: bool,
}

/// Who the bearer is.
enum Subject {
    Key,
    Tenant(Box<Token>),
    /// A token only a node can judge exactly: one node is asked (see [`tenant`]).
    Unreadable,
}

/// What passed the check, for the multi-search indexes.
struct Grant {
    key_indexes: Vec<String>,
    token: Option<Box<Token>>,
    /// The key may create the path's index (else a write to a missing one fails).
    may_create: bool,
}

enum Stage {
    Checking { tried: usize, body: Option<Vec<u8>>, grant: Option<Grant> },
    /// The key may not create the index: does it exist?
    Probing { tried: usize, body: Vec<u8> },
    /// A multi-search naming a forbidden index: one node says whether the body or the
    /// index is refused first (Meilisearch reads the whole body before the indexes).
    Relaying { tried: usize, body: Vec<u8>, refusal: MeiliError },
    /// Registering the task failed for a missing index.
    Failing,
    Passed,
}

/// Runs `inner` once the client's key is judged fit for `need`.
pub(super) struct Guarded {
    map: Arc<ShardMap>,
    keys: SharedKeys,
    check: Check,
    token: String,
    subject: Subject,
    need: Need,
    inner: Box<dyn Flow>,
    stage: Stage,
}

/// `inner`, checked first when the map has the nodes' key and `need` is known.
pub(super) fn guard(map: Arc<ShardMap>, check: Check, keys: SharedKeys, need: Option<Need>, inner: Box<dyn Flow>) -> Box<dyn Flow> {
    let (Some(node_key), Some(need)) = (map.node_key.clone(), need) else { return inner };
    match bearer(check.authorization.as_deref()) {
        Ok(token) if token == node_key => inner,
        Ok(token) => {
            let token = token.to_string();
            let subject = match need.takes_tenant_tokens().then(|| tenant::parse(&token)) {
                Some(Parsed::Token(t)) => Subject::Tenant(Box::new(t)),
                Some(Parsed::Unreadable) => Subject::Unreadable,
                Some(Parsed::NotAToken) | None => Subject::Key,
            };
            let stage = Stage::Checking { tried: 0, body: None, grant: None };
            Box::new(Guarded { map, keys, check, token, subject, need, inner, stage })
        }
        Err(refusal) => Box::new(super::Fixed(Response::error(&refusal))),
    }
}

impl Guarded {
    /// What `GET /keys/{..}` asks for: the key itself, or a token's parent key.
    fn lookup_id(&self) -> &str {
        match &self.subject {
            Subject::Tenant(t) => &t.api_key_uid,
            _ => &self.token,
        }
    }

    fn lookup(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else { return unavailable("the API key check").into() };
        if let Stage::Checking { tried: t, .. } = &mut self.stage {
            *t = tried + 1;
        }
        let call = match self.subject {
            // Any search route refuses such a token alike; an empty multi-search costs nothing.
            Subject::Unreadable => Call::json(Target::Node(node), Method::Post, "/multi-search".into(), br#"{"queries":[]}"#.to_vec()),
            _ => Call::get(Target::NodeAsMiroir(node), format!("/keys/{}", encode_segment(self.lookup_id()))),
        };
        Next::Send(vec![call])
    }

    /// The key's view is in (`None`: no such key): the verdict, kept as a grant.
    fn judge_view(&mut self, view: Option<&Value>) -> Result<Grant, MeiliError> {
        let now_ms = self.check.now_ms;
        match (&self.subject, view) {
            (Subject::Tenant(token), view) => {
                // A deleted parent: its value is still what the master key derives.
                let secret = match view.and_then(|v| v.get("key")).and_then(Value::as_str) {
                    Some(value) => value.to_string(),
                    None => tenant::derived_key(self.map.node_key.as_deref().unwrap_or_default(), &token.api_key_uid),
                };
                let now_s = (now_ms != 0).then_some((now_ms / 1000) as i64);
                token.verify(&secret, now_s)?;
                let Some(parent) = view else { return Err(invalid_key()) };
                token.judge(parent, &self.need, now_ms)?;
                Ok(Grant { key_indexes: strings(parent, "indexes"), token: Some(token.clone()), may_create: false })
            }
            // A key's uid is not a key: the view must name this very key.
            (_, Some(view)) if view.get("key").and_then(Value::as_str) == Some(self.token.as_str()) => {
                judge(view, &self.need, now_ms)?;
                let may_create = judge(view, &Need { action: "indexes.create", ..self.need.clone() }, now_ms).is_ok();
                Ok(Grant { key_indexes: strings(view, "indexes"), token: None, may_create })
            }
            _ => Err(invalid_key()),
        }
    }

    /// A verdict: refuse now (Meilisearch refuses before reading the body), or wait for it.
    fn verdict(&mut self, view: Option<&Value>) -> Next {
        match self.judge_view(view) {
            Err(refusal) => refusal.into(),
            Ok(grant) => {
                if let Stage::Checking { grant: slot, .. } = &mut self.stage {
                    *slot = Some(grant);
                }
                self.decide()
            }
        }
    }

    /// Both the body and the grant are in: refuse, or hand over to the guarded flow.
    fn decide(&mut self) -> Next {
        let Stage::Checking { body: Some(body), grant: Some(grant), .. } = &self.stage else { return Next::Wait };
        if self.check.multi_search {
            if let Some(i) = forbidden_query(body, grant) {
                let message = format!("Inside `.queries[{i}]`: {}", invalid_key().message);
                let body = body.clone();
                return self.relay(0, body, MeiliError::new(Code::InvalidApiKey, message));
            }
        }
        // A swap names its indexes in the body: each must be one the key may reach.
        if self.need.action == SWAP {
            let reach = |uid: &str| grant.key_indexes.iter().any(|p| matches_pattern(p, uid));
            if let Err(refusal) = crate::swap::parse_for(self.check.content_type.as_deref(), body, reach) {
                if refusal.code == Code::InvalidApiKey {
                    return refusal.into();
                }
            }
        }
        let may_create = grant.may_create;
        let key_indexes = grant.key_indexes.clone();
        let Stage::Checking { body: Some(body), .. } = std::mem::replace(&mut self.stage, Stage::Passed) else { return Next::Wait };
        self.inner.scope_indexes(&key_indexes);
        match (&self.need.creates_index, &self.need.index) {
            (Some(_), Some(_)) if !may_create => self.probe(0, body),
            _ => self.hand_over(body),
        }
    }

    /// The refused multi-search, as sent, to one node: its refusal is the answer.
    fn relay(&mut self, tried: usize, body: Vec<u8>, refusal: MeiliError) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else { return refusal.into() };
        let call = Call { content_type: self.check.content_type.clone(), ..Call::json(Target::Node(node), Method::Post, "/multi-search".into(), body.clone()) };
        self.stage = Stage::Relaying { tried: tried + 1, body, refusal };
        Next::Send(vec![call])
    }

    /// Is the index there (a key that may not create it)?
    fn probe(&mut self, tried: usize, body: Vec<u8>) -> Next {
        let (Some(index), Some(&node)) = (&self.need.index, live_nodes(&self.map).get(tried)) else {
            return unavailable("the API key check").into();
        };
        let path = format!("/indexes/{}", encode_segment(index));
        self.stage = Stage::Probing { tried: tried + 1, body };
        Next::Send(vec![Call::get(Target::NodeAsMiroir(node), path)])
    }

    /// The task Meilisearch would fail: registered failed, reaching no node.
    fn fail_missing_index(&mut self, body: Vec<u8>) -> Next {
        let (Some(kind), Some(index)) = (self.need.creates_index, self.need.index.clone()) else { return Next::Wait };
        let error = MeiliError::new(Code::IndexNotFound, format!("Index `{index}` not found."));
        let mut draft = TaskDraft::new(Some(index), kind, 1);
        if kind == "settingsUpdate" {
            if let Ok(Value::Object(settings)) = serde_json::from_slice::<Value>(&body) {
                draft.record.details = settings;
            }
        } else {
            let received = count_documents(self.check.content_type.as_deref(), &body);
            draft = draft.detail("receivedDocuments", received.into()).detail("indexedDocuments", 0.into());
        }
        draft.record.error = Some(error.to_value());
        self.stage = Stage::Failing;
        draft.register()
    }

    /// Both checks passed: the guarded flow runs as if unguarded.
    fn hand_over(&mut self, body: Vec<u8>) -> Next {
        self.stage = Stage::Passed;
        match self.inner.start() {
            Next::Wait => self.inner.on_body(body),
            Next::Send(calls) => match self.inner.on_body(body) {
                Next::Wait => Next::Send(calls),
                Next::Respond(r) => Next::Respond(r),
                Next::Send(_) => MeiliError::new(Code::Internal, "a guarded flow sent two rounds at once").into(),
            },
            respond => respond,
        }
    }

    /// The lookup's answer.
    fn on_lookup(&mut self, tried: usize, reply: Reply) -> Next {
        if let Subject::Unreadable = self.subject {
            return match reply.status {
                _ if reply.is_unavailable() => self.lookup(tried),
                400.. => Next::Respond(Response::relay(reply)),
                // The node took the token: the nodes judge the request itself.
                _ => self.verdict_unread(),
            };
        }
        match reply.status {
            200 => {
                let view = reply.json().unwrap_or(Value::Null);
                let named = match &self.subject {
                    Subject::Tenant(t) => view.get("uid").and_then(Value::as_str) == Some(t.api_key_uid.as_str()),
                    _ => view.get("key").and_then(Value::as_str) == Some(self.token.as_str()),
                };
                if named {
                    let id = self.lookup_id().to_string();
                    self.keys.borrow_mut().put(&id, view.clone(), self.check.now_ms);
                }
                self.verdict(Some(&view))
            }
            404 => self.verdict(None),
            _ if reply.is_unavailable() => self.lookup(tried),
            _ => unavailable("the API key check").into(),
        }
    }

    /// A token a node accepted though Miroir could not read it: no index list to check.
    fn verdict_unread(&mut self) -> Next {
        if let Stage::Checking { grant, .. } = &mut self.stage {
            *grant = Some(Grant { key_indexes: vec!["*".into()], token: None, may_create: true });
        }
        self.decide()
    }
}

/// The first query of a multi-search body whose index the grant does not cover
/// (`is_index_authorized`: the key's indexes and the token's rules). A body Miroir
/// cannot read is left to the nodes, which check the same.
fn forbidden_query(body: &[u8], grant: &Grant) -> Option<usize> {
    let parsed: Value = serde_json::from_slice(body).ok()?;
    let queries = parsed.get("queries")?.as_array()?;
    let indexes: Vec<&str> = queries.iter().map(|q| q.get("indexUid").and_then(Value::as_str)).collect::<Option<_>>()?;
    indexes.iter().position(|index| {
        let by_key = grant.key_indexes.iter().any(|p| matches_pattern(p, index));
        let by_token = grant.token.as_ref().is_none_or(|t| t.rules.allows(index));
        !(by_key && by_token)
    })
}

impl Flow for Guarded {
    fn start(&mut self) -> Next {
        let cached = match self.subject {
            Subject::Unreadable => None,
            _ if !self.need.may_use_cache() => None,
            _ => self.keys.borrow().get(self.lookup_id(), self.check.now_ms),
        };
        match cached {
            Some(view) => self.verdict(Some(&view)),
            None => self.lookup(0),
        }
    }

    fn on_body(&mut self, body: Vec<u8>) -> Next {
        match &mut self.stage {
            Stage::Checking { body: slot, .. } => {
                *slot = Some(body);
                self.decide()
            }
            _ => self.inner.on_body(body),
        }
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        match std::mem::replace(&mut self.stage, Stage::Passed) {
            Stage::Probing { tried, body } => {
                let reply = replies.into_iter().next().unwrap_or_default();
                return match reply.status {
                    200 => self.hand_over(body),
                    404 => self.fail_missing_index(body),
                    _ if reply.is_unavailable() => self.probe(tried, body),
                    _ => Next::Respond(Response::relay(reply)),
                };
            }
            Stage::Relaying { tried, body, refusal } => {
                let reply = replies.into_iter().next().unwrap_or_default();
                return match reply.status {
                    _ if reply.is_unavailable() => self.relay(tried, body, refusal),
                    400.. => Next::Respond(Response::relay(reply)),
                    _ => refusal.into(),
                };
            }
            Stage::Failing => return registered(replies),
            Stage::Passed => return self.inner.on_replies(replies),
            checking => self.stage = checking,
        }
        let Stage::Checking { tried, .. } = &self.stage else { return Next::Wait };
        let tried = *tried;
        self.on_lookup(tried, replies.into_iter().next().unwrap_or_default())
    }
}

/// Documents in a payload, as `receivedDocuments` counts them (a malformed payload
/// counts what can be told; the nodes never see it anyway).
fn count_documents(content_type: Option<&str>, body: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(body);
    let lines = || text.lines().filter(|l| !l.trim().is_empty()).count() as u64;
    match content_type.unwrap_or("application/json").split(';').next().unwrap_or("").trim() {
        "application/x-ndjson" => lines(),
        "text/csv" => lines().saturating_sub(1),
        _ => match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(docs)) => docs.len() as u64,
            Ok(Value::Object(_)) => 1,
            _ => 0,
        },
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
