//! # meili-double — a test double of Meilisearch 1.50
//!
//! **This is not Meilisearch.** It is a small in-memory server that speaks
//! Meilisearch 1.50's HTTP wire format for the parts Miroir's tests use, so
//! CI (which has no real Meilisearch) can run end-to-end tests. Behaviour,
//! status codes, error codes and messages were taken from the Meilisearch
//! v1.50.0 source and checked against recordings of the real binary
//! (`fixtures/meili-1.50/`).
//!
//! Covered: `/health`, `/version`, auth (master key, API keys with actions
//! and indexes, tenant tokens), `/keys`, indexes (create, list, get, update
//! primary key, delete, swap/rename), documents (add/replace and update in
//! JSON, NDJSON and CSV; get, list, fetch, delete by id, batch, filter, clear),
//! asynchronous tasks processed in order by a background worker (`/tasks`,
//! cancelation, deletion, `/batches`), settings (whole object and the
//! sub-routes), stats, `/experimental-features`, `/fields`, search (query
//! words with prefix and typo tolerance, filters, sort, facets, pagination,
//! distinct, ranking score and `_rankingScoreDetails`), multi-search (plain
//! and federated), facet search, durability under `--db-path`, and fault
//! injection (`/_double/faults`). Matching is simplified; see the README.

pub mod access;
pub mod auth;
pub mod batches;
pub mod cli;
pub mod docid;
pub mod documents;
pub mod error;
pub mod facet_search;
pub mod faults;
pub mod features;
pub mod fields;
pub mod filter;
pub mod indexes;
pub mod keys;
pub mod multi_search;
pub mod params;
pub mod pause;
pub mod payload;
pub mod ranking;
pub mod search;
pub mod settings;
pub mod settings_routes;
pub mod sort;
pub mod stats;
pub mod store;
pub mod swap;
pub mod tasks;
pub mod tenant;
pub mod text;
pub mod weighted;
pub mod worker;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::error::{ApiError, ApiResult, Code};
use crate::payload::Document;
use crate::store::{Db, Persistence};
use crate::tasks::{Task, TaskKind};

/// Shared state of one node.
pub struct AppState {
    pub db: Mutex<Db>,
    pub persistence: Persistence,
    pub master_key: Option<String>,
    pub payload_limit: u64,
    pub faults: Mutex<Vec<faults::Fault>>,
    /// `/experimental-features` (stored in `<db-path>`, not acted on).
    pub features: Mutex<serde_json::Map<String, Value>>,
    pub db_path: std::path::PathBuf,
    /// API keys (besides the master key).
    pub keys: Mutex<keys::KeyStore>,
    /// Wakes the worker when a task is enqueued (or it is resumed).
    pub wake: Notify,
    /// `/_double/worker`: the worker leaves tasks enqueued while set.
    pub paused: std::sync::atomic::AtomicBool,
}

impl AppState {
    pub fn new(opt: &cli::Opt) -> std::io::Result<Self> {
        let persistence = Persistence::open(&opt.db_path)?;
        let db = persistence.load()?;
        let master_key = opt.master_key.clone().filter(|k| !k.is_empty());
        let keys = keys::KeyStore::open(&opt.db_path, master_key.is_some())?;
        Ok(AppState {
            db: Mutex::new(db),
            persistence,
            master_key,
            db_path: opt.db_path.clone(),
            keys: Mutex::new(keys),
            features: Mutex::new(features::load(&opt.db_path)?),
            payload_limit: opt.http_payload_size_limit,
            faults: Mutex::new(Vec::new()),
            wake: Notify::new(),
            paused: Default::default(),
        })
    }

    pub fn lock(&self) -> ApiResult<MutexGuard<'_, Db>> {
        self.db
            .lock()
            .map_err(|_| ApiError::new(Code::Internal, "the double's state lock is poisoned"))
    }

    pub fn keys(&self) -> ApiResult<MutexGuard<'_, keys::KeyStore>> {
        self.keys
            .lock()
            .map_err(|_| ApiError::new(Code::Internal, "the double's key lock is poisoned"))
    }

    /// Registers a task: persists it (with its documents) before answering,
    /// then wakes the worker. Returns the summarized task view.
    pub fn enqueue(
        &self,
        index_uid: Option<String>,
        kind: TaskKind,
        details: Option<serde_json::Map<String, Value>>,
        documents: Option<Vec<Document>>,
    ) -> ApiResult<Value> {
        let mut db = self.lock()?;
        let uid = db.next_task_uid;
        let task = Task::new(uid, index_uid, kind, details);
        self.persistence
            .write_queued(&task, documents.as_ref())
            .map_err(|e| {
                ApiError::new(Code::Internal, format!("could not persist the task: {e}"))
            })?;
        db.next_task_uid += 1;
        let summary = task.summary();
        db.tasks.insert(uid, task);
        if let Some(docs) = documents {
            db.payloads.insert(uid, docs);
        }
        drop(db);
        self.wake.notify_one();
        Ok(summary)
    }
}

async fn health() -> Json<Value> {
    Json(json!({"status": "available"}))
}

async fn version() -> Json<Value> {
    Json(json!({
        "commitSha": "meili-double",
        "commitDate": "unknown",
        "pkgVersion": "1.50.0"
    }))
}

