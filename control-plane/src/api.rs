//! The control plane's HTTP API: the task registry routes and `/health`.
//!
//! Handlers only translate HTTP to [`Registry`] calls; every error leaves as a
//! Meilisearch-shaped body so the filter can pass it on unchanged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use miroir_core::task::TaskRecord;
use miroir_core::tasks_query::TaskQuery;
use miroir_core::wire::TASKS_REGISTRY_PATH;
use miroir_core::{Code, MeiliError};
use serde_json::{json, Value};

use crate::registry::{Registry, RegistryError};

/// Page size of `GET /_miroir/tasks` when the caller names none, as Meilisearch's `/tasks`.
pub const DEFAULT_LIMIT: usize = miroir_core::tasks_query::DEFAULT_LIMIT;

pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route(TASKS_REGISTRY_PATH, get(list_tasks).post(register_task))
        .route(&format!("{TASKS_REGISTRY_PATH}/{{uid}}"), get(get_task))
        .route(&format!("{TASKS_REGISTRY_PATH}/forget"), post(forget_tasks))
        .with_state(registry)
}

/// Told about every registered record before the registration is answered, so the
/// control plane learns a write's missed nodes and tombstones before the client's 202
/// (see `repair::Repairer::on_record`). Added to the router as an `Extension`.
#[derive(Clone)]
pub struct RecordHook(pub Arc<dyn Fn(TaskRecord) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>);

/// An error answer: Meilisearch's `{message, code, type, link}` with its status.
#[derive(Debug)]
pub struct ApiError(MeiliError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.0.to_value())).into_response()
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        tracing::error!("{e}");
        ApiError(MeiliError::new(Code::Internal, e.to_string()))
    }
}

fn bad_request(code: Code, message: impl Into<String>) -> ApiError {
    ApiError(MeiliError::new(code, message))
}

async fn health() -> Json<Value> {
    Json(json!({"status": "available"}))
}

async fn register_task(
    State(registry): State<Arc<Registry>>,
    hook: Option<Extension<RecordHook>>,
    body: Bytes,
) -> Result<(StatusCode, Json<TaskRecord>), ApiError> {
    let record: TaskRecord = serde_json::from_slice(&body)
        .map_err(|e| bad_request(Code::BadRequest, format!("invalid task record: {e}")))?;
    // Registering fsyncs: keep it off the async workers.
    let stored = tokio::task::spawn_blocking(move || registry.register(record))
        .await
        .map_err(|e| ApiError(MeiliError::new(Code::Internal, format!("task registration panicked: {e}"))))??;
    if let Some(Extension(hook)) = hook {
        (hook.0)(stored.clone()).await;
    }
    Ok((StatusCode::CREATED, Json(stored)))
}

async fn get_task(State(registry): State<Arc<Registry>>, Path(uid): Path<String>) -> Result<Json<TaskRecord>, ApiError> {
    let uid: u64 = uid.parse().map_err(|_| {
        bad_request(Code::InvalidTaskUids, format!("Task uid `{uid}` is invalid. It should only contain numeric characters."))
    })?;
    registry
        .get(uid)
        .map(Json)
        .ok_or_else(|| bad_request(Code::TaskNotFound, format!("Task `{uid}` not found.")))
}

/// `{"uids": [...]}`: the registry forgets those records (`DELETE /tasks`), persisted
/// before the answer `{"forgotten": n}`.
async fn forget_tasks(State(registry): State<Arc<Registry>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Uids {
        uids: Vec<u64>,
    }
    let Uids { uids } =
        serde_json::from_slice(&body).map_err(|e| bad_request(Code::BadRequest, format!("invalid list of task uids: {e}")))?;
    let forgotten = tokio::task::spawn_blocking(move || registry.forget(&uids))
        .await
        .map_err(|e| ApiError(MeiliError::new(Code::Internal, format!("forgetting tasks panicked: {e}"))))??;
    Ok(Json(json!({"forgotten": forgotten})))
}

