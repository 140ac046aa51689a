//! A write's key, checked before anything reaches a node.
//!
//! Every node would refuse a bad key alike, but a write takes several rounds (probes,
//! Miroir's own settings, the write itself) and a refusal half-way through would leave
//! the nodes changed. So when the map carries the nodes' master key, the client's key
//! is looked up first (`GET /keys/{key}` on one node, with the master key) and judged
//! as Meilisearch judges it: the route's index against the key's `indexes`, then the
//! action against its `actions`, with Meilisearch's own 401/403 answers. Expiry is
//! left to the nodes: an expired key is refused by all of them alike.

use std::sync::Arc;

use serde_json::Value;

use super::register::{registered, TaskDraft};
use super::{encode_segment, live_nodes, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::error::{Code, MeiliError};
use crate::route::{Route, TaskKind};
use crate::shard_map::ShardMap;

/// What a route needs of the client's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub action: &'static str,
    /// The index named in the path, if any.
    pub index: Option<String>,
    /// The task type of a write that creates its index when missing: a key without
    /// `indexes.create` gets that task failed with `index_not_found` instead, as
    /// Meilisearch fails it (Miroir's own settings would otherwise create the index).
    pub creates_index: Option<TaskKindName>,
}

/// A task type, as Meilisearch names it.
pub type TaskKindName = &'static str;

/// What a state-changing route needs; `None` for reads (the nodes check those) and for
/// routes this module does not know.
pub fn need_of(route: &Route) -> Option<Need> {
    let need = |action, index: &String| Some(Need { action, index: Some(index.clone()), creates_index: None });
    match route {
        Route::DocumentsWrite { index, .. } => {
            Some(Need { action: "documents.add", index: Some(index.clone()), creates_index: Some("documentAdditionOrUpdate") })
        }
        Route::DocumentDelete { index, .. } | Route::DocumentsDeleteBatch { index } => need("documents.delete", index),
        Route::Broadcast { index, kind, .. } => {
            let action = match kind {
                TaskKind::IndexCreation => "indexes.create",
                TaskKind::IndexUpdate => "indexes.update",
                TaskKind::IndexDeletion => "indexes.delete",
                TaskKind::SettingsUpdate => "settings.update",
                TaskKind::DocumentDeletion => "documents.delete",
                TaskKind::DocumentEdition => "documents.all",
            };
            // Index creation names its index in the body: the nodes check that part.
            let index = if *kind == TaskKind::IndexCreation { None } else { index.clone() };
            let creates_index = (*kind == TaskKind::SettingsUpdate).then_some("settingsUpdate");
            Some(Need { action, index, creates_index })
        }
        // The indexes are in the body: `Guarded::decide` checks the key's reach there.
        Route::SwapIndexes => Some(Need { action: SWAP_ACTION, index: None, creates_index: None }),
        Route::Api(api) => api.write_action().map(|action| Need { action, index: None, creates_index: None }),
        _ => None,
    }
}

/// Meilisearch's answer to a request without a key.
pub fn missing_header() -> MeiliError {
    MeiliError::new(
        Code::MissingAuthorizationHeader,
        "The Authorization header is missing. It must use the bearer authorization method.",
    )
}

pub fn invalid_key() -> MeiliError {
    MeiliError::new(Code::InvalidApiKey, "The provided API key is invalid.")
}

/// Judges a key as `GET /keys/{key}` shows it, for `need`.
pub fn judge(key: &Value, need: &Need) -> Result<(), MeiliError> {
    let strings = |field: &str| -> Vec<String> {
        key.get(field).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    let indexes = strings("indexes");
    if let Some(index) = &need.index {
        if !indexes.iter().any(|pattern| matches_pattern(pattern, index)) {
            return Err(MeiliError::new(
                Code::InvalidApiKey,
                format!("The API key cannot acces the index `{index}`, authorized indexes are {indexes:?}."),
            ));
        }
    }
    let granted = strings("actions").iter().any(|a| {
        a == "*" || a == need.action || a.strip_suffix('*').is_some_and(|prefix| prefix.ends_with('.') && need.action.starts_with(prefix))
    });
    if granted {
        Ok(())
    } else {
        Err(invalid_key())
    }
}

/// The action of `POST /swap-indexes`.
const SWAP_ACTION: &str = "indexes.swap";

/// Whether the key's `indexes` cover `index`.
fn may_reach(key: &Value, index: &str) -> bool {
    let patterns = key.get("indexes").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    patterns.into_iter().any(|pattern| matches_pattern(pattern, index))
}

/// `*`, `prefix*` or an exact uid.
fn matches_pattern(pattern: &str, index: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => index.starts_with(prefix),
        None => pattern == index,
    }
}

