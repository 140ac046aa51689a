//! The admin HTTP API. Every route here but `/metrics` and the readiness probe wants
//! `Authorization: Bearer <admin token>`. Errors are Meilisearch-shaped.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::views;
use crate::control::{ControlError, Controller};
use crate::metrics::Metrics;
use crate::repair::Repairer;
use crate::state::store::StoreError;
use crate::state::{Change, ChangeError};
use crate::xds::resources::READY_PATH;
use crate::xds::Envoys;

pub const ADMIN_PREFIX: &str = "/_miroir/admin";

#[derive(Clone)]
pub struct AdminState {
    pub controller: Arc<Controller>,
    pub envoys: Envoys,
    pub metrics: Arc<Metrics>,
    pub token: Arc<str>,
    /// The rebalancer, when it runs.
    pub repairer: Option<Arc<Repairer>>,
}

pub fn router(state: AdminState) -> Router {
    let admin = Router::new()
        .route(&format!("{ADMIN_PREFIX}/status"), get(status))
        .route(&format!("{ADMIN_PREFIX}/state"), get(cluster_state))
        .route(&format!("{ADMIN_PREFIX}/map"), get(map))
        .route(&format!("{ADMIN_PREFIX}/envoys"), get(envoys))
        .route(&format!("{ADMIN_PREFIX}/groups"), get(groups))
        .route(&format!("{ADMIN_PREFIX}/nodes"), get(nodes).post(add_node))
        .route(&format!("{ADMIN_PREFIX}/nodes/{{id}}"), get(node).delete(remove_node))
        .route(&format!("{ADMIN_PREFIX}/nodes/{{id}}/drain"), post(drain))
        .route(&format!("{ADMIN_PREFIX}/nodes/{{id}}/undrain"), post(undrain))
        .route(&format!("{ADMIN_PREFIX}/indexes"), get(indexes))
        .route(&format!("{ADMIN_PREFIX}/indexes/{{uid}}"), put(set_index).delete(remove_index))
        .route(&format!("{ADMIN_PREFIX}/replication"), put(set_replication))
        .route(&format!("{ADMIN_PREFIX}/write-quorum"), put(set_write_quorum))
        .route(&format!("{ADMIN_PREFIX}/rebalance"), get(rebalance).post(start_repair))
        .route("/_cluster/health", get(es_health))
        .route("/_cluster/nodes", get(es_nodes))
        .route("/indexes/{uid}/_shards", get(es_shards))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new().route("/metrics", get(metrics)).route(READY_PATH, get(ready)).merge(admin).with_state(state)
}

/// `{message, code, type, link}` with its status, as Meilisearch answers errors.
#[derive(Debug)]
pub struct AdminError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Option<(&'static str, String)>,
}

