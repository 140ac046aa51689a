//! Request classification: what a client request is, and so how Miroir distributes it.
//!
//! Parsed once from the method and path into an enum; nothing past this module
//! dispatches on strings.

use percent_encoding::percent_decode_str;

use crate::settings::SettingsRoute;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Other,
}

impl Method {
    pub fn parse(m: &str) -> Method {
        match m {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Other => "OTHER",
        }
    }
}

/// How documents in a write combine with stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST`: replace whole documents.
    Replace,
    /// `PUT`: merge fields into stored documents.
    Update,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    Version,
    /// Add or update documents: split by shard.
    DocumentsWrite { index: String, mode: WriteMode },
    /// One document, read from one live replica of its shard.
    DocumentGet { index: String, id: String },
    /// One document, deleted on every replica of its shard.
    DocumentDelete { index: String, id: String },
    /// Ids in the body, each deleted on the replicas of its shard.
    DocumentsDeleteBatch { index: String },
    /// Same request to every node, one task: index create/update/delete, settings.
    Broadcast { index: Option<String>, kind: TaskKind, settings: SettingsRoute },
    /// Answered from one node: index metadata and settings are identical everywhere.
    /// Settings answers have Miroir's own settings hidden.
    AnyNode { hide: SettingsRoute },
    /// Summed over every node, each document counted once.
    IndexStats { index: String },
    /// Scatter-gather search, merged into one node's answer.
    Search { index: String },
    /// Scatter-gather facet search: counts summed per value.
    FacetSearch { index: String },
    /// Browse documents (`GET .../documents`, `POST .../documents/fetch`): every shard once, one order.
    Browse { index: String },
    /// `POST .../fields`: every node's fields united.
    Fields { index: String },
    /// `GET`/`POST .../similar`: the reference document's embedding searched on every shard.
    Similar { index: String },
    /// Several searches in one request, each scatter-gathered.
    MultiSearch,
    /// `POST /swap-indexes`: validated here, run by the control plane (placement keys swap).
    SwapIndexes,
    Task { uid: String },
    /// Keys, task list, global stats, experimental features: see [`crate::api`].
    Api(crate::api::ApiRoute),
    /// Recognised Meilisearch route that Miroir does not serve yet.
    Unsupported { what: String },
}

/// The Meilisearch task type a broadcast creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    IndexCreation,
    IndexUpdate,
    IndexDeletion,
    SettingsUpdate,
    /// Delete by filter, clear.
    DocumentDeletion,
    /// Edit by function.
    DocumentEdition,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::IndexCreation => "indexCreation",
            TaskKind::IndexUpdate => "indexUpdate",
            TaskKind::IndexDeletion => "indexDeletion",
            TaskKind::SettingsUpdate => "settingsUpdate",
            TaskKind::DocumentDeletion => "documentDeletion",
            TaskKind::DocumentEdition => "documentEdition",
        }
    }
}

impl Route {
    /// How a request is distributed, for metrics: a small fixed set of names.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::Health | Route::Version | Route::AnyNode { .. } | Route::Task { .. } => "read_one",
            Route::DocumentsWrite { .. } => "write_documents",
            Route::DocumentGet { .. } => "read_document",
            Route::DocumentDelete { .. } | Route::DocumentsDeleteBatch { .. } => "delete_documents",
            Route::Broadcast { .. } | Route::SwapIndexes => "broadcast",
            Route::IndexStats { .. } => "stats",
            Route::Search { .. } | Route::FacetSearch { .. } | Route::MultiSearch | Route::Similar { .. } => "search",
            Route::Browse { .. } | Route::Fields { .. } => "browse",
            Route::Unsupported { .. } => "unsupported",
            Route::Api(api) => api.kind(),
        }
    }

    /// Writes by document: they carry a version stamp (documents) or leave tombstones
    /// at one (deletions by id).
    pub fn is_stamped(&self) -> bool {
        matches!(self, Route::DocumentsWrite { .. } | Route::DocumentDelete { .. } | Route::DocumentsDeleteBatch { .. })
    }

    /// Every name [`Route::kind`] gives.
    pub const KINDS: [&'static str; 9] =
        ["read_one", "write_documents", "read_document", "delete_documents", "broadcast", "stats", "search", "browse", "unsupported"];
}

/// Splits `/a/b?x=y` into decoded path segments and the raw query.
pub fn split_path(path: &str) -> (Vec<String>, &str) {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    (segments, query)
}

/// A query parameter's decoded value (the last one wins, as in Meilisearch).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).last()
}