/// The token of a `Bearer` header; `Err` as Meilisearch refuses a malformed one.
fn bearer(header: Option<&str>) -> Result<&str, MeiliError> {
    let Some(header) = header else { return Err(missing_header()) };
    let mut parts = header.splitn(2, ' ');
    match (parts.next(), parts.next()) {
        (Some("Bearer"), Some(token)) => Ok(token),
        (Some("Bearer"), None) => Err(invalid_key()),
        _ => Err(missing_header()),
    }
}

enum Stage {
    Checking { tried: usize, body: Option<Vec<u8>>, key: Option<Value> },
    /// The key may not create the index: does it exist?
    Probing { tried: usize, body: Vec<u8> },
    /// Registering the task failed for a missing index.
    Failing,
    Passed,
}

/// Runs `inner` once the client's key is judged fit for `need`.
pub(super) struct Guarded {
    map: Arc<ShardMap>,
    content_type: Option<String>,
    token: String,
    need: Need,
    inner: Box<dyn Flow>,
    stage: Stage,
}

/// `inner`, checked first when the map has the nodes' key and `need` is known.
pub(super) fn guard(
    map: Arc<ShardMap>,
    authorization: Option<&str>,
    content_type: Option<String>,
    need: Option<Need>,
    inner: Box<dyn Flow>,
) -> Box<dyn Flow> {
    let (Some(node_key), Some(need)) = (map.node_key.clone(), need) else { return inner };
    match bearer(authorization) {
        Ok(token) if token == node_key => inner,
        Ok(token) => {
            let token = token.to_string();
            Box::new(Guarded { map, content_type, token, need, inner, stage: Stage::Checking { tried: 0, body: None, key: None } })
        }
        Err(refusal) => Box::new(super::Fixed(Response::error(&refusal))),
    }
}

impl Guarded {
    fn lookup(&mut self, tried: usize) -> Next {
        let Some(&node) = live_nodes(&self.map).get(tried) else { return unavailable("the API key check").into() };
        if let Stage::Checking { tried: t, .. } = &mut self.stage {
            *t = tried + 1;
        }
        Next::Send(vec![Call::get(Target::NodeAsMiroir(node), format!("/keys/{}", encode_segment(&self.token)))])
    }

    /// Both the body and the key are in: refuse, or hand over to the guarded flow.
    fn decide(&mut self) -> Next {
        let Stage::Checking { body: Some(_), key: Some(key), .. } = &self.stage else { return Next::Wait };
        // A key's uid is not a key: the view must name this very key.
        let verdict = match key.get("key").and_then(Value::as_str) == Some(self.token.as_str()) {
            true => judge(key, &self.need),
            false => Err(invalid_key()),
        };
        if let Err(refusal) = verdict {
            return refusal.into();
        }
        // A swap names its indexes in the body: each must be one the key may reach.
        if self.need.action == SWAP_ACTION {
            if let Stage::Checking { body: Some(body), .. } = &self.stage {
                let reach = |uid: &str| may_reach(key, uid);
                if let Err(refusal) = crate::swap::parse_for(self.content_type.as_deref(), body, reach) {
                    if refusal.code == Code::InvalidApiKey {
                        return refusal.into();
                    }
                }
            }
        }
        let may_create = judge(key, &Need { action: "indexes.create", ..self.need.clone() }).is_ok();
        let Stage::Checking { body: Some(body), .. } = std::mem::replace(&mut self.stage, Stage::Passed) else { return Next::Wait };
        match (&self.need.creates_index, &self.need.index) {
            (Some(_), Some(_)) if !may_create => self.probe(0, body),
            _ => self.hand_over(body),
        }
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
            let received = count_documents(self.content_type.as_deref(), &body);
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
}

impl Flow for Guarded {
    fn start(&mut self) -> Next {
        self.lookup(0)
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
            Stage::Failing => return registered(replies),
            Stage::Passed => return self.inner.on_replies(replies),
            checking => self.stage = checking,
        }
        let Stage::Checking { tried, key, .. } = &mut self.stage else { return Next::Wait };
        let reply = replies.into_iter().next().unwrap_or_default();
        match reply.status {
            200 => {
                *key = Some(reply.json().unwrap_or(Value::Null));
                self.decide()
            }
            404 => invalid_key().into(),
            _ if reply.is_unavailable() => {
                let tried = *tried;
                self.lookup(tried)
            }
            _ => unavailable("the API key check").into(),
        }
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
mod tests {
    use serde_json::json;

