//! `GET`/`POST /indexes/{uid}/search`: query words (prefix on the last word,
//! typo tolerance), filters, sort, facets, pagination, distinct, ranking
//! score and `_rankingScoreDetails`. Each hit gets one [`Detail`] per ranking
//! rule (see `ranking.rs`); the hits are sorted by those details, so the
//! order, the scores and the details shown agree. The matching itself is a
//! simplified version of milli's (see the README for what differs).
//!
//! A search runs in three steps, each its own module: [`prepare::plan`]
//! checks the request against the index, [`rank::rank`] ranks the matching
//! documents, [`render::render`] builds the answer. Multi-search and facet
//! search reuse the first two.
//!
//! [`Detail`]: crate::ranking::Detail

pub mod facets;
pub mod format;
pub mod matching;
pub mod prepare;
pub mod query;
pub mod rank;
pub mod render;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_details;

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde_json::Value;

use crate::access::Access;
use crate::error::{ApiError, ApiResult};
use crate::indexes::validate_uid;
use crate::params::{json_object, QueryParams};
use crate::store::Index;
use crate::AppState;

pub use prepare::serialize;
pub use query::{SearchQuery, Strategy};

/// Whether the request asks for `metadata` (`Meili-Include-Metadata: true`).
pub fn include_metadata(headers: &HeaderMap) -> bool {
    headers
        .get("meili-include-metadata")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches!(v.to_lowercase().as_str(), "true" | "1"))
}

/// A query's `metadata`: its words, a fresh uid, the index and its primary key.
pub fn metadata(q: Option<&str>, index: &Index) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(q) = q {
        m.insert("query".into(), Value::String(q.to_string()));
    }
    m.insert("queryUid".into(), Value::String(request_uid()));
    m.insert("indexUid".into(), Value::String(index.uid.clone()));
    if let Some(pk) = &index.primary_key {
        m.insert("primaryKey".into(), Value::String(pk.clone()));
    }
    Value::Object(m)
}

/// Runs a search on an index.
pub fn execute(index: &Index, query: &SearchQuery, started: Instant) -> ApiResult<Value> {
    let plan = prepare::plan(index, query)?;
    let ranked = rank::rank(index, query, &plan);
    Ok(render::render(index, query, &plan, &ranked, started))
}

/// A UUIDv7-shaped request id.
pub fn request_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() as u64 & 0xffff_ffff_ffff;
    let c = COUNTER.fetch_add(1, AtomicOrdering::Relaxed);
    let r = (now.subsec_nanos() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ c.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        c & 0xfff,
        0x8000 | (r >> 48 & 0x3fff),
        r & 0xffff_ffff_ffff
    )
}

fn run(
    state: &AppState,
    access: Option<Extension<Access>>,
    with_metadata: bool,
    uid: &str,
    mut query: SearchQuery,
    started: Instant,
) -> ApiResult<Json<Value>> {
    // a tenant token's filter for this index is ANDed with the query's
    if let Some(Extension(access)) = access {
        query.filter = access.fuse(uid, query.filter.take());
    }
    let db = state.lock()?;
    let index = db
        .indexes
        .get(uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.to_string()))?;
    let mut result = execute(index, &query, started)?;
    if let (true, Value::Object(out)) = (with_metadata, &mut result) {
        out.insert("metadata".into(), metadata(query.q.as_deref(), index));
    }
    Ok(Json(result))
}

/// `GET /indexes/{uid}/search`
pub async fn search_get(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    access: Option<Extension<Access>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    validate_uid(&uid)?;
    let q = QueryParams::parse(raw.as_deref());
    let query = SearchQuery::from_query(&q)?;
    run(
        &state,
        access,
        include_metadata(&headers),
        &uid,
        query,
        started,
    )
}

/// `POST /indexes/{uid}/search`
pub async fn search_post(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    access: Option<Extension<Access>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    validate_uid(&uid)?;
    let obj = json_object(
        &headers,
        &body,
        state.payload_limit,
        crate::error::Code::BadRequest,
    )?;
    let query = SearchQuery::from_body(&obj)?;
    run(
        &state,
        access,
        include_metadata(&headers),
        &uid,
        query,
        started,
    )
}