/// Builds the router of a node.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/indexes", get(indexes::list).post(indexes::create))
        .route(
            "/indexes/{uid}",
            get(indexes::get_one)
                .patch(indexes::update)
                .delete(indexes::delete),
        )
        .route(
            "/indexes/{uid}/documents",
            get(documents::list)
                .post(documents::replace)
                .put(documents::update)
                .delete(documents::clear),
        )
        .route("/indexes/{uid}/documents/fetch", post(documents::fetch))
        .route(
            "/indexes/{uid}/documents/delete-batch",
            post(documents::delete_batch),
        )
        .route(
            "/indexes/{uid}/documents/delete",
            post(documents::delete_by_filter),
        )
        .route(
            "/indexes/{uid}/documents/{id}",
            get(documents::get_one)
                .delete(documents::delete_one)
                // `POST .../documents/edit` (edit by function): refused while its
                // feature is off, as Meilisearch does; with it on, not modelled.
                .fallback(documents_subroute),
        )
        .route(
            "/indexes/{uid}/settings",
            get(settings_routes::get_all)
                .patch(settings_routes::update_all)
                .delete(settings_routes::reset_all),
        )
        .route(
            "/indexes/{uid}/settings/{setting}",
            get(settings_routes::get_one)
                .put(settings_routes::put_one)
                .patch(settings_routes::patch_one)
                .delete(settings_routes::delete_one)
                .fallback(settings_routes::other_method),
        )
        .route(
            "/indexes/{uid}/search",
            get(search::search_get).post(search::search_post),
        )
        .route("/indexes/{uid}/stats", get(stats::index_stats_route))
        .route("/multi-search", post(multi_search::multi_search))
        .route(
            "/indexes/{uid}/facet-search",
            post(facet_search::facet_search),
        )
        .route("/stats", get(stats::global_stats))
        .route("/keys", get(keys::routes::list).post(keys::routes::create))
        .route(
            "/keys/{key}",
            get(keys::routes::get_one)
                .patch(keys::routes::update)
                .delete(keys::routes::delete),
        )
        .route(
            "/tasks",
            get(tasks::routes::list_tasks).delete(tasks::routes::delete_tasks),
        )
        .route("/tasks/cancel", post(tasks::routes::cancel_tasks))
        .route("/tasks/{uid}", get(tasks::routes::get_task))
        .route("/batches", get(batches::list))
        .route("/batches/{uid}", get(batches::get_one))
        .route("/swap-indexes", post(swap::swap_indexes))
        .route(
            "/experimental-features",
            get(features::get).patch(features::patch),
        )
        .route("/indexes/{uid}/fields", post(fields::list))
        .route("/_double/worker", get(pause::get).post(pause::set))
        .route(
            "/_double/faults",
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(state)
}

/// Routes Meilisearch 1.50 serves that the double does not model.
const UNSUPPORTED: [&str; 14] = [
    "/dumps",
    "/snapshots",
    "/metrics",
    "/logs",
    "/network",
    "/webhooks",
    "/chats",
    "/export",
    "/dynamic-search-rules",
    "/render-template",
    "/tasks/compact",
    "/similar",
    "/documents/edit",
    "/compact",
];

/// `POST /indexes/{uid}/documents/edit` needs `editDocumentsByFunction`: without it
/// Meilisearch answers `feature_not_enabled` before looking at anything else.
async fn documents_subroute(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let enabled = state.features.lock().map(|f| f.get("editDocumentsByFunction") == Some(&Value::Bool(true))).unwrap_or(false);
    if method == axum::http::Method::POST && uri.path().ends_with("/documents/edit") && !enabled {
        return ApiError::new(
            Code::Other("feature_not_enabled"),
            "Using the documents edit route requires enabling the `edit documents by function` experimental feature. See https://github.com/orgs/meilisearch/discussions/762",
        )
        .into_response();
    }
    not_found(method, uri).await
}

/// Unknown routes: 404 with no body, as Meilisearch; a route Meilisearch
/// has but the double does not model gets a 501 naming it (never a wrong
/// answer).
async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = uri.path();
    let known = UNSUPPORTED.iter().any(|r| {
        path == *r
            || path.starts_with(&format!("{r}/"))
            || (path.starts_with("/indexes/") && path.ends_with(r))
    });
    if known {
        return ApiError::WithStatus(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            Code::Other("not_implemented"),
            format!("`{method} {path}` is not supported by meili-double, the test double of Meilisearch 1.50 (see its README)."),
        )
        .into_response();
    }
    axum::http::StatusCode::NOT_FOUND.into_response()
}

/// Starts a node: loads state, spawns the worker, serves until the process ends.
pub async fn run(opt: cli::Opt) -> std::io::Result<()> {
    let state = Arc::new(AppState::new(&opt)?);
    let listener = tokio::net::TcpListener::bind(&opt.http_addr).await?;
    let addr = listener.local_addr()?;
    eprintln!(
        "meili-double (a test double of Meilisearch 1.50, not Meilisearch) listening on http://{addr}, db path {}",
        opt.db_path.display()
    );
    tokio::spawn(worker::run(state.clone()));
    axum::serve(listener, app(state)).await
}