    use super::*;

    fn need(action: &'static str, index: Option<&str>) -> Need {
        Need { action, index: index.map(str::to_string), creates_index: None }
    }

    struct Inner;
    impl Flow for Inner {
        fn start(&mut self) -> Next {
            Next::Wait
        }
        fn on_body(&mut self, _: Vec<u8>) -> Next {
            Next::Respond(Response::json(299, &json!("inner")))
        }
        fn on_replies(&mut self, _: Vec<Reply>) -> Next {
            Next::Wait
        }
    }

    fn guarded(actions: Value) -> (Box<dyn Flow>, Next) {
        let map = Arc::new(ShardMap { node_key: Some("master".into()), ..crate::testing::shard_map(2, 1, 1) });
        let need = need_of(&crate::route::classify(crate::route::Method::Post, "/indexes/movies/documents"));
        let mut flow = guard(map, Some("Bearer k1"), Some("application/json".into()), need, Box::new(Inner));
        let Next::Send(lookup) = flow.start() else { panic!() };
        assert_eq!((lookup[0].target, lookup[0].path.as_str()), (Target::NodeAsMiroir(0), "/keys/k1"));
        assert_eq!(flow.on_body(br#"[{"id": 1}, {"id": 2}]"#.to_vec()), Next::Wait);
        let key = json!({"key": "k1", "actions": actions, "indexes": ["*"]});
        let next = flow.on_replies(vec![Reply { status: 200, body: key.to_string().into_bytes() }]);
        (flow, next)
    }

    #[test]
    fn a_key_that_may_not_create_the_index_gets_meilisearchs_failed_task() {
        let (mut flow, next) = guarded(json!(["documents.add"]));
        let Next::Send(probe) = next else { panic!("{next:?}") };
        assert_eq!((probe[0].target, probe[0].path.as_str()), (Target::NodeAsMiroir(0), "/indexes/movies"));
        let Next::Send(register) = flow.on_replies(vec![Reply { status: 404, body: Vec::new() }]) else { panic!() };
        assert_eq!(register[0].target, Target::Control);
        let record: crate::task::TaskRecord = serde_json::from_slice(register[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(record.error.as_ref().unwrap()["code"], "index_not_found");
        assert_eq!(record.details["receivedDocuments"], 2);
        assert!(record.node_tasks.is_empty());
        // An existing index: the write goes ahead.
        let (mut flow, next) = guarded(json!(["documents.add"]));
        assert!(matches!(next, Next::Send(_)));
        assert_eq!(flow.on_replies(vec![Reply { status: 200, body: b"{}".to_vec() }]), Next::Respond(Response::json(299, &json!("inner"))));
    }

    #[test]
    fn a_key_that_may_create_the_index_goes_straight_to_the_write() {
        let (_, next) = guarded(json!(["documents.add", "indexes.create"]));
        assert_eq!(next, Next::Respond(Response::json(299, &json!("inner"))));
        let (_, next) = guarded(json!(["search"]));
        let Next::Respond(refusal) = next else { panic!() };
        assert_eq!(refusal.status, 403);
    }

    #[test]
    fn actions_match_exactly_or_by_wildcard() {
        let key = json!({"actions": ["documents.*", "search"], "indexes": ["*"]});
        assert!(judge(&key, &need("documents.add", Some("movies"))).is_ok());
        assert_eq!(judge(&key, &need("settings.update", Some("movies"))).unwrap_err().code, Code::InvalidApiKey);
        assert!(judge(&json!({"actions": ["*"], "indexes": ["*"]}), &need("keys.create", None)).is_ok());
    }

    #[test]
    fn indexes_are_checked_first_with_meilisearchs_message() {
        let key = json!({"actions": ["*"], "indexes": ["prod_*", "movies"]});
        assert!(judge(&key, &need("documents.add", Some("prod_books"))).is_ok());
        let refusal = judge(&key, &need("documents.add", Some("books"))).unwrap_err();
        assert_eq!(refusal.code, Code::InvalidApiKey);
        assert_eq!(
            refusal.message,
            r#"The API key cannot acces the index `books`, authorized indexes are ["prod_*", "movies"]."#
        );
    }

    #[test]
    fn headers_are_parsed_as_meilisearch_does() {
        assert_eq!(bearer(None).unwrap_err().code, Code::MissingAuthorizationHeader);
        assert_eq!(bearer(Some("Basic abc")).unwrap_err().code, Code::MissingAuthorizationHeader);
        assert_eq!(bearer(Some("Bearer")).unwrap_err().code, Code::InvalidApiKey);
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
    }
}
