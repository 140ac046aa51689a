//! `POST /multi-search`: several searches in one request, answered one by
//! one (`results`) or, with `federation`, merged into one list of hits.
//! Errors of a query are prefixed with "Inside `.queries[i]`: ", and an
//! unknown index is a 400 there (the index is not in the URL).

pub mod compat;
pub mod facets;
pub mod federated;
pub mod request;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::json_object;
use crate::search::{execute, include_metadata, metadata};
use crate::AppState;

use request::MultiSearch;

fn inside(i: usize) -> String {
    format!("Inside `.queries[{i}]`: ")
}

/// `POST /multi-search`
pub async fn multi_search(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    let MultiSearch {
        mut queries,
        federation,
    } = MultiSearch::parse(&obj)?;
    // the key (or tenant token) must reach every index; its rules' filters
    // are ANDed into the queries
    for (i, q) in queries.iter_mut().enumerate() {
        if !access.allows(&q.index_uid) {
            return Err(ApiError::InvalidApiKey.prefixed(&inside(i)));
        }
        q.query.filter = access.fuse(&q.index_uid, q.query.filter.take());
    }
    let with_metadata = include_metadata(&headers);
    let db = state.lock()?;
    if let Some(fed) = federation {
        let mut result = federated::search(&db, &queries, fed, started)?;
        if let (true, Value::Object(out)) = (with_metadata, &mut result) {
            let list: Vec<Value> = queries
                .iter()
                .filter_map(|q| {
                    db.indexes
                        .get(&q.index_uid)
                        .map(|i| metadata(q.query.q.as_deref(), i))
                })
                .collect();
            out.insert("metadata".into(), Value::Array(list));
        }
        return Ok(Json(result));
    }
    let mut results = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        if q.weight.is_some() {
            return Err(ApiError::new(
                Code::Other("invalid_multi_search_federation_options"),
                "Using `federationOptions` is not allowed in a non-federated search.\n - Hint: remove `federationOptions` from the query or add `federation` to the request.",
            )
            .prefixed(&inside(i)));
        }
        let index = db.indexes.get(&q.index_uid).ok_or_else(|| {
            ApiError::IndexNotFound(q.index_uid.clone())
                .with_status(StatusCode::BAD_REQUEST)
                .prefixed(&inside(i))
        })?;
        let result = execute(index, &q.query, started).map_err(|e| e.prefixed(&inside(i)))?;
        let mut out = Map::new();
        out.insert("indexUid".into(), json!(q.index_uid));
        if let Value::Object(fields) = result {
            out.extend(fields);
        }
        if with_metadata {
            out.insert("metadata".into(), metadata(q.query.q.as_deref(), index));
        }
        results.push(Value::Object(out));
    }
    Ok(Json(json!({ "results": results })))
}