impl AdminError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AdminError {
        AdminError { status, code, message: message.into(), extra: None }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() { "internal" } else if self.status == StatusCode::UNAUTHORIZED { "auth" } else { "invalid_request" };
        let mut body = json!({
            "message": self.message,
            "code": self.code,
            "type": kind,
            "link": format!("https://docs.meilisearch.com/errors#{}", self.code),
        });
        if let Some((key, value)) = self.extra {
            body[key] = Value::String(value);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<ControlError> for AdminError {
    fn from(e: ControlError) -> Self {
        let message = e.to_string();
        match e {
            ControlError::Change(ChangeError::Invalid(_)) => AdminError::new(StatusCode::BAD_REQUEST, "miroir_invalid_change", message),
            ControlError::Change(ChangeError::UnknownNode(_)) => AdminError::new(StatusCode::NOT_FOUND, "miroir_node_not_found", message),
            ControlError::Change(ChangeError::UnknownIndex(_)) => AdminError::new(StatusCode::NOT_FOUND, "index_not_found", message),
            ControlError::Change(ChangeError::Conflict(_)) => AdminError::new(StatusCode::CONFLICT, "miroir_conflict", message),
            ControlError::Snapshot(_) => AdminError::new(StatusCode::BAD_REQUEST, "miroir_invalid_change", message),
            ControlError::NotLeader(leader) => AdminError {
                extra: Some(("leader", leader)),
                ..AdminError::new(StatusCode::SERVICE_UNAVAILABLE, "miroir_not_leader", message)
            },
            // Lost the lead between the check and the (fenced) write.
            ControlError::Store(StoreError::NotLeader) => AdminError {
                extra: Some(("leader", "unknown".into())),
                ..AdminError::new(StatusCode::SERVICE_UNAVAILABLE, "miroir_not_leader", message)
            },
            ControlError::Store(_) | ControlError::Panicked => {
                tracing::error!("{message}");
                AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
            }
        }
    }
}

async fn require_token(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    let given = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.as_bytes()) => next.run(request).await,
        Some(_) => AdminError::new(StatusCode::FORBIDDEN, "invalid_api_key", "The provided admin token is invalid.").into_response(),
        None => AdminError::new(StatusCode::UNAUTHORIZED, "missing_authorization_header", "The admin API wants `Authorization: Bearer <admin token>`.")
            .into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Answer = Result<Json<Value>, AdminError>;

fn status_value(s: &AdminState) -> Value {
    let mut status = views::status(&s.controller.state(), &s.envoys.snapshot(), s.controller.leader().as_deref());
    status["writeQuorum"] = json!(s.controller.state().write_quorum);
    status["rebalance"] = rebalance_value(s);
    status
}

fn rebalance_value(s: &AdminState) -> Value {
    s.repairer.as_ref().map_or(Value::Null, |r| {
        let progress = r.progress();
        let mut value = serde_json::to_value(&progress).unwrap_or(Value::Null);
        value["settled"] = json!(progress.settled());
        value
    })
}

async fn rebalance(State(s): State<AdminState>) -> Answer {
    if s.repairer.is_none() {
        return Err(AdminError::new(StatusCode::NOT_FOUND, "miroir_rebalancer_off", "This control plane runs no rebalancer."));
    }
    Ok(Json(rebalance_value(&s)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RepairRequest {
    #[serde(default)]
    repair: bool,
}

/// `{"repair": true}` asks for a full anti-entropy pass over every shard; without it,
/// only a round now. Answers the progress.
async fn start_repair(State(s): State<AdminState>, bytes: axum::body::Bytes) -> Answer {
    let RepairRequest { repair } = if bytes.is_empty() { RepairRequest::default() } else { body(&bytes)? };
    if s.controller.leader().is_some() {
        return Err(ControlError::NotLeader(s.controller.leader().unwrap_or_default()).into());
    }
    let Some(repairer) = &s.repairer else {
        return Err(AdminError::new(StatusCode::NOT_FOUND, "miroir_rebalancer_off", "This control plane runs no rebalancer."));
    };
    if repair {
        repairer.request_full_repair();
    } else {
        repairer.kick();
    }
    Ok(Json(rebalance_value(&s)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Quorum {
    quorum: u32,
}

async fn set_write_quorum(State(s): State<AdminState>, bytes: axum::body::Bytes) -> Answer {
    let Quorum { quorum } = body(&bytes)?;
    apply(&s, Change::SetWriteQuorum { quorum }).await
}

async fn apply(s: &AdminState, change: Change) -> Answer {
    s.controller.change(change).await?;
    Ok(Json(status_value(s)))
}

async fn status(State(s): State<AdminState>) -> Json<Value> {
    Json(status_value(&s))
}

async fn cluster_state(State(s): State<AdminState>) -> Json<Value> {
    Json(serde_json::to_value(&*s.controller.state()).unwrap_or(Value::Null))
}

async fn map(State(s): State<AdminState>) -> Answer {
    let map = s.controller.state().shard_map();
    let map = map.ok_or_else(|| AdminError::new(StatusCode::NOT_FOUND, "miroir_no_map", "No node yet, so no shard map."))?;
    Ok(Json(serde_json::to_value(map).unwrap_or(Value::Null)))
}

async fn envoys(State(s): State<AdminState>) -> Json<Value> {
    Json(serde_json::to_value(s.envoys.snapshot()).unwrap_or(Value::Null))
}

async fn groups(State(s): State<AdminState>) -> Json<Value> {
    Json(views::groups(&s.controller.state()))
}

async fn nodes(State(s): State<AdminState>) -> Json<Value> {
    let state = s.controller.state();
    Json(Value::Array(state.nodes.iter().map(|n| views::node(&state, &n.id)).collect()))
}

async fn node(State(s): State<AdminState>, Path(id): Path<String>) -> Answer {
    let found = views::node(&s.controller.state(), &id);
    if found.is_null() {
        return Err(ControlError::Change(ChangeError::UnknownNode(id)).into());
    }
    Ok(Json(found))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNode {
    id: String,
    address: String,
    #[serde(default)]
    group: u32,
}

fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(bytes).map_err(|e| AdminError::new(StatusCode::BAD_REQUEST, "bad_request", format!("invalid body: {e}")))
}

async fn add_node(State(s): State<AdminState>, bytes: axum::body::Bytes) -> Answer {
    let NewNode { id, address, group } = body(&bytes)?;
    // Without a rebalancer nothing would ever fill a joining node: it serves at once.
    let change = if s.repairer.is_some() { Change::AddNode { id, address, group } } else { Change::AddActiveNode { id, address, group } };
    apply(&s, change).await
}

async fn remove_node(State(s): State<AdminState>, Path(id): Path<String>) -> Answer {
    apply(&s, Change::RemoveNode { id }).await
}

async fn drain(State(s): State<AdminState>, Path(id): Path<String>) -> Answer {
    apply(&s, Change::Drain { id }).await
}

async fn undrain(State(s): State<AdminState>, Path(id): Path<String>) -> Answer {
    apply(&s, Change::Undrain { id }).await
}

async fn indexes(State(s): State<AdminState>) -> Json<Value> {
    Json(json!(s.controller.state().indexes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shards {
    shards: u32,
}

async fn set_index(State(s): State<AdminState>, Path(uid): Path<String>, bytes: axum::body::Bytes) -> Answer {
    let Shards { shards } = body(&bytes)?;
    apply(&s, Change::SetIndex { uid, shards }).await
}

async fn remove_index(State(s): State<AdminState>, Path(uid): Path<String>) -> Answer {
    apply(&s, Change::RemoveIndex { uid }).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Replication {
    rf: u32,
}

async fn set_replication(State(s): State<AdminState>, bytes: axum::body::Bytes) -> Answer {
    let Replication { rf } = body(&bytes)?;
    apply(&s, Change::SetReplicationFactor { rf }).await
}

async fn es_health(State(s): State<AdminState>) -> Json<Value> {
    Json(views::cluster_health(&s.controller.state()))
}

async fn es_nodes(State(s): State<AdminState>) -> Json<Value> {
    Json(views::cluster_nodes(&s.controller.state()))
}

async fn es_shards(State(s): State<AdminState>, Path(uid): Path<String>) -> Json<Value> {
    Json(views::shards(&s.controller.state(), &uid))
}

async fn metrics(State(s): State<AdminState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.encode())
}

/// 200 when this replica serves the task registry (it leads); Envoy health-checks the
/// control plane's cluster on it, so the filter's registry calls go to the leader.
async fn ready(State(s): State<AdminState>) -> Response {
    match s.controller.leader() {
        None => (StatusCode::OK, Json(json!({"status": "ready"}))).into_response(),
        Some(leader) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "follower", "leader": leader}))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tokio::sync::watch;
    use tower::ServiceExt;

    use super::*;
    use crate::state::store::FileStore;
    use crate::state::ClusterState;
    use crate::xds::resources::HostPort;

    fn app(dir: &std::path::Path) -> Router {
        let metrics = Arc::new(Metrics::default());
        let initial = ClusterState::empty(1, 4)
            .apply(&Change::AddNode { id: "n0".into(), address: "127.0.0.1:7710".into(), group: 0 })
            .unwrap()
            .unwrap();
        let store = Arc::new(FileStore::new(dir));
        let control = vec![HostPort::parse("127.0.0.1:7701").unwrap()];
        let controller = Controller::new(initial, store, control, metrics.clone(), watch::channel(None).1).unwrap();
        router(AdminState { controller: Arc::new(controller), envoys: Envoys::new(metrics.clone()), metrics, token: "secret".into(), repairer: None })
    }

    async fn call(app: &Router, method: &str, uri: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = app.clone().oneshot(request.body(Body::from(body.to_owned())).unwrap()).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn admin_routes_want_the_token_and_metrics_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let (status, body) = call(&app, "GET", "/_miroir/admin/status", None, "").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("missing_authorization_header")));
        let (status, _) = call(&app, "GET", "/_cluster/health", Some("wrong"), "").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(call(&app, "GET", "/metrics", None, "").await.0, StatusCode::OK);
        assert_eq!(call(&app, "GET", READY_PATH, None, "").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn changes_answer_the_new_status_and_errors_are_meilisearch_shaped() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let key = Some("secret");
        let (status, body) = call(&app, "POST", "/_miroir/admin/nodes", key, r#"{"id":"n1","address":"127.0.0.1:7711","group":1}"#).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["version"], 2);
        assert_eq!(body["groups"][1]["nodes"][0], "n1");
        let (status, body) = call(&app, "POST", "/_miroir/admin/nodes/zz/drain", key, "").await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("miroir_node_not_found")));
        assert!(body["link"].as_str().unwrap().ends_with("miroir_node_not_found"));
        let (status, _) = call(&app, "POST", "/_miroir/admin/nodes", key, r#"{"id":"n1","address":"127.0.0.1:7799"}"#).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, _) = call(&app, "PUT", "/_miroir/admin/indexes/movies", key, r#"{"shards":"many"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (_, body) = call(&app, "PUT", "/_miroir/admin/indexes/movies", key, r#"{"shards":2}"#).await;
        assert_eq!(body["indexes"]["movies"], 2);
        let (_, shards) = call(&app, "GET", "/indexes/movies/_shards", key, "").await;
        assert_eq!(shards["shards"].as_array().unwrap().len(), 2);
        let (_, health) = call(&app, "GET", "/_cluster/health", key, "").await;
        // This API runs no rebalancer, so n1 serves at once (with one, it would join first).
        assert_eq!((health["status"].as_str(), health["number_of_nodes"].as_u64()), (Some("green"), Some(2)));
        let (_, map) = call(&app, "GET", "/_miroir/admin/map", key, "").await;
        assert_eq!(map["version"], 3);
        assert!(dir.path().join("state.json").is_file(), "acknowledged changes are on disk");
    }
}
