//! `GET`/`PATCH /experimental-features`: Meilisearch 1.50's runtime
//! features, stored in `<db-path>/double-features.json` and echoed. The
//! double acts on `containsFilter` only (it enables `CONTAINS` in
//! filters); the others are stored and echoed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::params::{check_fields, invalid_type, json_object};
use crate::AppState;

/// The features, in the order Meilisearch lists them.
pub const FEATURES: [&str; 15] = [
    "metrics",
    "logsRoute",
    "editDocumentsByFunction",
    "containsFilter",
    "dynamicSearchRules",
    "network",
    "getTaskDocumentsRoute",
    "taskQueueCompactionRoute",
    "compositeEmbedders",
    "chatCompletions",
    "multimodal",
    "foreignKeys",
    "disableDocumentsFetchQueue",
    "legacySearch",
    "renderRoute",
];

/// Every feature off.
pub fn defaults() -> Map<String, Value> {
    FEATURES
        .iter()
        .map(|f| (f.to_string(), Value::Bool(false)))
        .collect()
}

const FILE: &str = "double-features.json";

/// `containsFilter`, process-wide: one double process is one node.
static CONTAINS_FILTER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `CONTAINS` is allowed in filters.
pub fn contains_filter() -> bool {
    CONTAINS_FILTER.load(std::sync::atomic::Ordering::Relaxed)
}

fn apply(features: &Map<String, Value>) {
    let on = features.get("containsFilter").and_then(Value::as_bool) == Some(true);
    CONTAINS_FILTER.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The features stored under `dir`, or every feature off.
pub fn load(dir: &std::path::Path) -> std::io::Result<Map<String, Value>> {
    let mut features = defaults();
    let path = dir.join(FILE);
    if path.exists() {
        let stored: Map<String, Value> = serde_json::from_slice(&std::fs::read(&path)?)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        features.extend(
            stored
                .into_iter()
                .filter(|(k, _)| FEATURES.contains(&k.as_str())),
        );
    }
    Ok(features)
}

fn lock(state: &AppState) -> ApiResult<std::sync::MutexGuard<'_, Map<String, Value>>> {
    state
        .features
        .lock()
        .map_err(|_| ApiError::new(Code::Internal, "the double's features lock is poisoned"))
}

/// `GET /experimental-features`
pub async fn get(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    Ok(Json(Value::Object(lock(&state)?.clone())))
}

/// `PATCH /experimental-features`
pub async fn patch(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &FEATURES, "")?;
    for (k, v) in &obj {
        if !(v.is_boolean() || v.is_null()) {
            return Err(invalid_type(
                &format!(".{k}"),
                "a boolean",
                v,
                Code::BadRequest,
            ));
        }
    }
    let mut features = lock(&state)?;
    for (k, v) in obj {
        if let Value::Bool(b) = v {
            features.insert(k, Value::Bool(b));
        }
    }
    apply(&features);
    let bytes = serde_json::to_vec(&*features).unwrap_or_default();
    crate::store::atomic_write(&state.db_path.join(FILE), &bytes).map_err(|e| {
        ApiError::new(
            Code::Internal,
            format!("could not persist the features: {e}"),
        )
    })?;
    Ok(Json(Value::Object(features.clone())))
}
