//! `/keys` routes: list (`offset`, `limit`), create (optional client
//! `uid`), get, update (`name`, `description`) and delete a key by uid or
//! value, with Meilisearch's validation errors.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::actions::ACTIONS;
use super::{new_uuid, ApiKey};
use crate::error::{ApiError, ApiResult, Code};
use crate::params::{check_fields, invalid_type, json_object, QueryParams};
use crate::AppState;

const CREATE_FIELDS: [&str; 6] = [
    "description",
    "name",
    "uid",
    "actions",
    "indexes",
    "expiresAt",
];

fn master(state: &AppState) -> &str {
    state.master_key.as_deref().unwrap_or_default()
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(
        Code::Other("api_key_not_found"),
        format!("API key `{id}` not found."),
    )
}

fn opt_text(obj: &Map<String, Value>, key: &str, code: &'static str) -> ApiResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(invalid_type(
            &format!(".{key}"),
            "a string",
            v,
            Code::Other(code),
        )),
    }
}

/// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or RFC 3339, in the future.
fn parse_expires_at(s: &str) -> Option<OffsetDateTime> {
    let at = OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .or_else(|| {
            PrimitiveDateTime::parse(
                s,
                format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            )
            .ok()
            .map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|| {
            time::Date::parse(s, format_description!("[year]-[month]-[day]"))
                .ok()
                .map(|d| d.midnight().assume_utc())
        })?;
    (at > OffsetDateTime::now_utc()).then_some(at)
}

/// A hyphenated UUID, checked like the `uuid` crate (Meilisearch's message).
fn check_uuid(s: &str) -> Result<(), String> {
    for (i, c) in s.chars().enumerate() {
        let hyphen = matches!(i, 8 | 13 | 18 | 23);
        if !(c.is_ascii_hexdigit() || hyphen && c == '-') {
            return Err(format!("invalid character: found `{c}` at {i}"));
        }
    }
    if s.len() != 36 {
        return Err(format!(
            "invalid length: expected length 32 for simple format, found {}",
            s.len()
        ));
    }
    Ok(())
}

fn string_list(
    obj: &Map<String, Value>,
    key: &str,
    code: &'static str,
) -> ApiResult<Option<Vec<String>>> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_type(
                    &format!(".{key}[{i}]"),
                    "a string",
                    other,
                    Code::Other(code),
                )),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(v) => Err(invalid_type(
            &format!(".{key}"),
            "an array",
            v,
            Code::Other(code),
        )),
    }
}

fn valid_index_pattern(p: &str) -> bool {
    let body = p.strip_suffix('*').unwrap_or(p);
    !p.is_empty()
        && p.len() <= 512
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_new_key(obj: &Map<String, Value>) -> ApiResult<ApiKey> {
    check_fields(obj, &CREATE_FIELDS, "")?;
    let description = opt_text(obj, "description", "invalid_api_key_description")?;
    let name = opt_text(obj, "name", "invalid_api_key_name")?;
    let uid = match obj.get("uid") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            check_uuid(s).map_err(|e| {
                ApiError::new(
                    Code::Other("invalid_api_key_uid"),
                    format!("Invalid value at `.uid`: {e}"),
                )
            })?;
            Some(s.to_lowercase())
        }
        Some(v) => {
            return Err(invalid_type(
                ".uid",
                "a string",
                v,
                Code::Other("invalid_api_key_uid"),
            ))
        }
    };
    let actions = string_list(obj, "actions", "invalid_api_key_actions")?;
    if let Some(list) = &actions {
        for (i, a) in list.iter().enumerate() {
            if !ACTIONS.contains(&a.as_str()) {
                return Err(ApiError::new(
                    Code::Other("invalid_api_key_actions"),
                    format!(
                        "Unknown value `{a}` at `.actions[{i}]`: expected one of {}",
                        ACTIONS
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    let indexes = string_list(obj, "indexes", "invalid_api_key_indexes")?;
    if let Some(list) = &indexes {
        for (i, p) in list.iter().enumerate() {
            if !valid_index_pattern(p) {
                return Err(ApiError::new(
                    Code::Other("invalid_api_key_indexes"),
                    format!("Invalid value at `.indexes[{i}]`: `{p}` is not a valid index uid pattern. Index uid patterns can be an integer or a string containing only alphanumeric characters, hyphens (-), underscores (_), and optionally end with a star (*)."),
                ));
            }
        }
    }
    let expires_at = match obj.get("expiresAt") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(parse_expires_at(s).ok_or_else(|| {
            ApiError::new(
                Code::Other("invalid_api_key_expires_at"),
                format!("Invalid value at `.expiresAt`: `{s}` is not a valid date. It should follow the RFC 3339 format to represents a date or datetime in the future or specified as a null value. e.g. 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'.\n"),
            )
        })?)),
        Some(v) => {
            return Err(invalid_type(".expiresAt", "a string", v, Code::Other("invalid_api_key_expires_at")))
        }
    };
    let missing = |field: &str, code: &'static str| {
        ApiError::new(Code::Other(code), format!("Missing field `{field}`"))
    };
    let actions = actions.ok_or_else(|| missing("actions", "missing_api_key_actions"))?;
    let indexes = indexes.ok_or_else(|| missing("indexes", "missing_api_key_indexes"))?;
    let expires_at =
        expires_at.ok_or_else(|| missing("expiresAt", "missing_api_key_expires_at"))?;
    let now = OffsetDateTime::now_utc();
    Ok(ApiKey {
        uid: uid.unwrap_or_else(new_uuid),
        name,
        description,
        actions,
        indexes,
        expires_at,
        created_at: now,
        updated_at: now,
    })
}

fn persist(state: &AppState, keys: &super::KeyStore) -> ApiResult<()> {
    keys.save()
        .map_err(|e| ApiError::new(Code::Internal, format!("could not persist the keys: {e}")))?;
    let _ = state;
    Ok(())
}

/// `GET /keys`
pub async fn list(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref());
    q.check_known(&["offset", "limit"])?;
    let offset = q
        .usize("offset", Code::Other("invalid_api_key_offset"))?
        .unwrap_or(0);
    let limit = q
        .usize("limit", Code::Other("invalid_api_key_limit"))?
        .unwrap_or(20);
    let keys = state.keys()?;
    let mut all: Vec<&ApiKey> = keys.keys.iter().collect();
    all.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    let results: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|k| k.view(master(&state)))
        .collect();
    Ok(Json(
        json!({"results": results, "offset": offset, "limit": limit, "total": all.len()}),
    ))
}

