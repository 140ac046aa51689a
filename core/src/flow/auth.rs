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
}

/// What a state-changing route needs; `None` for reads (the nodes check those) and for
/// routes this module does not know.
pub fn need_of(route: &Route) -> Option<Need> {
    let need = |action, index: &String| Some(Need { action, index: Some(index.clone()) });
    match route {
        Route::DocumentsWrite { index, .. } => need("documents.add", index),
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
            Some(Need { action, index })
        }
        Route::Api(api) => api.write_action().map(|action| Need { action, index: None }),
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
    Passed,
}

/// Runs `inner` once the client's key is judged fit for `need`.
pub(super) struct Guarded {
    map: Arc<ShardMap>,
    token: String,
    need: Need,
    inner: Box<dyn Flow>,
    stage: Stage,
}

/// `inner`, checked first when the map has the nodes' key and `need` is known.
pub(super) fn guard(map: Arc<ShardMap>, authorization: Option<&str>, need: Option<Need>, inner: Box<dyn Flow>) -> Box<dyn Flow> {
    let (Some(node_key), Some(need)) = (map.node_key.clone(), need) else { return inner };
    match bearer(authorization) {
        Ok(token) if token == node_key => inner,
        Ok(token) => {
            let token = token.to_string();
            Box::new(Guarded { map, token, need, inner, stage: Stage::Checking { tried: 0, body: None, key: None } })
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
        let Stage::Checking { body: Some(body), .. } = std::mem::replace(&mut self.stage, Stage::Passed) else { return Next::Wait };
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
            Stage::Passed => self.inner.on_body(body),
            Stage::Checking { body: slot, .. } => {
                *slot = Some(body);
                self.decide()
            }
        }
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        let Stage::Checking { tried, key, .. } = &mut self.stage else { return self.inner.on_replies(replies) };
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn need(action: &'static str, index: Option<&str>) -> Need {
        Need { action, index: index.map(str::to_string) }
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
