//! `/indexes/{uid}/settings` routes: the whole object (GET, PATCH, DELETE)
//! and one setting at a time (GET, PUT or PATCH as Meilisearch uses, DELETE).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::indexes::validate_uid;
use crate::params::{json_body, json_object};
use crate::settings::{self, def_by_route, SettingDef};
use crate::tasks::TaskKind;
use crate::AppState;

type Accepted = (StatusCode, Json<Value>);

fn enqueue(state: &AppState, uid: String, update: Map<String, Value>) -> ApiResult<Accepted> {
    // a reset wildcard setting shows as `["*"]` in the task details, as in Meilisearch
    let mut details = update.clone();
    for key in ["displayedAttributes", "searchableAttributes"] {
        if details.get(key).is_some_and(Value::is_null) {
            details.insert(key.to_string(), serde_json::json!(["*"]));
        }
    }
    let summary = state.enqueue(
        Some(uid),
        TaskKind::SettingsUpdate { settings: update },
        Some(details),
        None,
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

fn current(state: &AppState, uid: &str) -> ApiResult<settings::Settings> {
    let db = state.lock()?;
    db.indexes
        .get(uid)
        .map(|i| i.settings.clone())
        .ok_or_else(|| ApiError::IndexNotFound(uid.to_string()))
}

/// `GET /indexes/{uid}/settings`
pub async fn get_all(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    Ok(Json(current(&state, &uid)?.to_json()))
}

/// `PATCH /indexes/{uid}/settings` (creates the index when missing, at processing).
pub async fn update_all(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    let update = settings::validate_update(&obj)?;
    enqueue(&state, uid, update)
}

/// `DELETE /indexes/{uid}/settings`
pub async fn reset_all(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    enqueue(&state, uid, settings::reset_all())
}

fn setting(route: &str) -> ApiResult<&'static SettingDef> {
    def_by_route(route).ok_or_else(|| ApiError::new(Code::Other("not_found"), "not found"))
}

/// `GET /indexes/{uid}/settings/{setting}`
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path((uid, route)): Path<(String, String)>,
) -> Result<Json<Value>, axum::response::Response> {
    use axum::response::IntoResponse;
    let def = setting(&route).map_err(|_| StatusCode::NOT_FOUND.into_response())?;
    validate_uid(&uid).map_err(IntoResponse::into_response)?;
    let settings = current(&state, &uid).map_err(IntoResponse::into_response)?;
    Ok(Json(settings.get(def.key)))
}

async fn update_one(
    state: Arc<AppState>,
    uid: String,
    route: String,
    headers: HeaderMap,
    body: Bytes,
    patch: bool,
) -> Result<Accepted, axum::response::Response> {
    use axum::response::IntoResponse;
    let def = setting(&route).map_err(|_| StatusCode::NOT_FOUND.into_response())?;
    if def.patch != patch {
        return Err(StatusCode::METHOD_NOT_ALLOWED.into_response());
    }
    let run = || -> ApiResult<Accepted> {
        validate_uid(&uid)?;
        let value = json_body(&headers, &body, state.payload_limit)?;
        let normalized = settings::validate_value(def, &value, "")?;
        let mut update = Map::new();
        update.insert(def.key.to_string(), normalized);
        enqueue(&state, uid.clone(), update)
    };
    run().map_err(IntoResponse::into_response)
}

/// `PUT /indexes/{uid}/settings/{setting}` (list-like settings)
pub async fn put_one(
    State(state): State<Arc<AppState>>,
    Path((uid, route)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Accepted, axum::response::Response> {
    update_one(state, uid, route, headers, body, false).await
}

/// `PATCH /indexes/{uid}/settings/{setting}` (object settings: typo tolerance, faceting, pagination, ...)
pub async fn patch_one(
    State(state): State<Arc<AppState>>,
    Path((uid, route)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Accepted, axum::response::Response> {
    update_one(state, uid, route, headers, body, true).await
}

/// `DELETE /indexes/{uid}/settings/{setting}`
pub async fn delete_one(
    State(state): State<Arc<AppState>>,
    Path((uid, route)): Path<(String, String)>,
) -> Result<Accepted, axum::response::Response> {
    use axum::response::IntoResponse;
    let def = setting(&route).map_err(|_| StatusCode::NOT_FOUND.into_response())?;
    validate_uid(&uid).map_err(IntoResponse::into_response)?;
    let mut update = Map::new();
    update.insert(def.key.to_string(), Value::Null);
    enqueue(&state, uid, update).map_err(IntoResponse::into_response)
}

/// Other verbs on `/settings/{setting}`: 405 for a known setting, 404 otherwise.
pub async fn other_method(Path((_uid, route)): Path<(String, String)>) -> StatusCode {
    match def_by_route(&route) {
        Some(_) => StatusCode::METHOD_NOT_ALLOWED,
        None => StatusCode::NOT_FOUND,
    }
}
