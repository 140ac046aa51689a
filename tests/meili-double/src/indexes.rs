//! `/indexes` routes: list, create, get, update the primary key, delete.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::params::{
    body_string, check_fields, invalid_type, invalid_value, json_object, QueryParams,
};
use crate::store::Index;
use crate::tasks::{fmt_time, TaskKind};
use crate::AppState;

/// Index uids: 1 to 400 bytes of `a-z A-Z 0-9 - _` (the message says 512, as Meilisearch's does).
pub fn validate_uid(uid: &str) -> Result<(), ApiError> {
    if uid.is_empty()
        || uid.len() > 400
        || !uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::InvalidIndexUid(uid.to_string()));
    }
    Ok(())
}

pub fn view(index: &Index) -> Value {
    json!({
        "uid": index.uid,
        "createdAt": fmt_time(index.created_at),
        "updatedAt": fmt_time(index.updated_at),
        "primaryKey": index.primary_key,
    })
}

/// `GET /indexes`
pub async fn list(
    State(state): State<Arc<AppState>>,
    access: Option<axum::Extension<crate::access::Access>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let access = access.map(|axum::Extension(a)| a).unwrap_or_default();
    let q = QueryParams::parse(raw.as_deref());
    q.check_known(&["offset", "limit"])?;
    let offset = q.usize("offset", Code::InvalidIndexOffset)?.unwrap_or(0);
    let limit = q.usize("limit", Code::InvalidIndexLimit)?.unwrap_or(20);
    let db = state.lock()?;
    // a key restricted to some indexes lists only those
    let visible: Vec<&crate::store::Index> = db
        .indexes
        .values()
        .filter(|i| access.allows(&i.uid))
        .collect();
    let results: Vec<Value> = visible
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| view(i))
        .collect();
    Ok(Json(
        json!({"results": results, "offset": offset, "limit": limit, "total": visible.len()}),
    ))
}

/// `POST /indexes`
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &["uid", "primaryKey"], "")?;
    let uid = match obj.get("uid") {
        None => return Err(ApiError::new(Code::MissingIndexUid, "Missing field `uid`")),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(invalid_type(
                ".uid",
                "a string",
                other,
                Code::InvalidIndexUid,
            ))
        }
    };
    validate_uid(&uid).map_err(|e| invalid_value(".uid", &e.to_string(), Code::InvalidIndexUid))?;
    let primary_key = body_string(&obj, "primaryKey", Code::InvalidIndexPrimaryKey)?;
    let mut details = Map::new();
    details.insert("primaryKey".into(), json!(primary_key));
    let summary = state.enqueue(
        Some(uid),
        TaskKind::IndexCreation { primary_key },
        Some(details),
        None,
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// `GET /indexes/{uid}`
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    let db = state.lock()?;
    match db.indexes.get(&uid) {
        Some(index) => Ok(Json(view(index))),
        None => Err(ApiError::IndexNotFound(uid)),
    }
}

/// `PATCH /indexes/{uid}` (primary key only; renaming is not modelled).
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &["primaryKey", "uid"], "")?;
    let primary_key = body_string(&obj, "primaryKey", Code::InvalidIndexPrimaryKey)?;
    if obj.get("uid").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::new(
            Code::BadRequest,
            "meili-double does not support renaming indexes.",
        ));
    }
    let mut details = Map::new();
    details.insert("primaryKey".into(), json!(primary_key));
    let summary = state.enqueue(
        Some(uid),
        TaskKind::IndexUpdate { primary_key },
        Some(details),
        None,
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// `DELETE /indexes/{uid}`
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    validate_uid(&uid)?;
    let mut details = Map::new();
    details.insert("deletedDocuments".into(), Value::Null);
    let summary = state.enqueue(Some(uid), TaskKind::IndexDeletion, Some(details), None)?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_uid_rules() {
        assert!(validate_uid("movies-2_x").is_ok());
        assert!(validate_uid("").is_err());
        assert!(validate_uid("bad uid").is_err());
        assert!(validate_uid(&"a".repeat(401)).is_err());
        assert_eq!(
            validate_uid("a.b").unwrap_err().code(),
            Code::InvalidIndexUid
        );
    }
}