pub fn classify(method: Method, path: &str) -> Route {
    use Method::*;
    let (segments, _) = split_path(path);
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let unsupported = || Route::Unsupported { what: format!("{} /{}", method.as_str(), s.join("/")) };
    match (method, s.as_slice()) {
        (Get, ["health"]) => Route::Health,
        (Get, ["version"]) => Route::Version,
        (Get, ["tasks", uid]) => Route::Task { uid: (*uid).to_string() },
        (Post, ["indexes"]) => broadcast(None, TaskKind::IndexCreation, SettingsRoute::Other),
        (Get, ["indexes"] | ["indexes", _]) => Route::AnyNode { hide: SettingsRoute::Other },
        (Patch, ["indexes", index]) => broadcast(Some(index), TaskKind::IndexUpdate, SettingsRoute::Other),
        (Delete, ["indexes", index]) => broadcast(Some(index), TaskKind::IndexDeletion, SettingsRoute::Other),
        (Get, ["indexes", _, "settings", rest @ ..]) => Route::AnyNode { hide: SettingsRoute::from_segments(rest) },
        (Patch | Put | Delete, ["indexes", index, "settings", rest @ ..]) => {
            broadcast(Some(index), TaskKind::SettingsUpdate, SettingsRoute::from_segments(rest))
        }
        (Get, ["indexes", index, "stats"]) => Route::IndexStats { index: (*index).to_string() },
        (Get | Post, ["indexes", index, "search"]) => Route::Search { index: (*index).to_string() },
        (Post, ["indexes", index, "facet-search"]) => Route::FacetSearch { index: (*index).to_string() },
        (Post, ["multi-search"]) => Route::MultiSearch,
        (Post, ["swap-indexes"]) => Route::SwapIndexes,
        (Post, ["indexes", index, "documents"]) => Route::DocumentsWrite { index: (*index).to_string(), mode: WriteMode::Replace },
        (Put, ["indexes", index, "documents"]) => Route::DocumentsWrite { index: (*index).to_string(), mode: WriteMode::Update },
        (Get, ["indexes", index, "documents"]) | (Post, ["indexes", index, "documents", "fetch"]) => {
            Route::Browse { index: (*index).to_string() }
        }
        (Post, ["indexes", index, "fields"]) => Route::Fields { index: (*index).to_string() },
        (Get | Post, ["indexes", index, "similar"]) => Route::Similar { index: (*index).to_string() },
        (Post, ["indexes", index, "documents", "delete"]) | (Delete, ["indexes", index, "documents"]) => {
            broadcast(Some(index), TaskKind::DocumentDeletion, SettingsRoute::Other)
        }
        (Post, ["indexes", index, "documents", "edit"]) => broadcast(Some(index), TaskKind::DocumentEdition, SettingsRoute::Other),
        (Post, ["indexes", index, "documents", "delete-batch"]) => Route::DocumentsDeleteBatch { index: (*index).to_string() },
        (Get, ["indexes", index, "documents", id]) => Route::DocumentGet { index: (*index).to_string(), id: (*id).to_string() },
        (Delete, ["indexes", index, "documents", id]) => {
            Route::DocumentDelete { index: (*index).to_string(), id: (*id).to_string() }
        }
        _ => crate::api::classify(method, &s).map(Route::Api).unwrap_or_else(unsupported),
    }
}

fn broadcast(index: Option<&&str>, kind: TaskKind, settings: SettingsRoute) -> Route {
    Route::Broadcast { index: index.map(|i| (*i).to_string()), kind, settings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_posts_are_not_writes() {
        assert!(matches!(classify(Method::Post, "/indexes/movies/search"), Route::Search { .. }));
        assert!(matches!(classify(Method::Post, "/indexes/movies/documents/fetch"), Route::Browse { .. }));
        assert!(matches!(classify(Method::Post, "/indexes/movies/fields"), Route::Fields { .. }));
        assert!(matches!(classify(Method::Post, "/indexes/movies/documents/delete-batch"), Route::DocumentsDeleteBatch { .. }));
    }

    #[test]
    fn document_routes_carry_decoded_ids() {
        assert_eq!(
            classify(Method::Get, "/indexes/movies/documents/a%2Db?fields=x"),
            Route::DocumentGet { index: "movies".into(), id: "a-b".into() }
        );
        assert_eq!(
            classify(Method::Put, "/indexes/movies/documents?primaryKey=id"),
            Route::DocumentsWrite { index: "movies".into(), mode: WriteMode::Update }
        );
    }

    #[test]
    fn unsupported_routes_are_named() {
        assert_eq!(classify(Method::Post, "/swap-indexes"), Route::SwapIndexes);
        assert_eq!(classify(Method::Post, "/dumps"), Route::Unsupported { what: "POST /dumps".into() });
    }

    #[test]
    fn query_params_decode() {
        assert_eq!(query_param("primaryKey=sku&csvDelimiter=%3B", "csvDelimiter").as_deref(), Some(";"));
        assert_eq!(query_param("a=1", "b"), None);
    }
}
