//! `/indexes/{uid}/search`
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;

use crate::error::{ApiError, ApiResult, Code};
use crate::AppState;

pub async fn search_get(State(_s): State<Arc<AppState>>, Path(_uid): Path<String>, RawQuery(_raw): RawQuery) -> ApiResult<Json<Value>> {
    Err(ApiError::new(Code::Internal, "todo"))
}

pub async fn search_post(State(_s): State<Arc<AppState>>, Path(_uid): Path<String>, _h: HeaderMap, _b: Bytes) -> ApiResult<Json<Value>> {
    Err(ApiError::new(Code::Internal, "todo"))
}
