//! What a request needs of the client's key, and how Meilisearch judges a key for it.
//!
//! Meilisearch checks a key in its route extractor (`GuardedData<ActionPolicy<A>>`),
//! before reading the body: the route's action `A` and the `{index_uid}` of the path.
//! Miroir reproduces that judgment from the key's own view (`GET /keys/{key}`), so a
//! refused request reaches no node. See `docs/api-compatibility.md` (Auth).

pub mod cache;
pub mod tenant;

use serde_json::Value;

use crate::api::ApiRoute;
use crate::error::{Code, MeiliError};
use crate::route::{split_path, Method, Route, TaskKind};
use crate::timestamp::Instant;

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

impl Need {
    fn on(action: &'static str, index: Option<&str>) -> Need {
        Need { action, index: index.map(str::to_string), creates_index: None }
    }

    /// Tenant tokens stand in for a key on search routes only (`ActionPolicy` tries
    /// them for `search` and `chatCompletions`).
    pub fn takes_tenant_tokens(&self) -> bool {
        self.action == SEARCH
    }

    /// A read: judged from a cached key view. A write always looks its key up afresh,
    /// so a key deleted elsewhere never gets Miroir's own bookkeeping calls made for it.
    pub fn may_use_cache(&self) -> bool {
        READ_ACTIONS.contains(&self.action) || self.action == "keys.get"
    }
}

pub const SEARCH: &str = "search";

/// What a route needs of the key; `None` for `/health` and for routes Miroir answers
/// itself without any node (unsupported ones). `method` and `path` are the request's,
/// for the routes [`Route`] groups (one-node reads).
pub fn need_of(route: &Route, method: Method, path: &str) -> Option<Need> {
    let on = |action, index: &String| Some(Need::on(action, Some(index)));
    match route {
        Route::Health | Route::Unsupported { .. } => None,
        Route::Version => Some(Need::on("version", None)),
        Route::Task { .. } => Some(Need::on("tasks.get", None)),
        Route::AnyNode { .. } => one_node_read(method, path),
        Route::IndexStats { index } => on("stats.get", index),
        Route::Search { index } | Route::FacetSearch { index } | Route::Similar { index } => on(SEARCH, index),
        Route::MultiSearch => Some(Need::on(SEARCH, None)),
        // The indexes are in the body: `Guarded::decide` checks the key's reach there.
        Route::SwapIndexes => Some(Need::on(SWAP, None)),
        Route::Browse { index } | Route::DocumentGet { index, .. } => on("documents.get", index),
        Route::Fields { index } => on("fields.post", index),
        Route::DocumentsWrite { index, .. } => {
            Some(Need { action: "documents.add", index: Some(index.clone()), creates_index: Some("documentAdditionOrUpdate") })
        }
        Route::DocumentDelete { index, .. } | Route::DocumentsDeleteBatch { index } => on("documents.delete", index),
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
        Route::Api(ApiRoute::ReadOne) => one_node_read(method, path),
        Route::Api(ApiRoute::GlobalStats) => Some(Need::on("stats.get", None)),
        Route::Api(ApiRoute::TaskList | ApiRoute::Batches { .. }) => Some(Need::on("tasks.get", None)),
        Route::Api(api) => api.write_action().map(|action| Need::on(action, None)),
    }
}