/// `POST /keys`
pub async fn create(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    let key = parse_new_key(&obj)?;
    let mut keys = state.keys()?;
    if keys.by_uid(&key.uid).is_some() {
        return Err(ApiError::new(
            Code::Other("api_key_already_exists"),
            format!(
                "`uid` field value `{}` is already an existing API key.",
                key.uid
            ),
        )
        .with_status(StatusCode::CONFLICT));
    }
    let view = key.view(master(&state));
    keys.keys.push(key);
    persist(&state, &keys)?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /keys/{uid_or_key}`
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let keys = state.keys()?;
    let at = keys
        .find(master(&state), &id)
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(keys.keys[at].view(master(&state))))
}

/// `PATCH /keys/{uid_or_key}`
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    for key in obj.keys() {
        let immutable = match key.as_str() {
            "uid" => "immutable_api_key_uid",
            "key" => "immutable_api_key_key",
            "actions" => "immutable_api_key_actions",
            "indexes" => "immutable_api_key_indexes",
            "expiresAt" => "immutable_api_key_expires_at",
            "createdAt" => "immutable_api_key_created_at",
            "updatedAt" => "immutable_api_key_updated_at",
            _ => continue,
        };
        return Err(ApiError::new(
            Code::Other(immutable),
            format!("Immutable field `{key}`: expected one of `description`, `name`"),
        ));
    }
    check_fields(&obj, &["description", "name"], "")?;
    let name = opt_text(&obj, "name", "invalid_api_key_name")?;
    let description = opt_text(&obj, "description", "invalid_api_key_description")?;
    let mut keys = state.keys()?;
    let at = keys
        .find(master(&state), &id)
        .ok_or_else(|| not_found(&id))?;
    let key = &mut keys.keys[at];
    if obj.contains_key("name") {
        key.name = name;
    }
    if obj.contains_key("description") {
        key.description = description;
    }
    key.updated_at = OffsetDateTime::now_utc();
    let view = key.view(master(&state));
    persist(&state, &keys)?;
    Ok(Json(view))
}

/// `DELETE /keys/{uid_or_key}`
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut keys = state.keys()?;
    let at = keys
        .find(master(&state), &id)
        .ok_or_else(|| not_found(&id))?;
    keys.keys.remove(at);
    persist(&state, &keys)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_uids_are_checked_like_meilisearch() {
        assert!(parse_expires_at("2100-01-01").is_some());
        assert!(parse_expires_at("2100-01-01 10:00:00").is_some());
        assert!(parse_expires_at("2100-01-01T00:00:00Z").is_some());
        assert!(parse_expires_at("2000-01-01T00:00:00Z").is_none());
        assert!(parse_expires_at("tomorrow").is_none());
        assert_eq!(
            check_uuid("not-a-uuid").unwrap_err(),
            "invalid character: found `n` at 0"
        );
        assert!(check_uuid("11111111-1111-4111-8111-111111111111").is_ok());
        assert!(valid_index_pattern("mov*") && !valid_index_pattern("a b"));
    }
}
