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
    execute(index, &query, started).map(Json)
}

/// `GET /indexes/{uid}/search`
pub async fn search_get(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    access: Option<Extension<Access>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    validate_uid(&uid)?;
    let q = QueryParams::parse(raw.as_deref());
    let query = SearchQuery::from_query(&q)?;
    run(&state, access, &uid, query, started)
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
    let obj = json_object(&headers, &body, state.payload_limit, crate::error::Code::BadRequest)?;
    let query = SearchQuery::from_body(&obj)?;
    run(&state, access, &uid, query, started)
}