/// `GET /indexes[/{uid}]`, `GET /indexes/{uid}/settings[/...]`, `GET /keys[/{key}]`,
/// `GET /experimental-features`.
fn one_node_read(method: Method, path: &str) -> Option<Need> {
    let (segments, _) = split_path(path);
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (method, s.as_slice()) {
        (Method::Get, ["indexes"]) => Some(Need::on("indexes.get", None)),
        (Method::Get, ["indexes", index]) => Some(Need::on("indexes.get", Some(index))),
        (Method::Get, ["indexes", index, "settings", ..]) => Some(Need::on("settings.get", Some(index))),
        (Method::Get, ["keys"] | ["keys", _]) => Some(Need::on("keys.get", None)),
        (Method::Get, ["experimental-features"]) => Some(Need::on("experimental.get", None)),
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

/// The token of a `Bearer` header; `Err` as Meilisearch refuses a malformed one.
pub fn bearer(header: Option<&str>) -> Result<&str, MeiliError> {
    let Some(header) = header else { return Err(missing_header()) };
    let mut parts = header.splitn(2, ' ');
    match (parts.next(), parts.next()) {
        (Some("Bearer"), Some(token)) => Ok(token),
        (Some("Bearer"), None) => Err(invalid_key()),
        _ => Err(missing_header()),
    }
}

/// A key's string list field (`actions`, `indexes`).
pub fn strings(key: &Value, field: &str) -> Vec<String> {
    key.get(field).and_then(Value::as_array).map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Judges a key as `GET /keys/{key}` shows it, for `need`, at `now_ms` (the key's
/// `expiresAt`; 0: unknown, left to the nodes): the path's index first (a refusal
/// that names the key's indexes), then the action on it.
pub fn judge(key: &Value, need: &Need, now_ms: u64) -> Result<(), MeiliError> {
    let indexes = strings(key, "indexes");
    if let Some(index) = &need.index {
        if !indexes.iter().any(|pattern| matches_pattern(pattern, index)) {
            let mut allowed = indexes.clone();
            allowed.sort_unstable();
            return Err(MeiliError::new(
                Code::InvalidApiKey,
                format!("The API key cannot acces the index `{index}`, authorized indexes are {allowed:?}."),
            ));
        }
    }
    may(key, need, now_ms).then_some(()).ok_or_else(invalid_key)
}

/// `is_key_authorized`: the action granted, on the index (or, without one, on every
/// index unless the route itself filters by index), and the key not expired.
pub fn may(key: &Value, need: &Need, now_ms: u64) -> bool {
    let granted = strings(key, "actions").iter().any(|a| grants(a, need.action));
    let indexes = strings(key, "indexes");
    let scoped = match &need.index {
        Some(index) => indexes.iter().any(|p| matches_pattern(p, index)),
        None => route_checks_index(need.action) && !indexes.is_empty() || indexes.iter().any(|p| p == "*"),
    };
    granted && scoped && !expired(key, now_ms)
}

/// The key's `expiresAt` is past (Meilisearch: valid while `now < expiresAt`).
pub fn expired(key: &Value, now_ms: u64) -> bool {
    let Some(at) = key.get("expiresAt").and_then(Value::as_str).and_then(Instant::parse) else { return false };
    now_ms != 0 && i128::from(now_ms) * 1_000_000 >= at.0
}

/// Whether a key's action string grants `action`, as Meilisearch expands wildcards
/// when it stores a key (`*`, `*.get`, `documents.*`, ...).
fn grants(granted: &str, action: &str) -> bool {
    match granted {
        "*" => true,
        "*.get" => READ_ACTIONS.contains(&action),
        _ => granted == action || granted.strip_suffix('*').is_some_and(|prefix| prefix.ends_with('.') && action.starts_with(prefix)),
    }
}

/// The actions `*.get` grants (`Action::is_read` in Meilisearch 1.50; not `keys.get`).
const READ_ACTIONS: [&str; 16] = [
    "search",
    "documents.get",
    "export",
    "indexes.get",
    "tasks.get",
    "settings.get",
    "stats.get",
    "metrics.get",
    "version",
    "experimental.get",
    "network.get",
    "chats.get",
    "chatsSettings.get",
    "webhooks.get",
    "fields.post",
    "dynamicSearchRules.get",
];

/// Actions whose route filters by index itself, so a key on some indexes may call it
/// without naming one (`IndexScope::RouteHandlerChecksIndex`).
/// The action of `POST /swap-indexes`.
pub const SWAP: &str = "indexes.swap";

fn route_checks_index(action: &str) -> bool {
    matches!(
        action,
        "search"
            | "documents.get"
            | "indexes.create"
            | "indexes.get"
            | "indexes.swap"
            | "tasks.cancel"
            | "tasks.delete"
            | "tasks.get"
            | "settings.get"
            | "stats.get"
            | "chatCompletions"
    )
}

/// `*`, `prefix*` or an exact uid.
pub fn matches_pattern(pattern: &str, index: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => index.starts_with(prefix),
        None => pattern == index,
    }
}

#[cfg(test)]
mod tests;