/// Pages through the records passing the record-level filters of Meilisearch's
/// `GET /tasks` query (the filter applies the rest on the combined tasks).
async fn list_tasks(State(registry): State<Arc<Registry>>, RawQuery(query): RawQuery) -> Result<Json<Value>, ApiError> {
    let query = TaskQuery::parse(query.as_deref().unwrap_or("")).map_err(ApiError)?;
    let limit = query.limit;
    let page = registry.select(query.from, limit, query.reverse, |r| query.matches_record(r));
    Ok(Json(json!({
        "results": page.results,
        "total": page.total,
        "limit": limit,
        "from": page.results.first().map(|r| r.uid),
        "next": page.next,
    })))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn call(app: &Router, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder().method(method).uri(uri).body(Body::from(body.to_owned())).unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    fn app() -> (tempfile::TempDir, Router) {
        let dir = tempfile::tempdir().unwrap();
        let registry = Arc::new(Registry::open(dir.path()).unwrap());
        (dir, router(registry))
    }

    const RECORD: &str = r#"{"indexUid":"movies","type":"documentAdditionOrUpdate","nodeTasks":[{"node":"node0","taskUid":3}],"uid":77,"enqueuedAt":"yesterday"}"#;

    #[tokio::test]
    async fn posting_a_record_answers_201_with_the_assigned_uid_and_time() {
        let (_dir, app) = app();
        let (status, body) = call(&app, "POST", "/_miroir/tasks", RECORD).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(body["uid"], 0);
        assert_ne!(body["enqueuedAt"], "yesterday");
        assert_eq!(body["nodeTasks"][0]["taskUid"], 3);
        let (status, fetched) = call(&app, "GET", "/_miroir/tasks/0", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(fetched, body);
    }

    #[tokio::test]
    async fn an_unknown_uid_is_a_meilisearch_task_not_found() {
        let (_dir, app) = app();
        let (status, body) = call(&app, "GET", "/_miroir/tasks/42", "").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"message": "Task `42` not found.", "code": "task_not_found", "type": "invalid_request",
                   "link": "https://docs.meilisearch.com/errors#task_not_found"})
        );
    }

    #[tokio::test]
    async fn a_malformed_record_is_a_400_not_a_new_uid() {
        let (_dir, app) = app();
        let (status, body) = call(&app, "POST", "/_miroir/tasks", "{").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "bad_request");
        let (_, body) = call(&app, "POST", "/_miroir/tasks", RECORD).await;
        assert_eq!(body["uid"], 0);
    }

    #[tokio::test]
    async fn listing_pages_newest_first() {
        let (_dir, app) = app();
        for _ in 0..3 {
            call(&app, "POST", "/_miroir/tasks", RECORD).await;
        }
        let (status, body) = call(&app, "GET", "/_miroir/tasks?limit=2", "").await;
        assert_eq!(status, StatusCode::OK);
        let uids: Vec<u64> = body["results"].as_array().unwrap().iter().map(|r| r["uid"].as_u64().unwrap()).collect();
        assert_eq!(uids, [2, 1]);
        assert_eq!(body["next"], 0);
        let (_, body) = call(&app, "GET", "/_miroir/tasks?from=0&limit=2", "").await;
        assert_eq!(body["results"][0]["uid"], 0);
        assert_eq!(body["next"], Value::Null);
        let (status, _) = call(&app, "GET", "/_miroir/tasks?limit=many", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn listing_applies_the_record_filters_and_reverse() {
        let (_dir, app) = app();
        for kind in ["indexCreation", "settingsUpdate", "indexCreation", "settingsUpdate", "settingsUpdate"] {
            call(&app, "POST", "/_miroir/tasks", &RECORD.replace("documentAdditionOrUpdate", kind)).await;
        }
        let (status, body) = call(&app, "GET", "/_miroir/tasks?types=settingsUpdate&reverse=true&limit=2", "").await;
        assert_eq!(status, StatusCode::OK);
        let uids: Vec<u64> = body["results"].as_array().unwrap().iter().map(|r| r["uid"].as_u64().unwrap()).collect();
        assert_eq!((uids, body["next"].clone(), body["total"].clone()), (vec![1, 3], json!(4), json!(3)));
        let (_, body) = call(&app, "GET", "/_miroir/tasks?indexUids=books", "").await;
        assert_eq!(body["total"], 0);
        let (status, body) = call(&app, "GET", "/_miroir/tasks?types=fly", "").await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_task_types")));
    }

    #[tokio::test]
    async fn a_cancelation_names_its_tasks_canceled_by_and_their_batch_selects_them() {
        let (dir, app) = app();
        for _ in 0..2 {
            call(&app, "POST", "/_miroir/tasks", RECORD).await;
        }
        let cancel = r#"{"indexUid":null,"type":"taskCancelation","nodeTasks":[{"node":"node0","taskUid":9}],"cancels":[1]}"#;
        let (_, body) = call(&app, "POST", "/_miroir/tasks", cancel).await;
        assert_eq!((body["uid"].clone(), body.get("canceledBy")), (json!(2), None));
        let (_, task) = call(&app, "GET", "/_miroir/tasks/1", "").await;
        assert_eq!(task["canceledBy"], 2);
        let uids = |body: &Value| body["results"].as_array().unwrap().iter().map(|r| r["uid"].as_u64().unwrap()).collect::<Vec<_>>();
        let (_, body) = call(&app, "GET", "/_miroir/tasks?batchUids=2", "").await;
        assert_eq!(uids(&body), [2, 1], "the cancelation's batch candidates: itself and the task it canceled");
        let (_, body) = call(&app, "GET", "/_miroir/tasks?canceledBy=2", "").await;
        assert_eq!(uids(&body), [1]);
        // The link is derived, not stored: a restart finds it again, a forget drops it.
        let registry = Arc::new(Registry::open(dir.path()).unwrap());
        assert_eq!(registry.get(1).unwrap().canceled_by, Some(2));
        registry.forget(&[2]).unwrap();
        assert_eq!(registry.get(1).unwrap().canceled_by, None);
    }

    #[tokio::test]
    async fn health_is_available() {
        let (_dir, app) = app();
        assert_eq!(call(&app, "GET", "/health", "").await, (StatusCode::OK, json!({"status": "available"})));
    }

    #[tokio::test]
    async fn forgotten_records_are_task_not_found_and_leave_the_list() {
        let (_dir, app) = app();
        for _ in 0..3 {
            call(&app, "POST", "/_miroir/tasks", RECORD).await;
        }
        let (status, body) = call(&app, "POST", "/_miroir/tasks/forget", r#"{"uids":[0,2,7]}"#).await;
        assert_eq!((status, body), (StatusCode::OK, json!({"forgotten": 2})));
        let (status, body) = call(&app, "GET", "/_miroir/tasks/2", "").await;
        assert_eq!((status, body["code"].clone()), (StatusCode::NOT_FOUND, json!("task_not_found")));
        let (_, body) = call(&app, "GET", "/_miroir/tasks", "").await;
        assert_eq!((body["total"].clone(), body["results"][0]["uid"].clone()), (json!(1), json!(1)));
        let (status, _) = call(&app, "POST", "/_miroir/tasks/forget", r#"{"uids":"all"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
