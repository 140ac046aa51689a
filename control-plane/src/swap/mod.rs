//! `POST /swap-indexes`, run by the control plane: two Envoys must agree on when the
//! names change, and every node must swap or none.
//!
//! The filter has checked the body; here the `indexSwap` task is registered and its
//! summary answered, then, one swap at a time (as a node's queue runs them):
//! 1. the involved indexes are fenced in a new map, and every connected Envoy ACKs it:
//!    from then on requests naming them wait (`GET /_miroir/fence`, see `flow::fence`);
//! 2. requests already running under the old map get `drain` to finish;
//! 3. every node swaps (the node key, straight to the node) and its task is awaited;
//! 4. all swapped: one map version exchanges the indexes' placement entries and lifts
//!    the fence; once the Envoys hold it, the task record gets its node tasks, so the
//!    task reads `succeeded` only when every Envoy routes by the new names.
//!    Some failed: the nodes that swapped swap back, the fence lifts on the old map, and
//!    the task fails with the node's error. A swap back that fails leaves the fence up:
//!    the nodes then disagree, and no answer is better than a wrong one.
//!
//! A restart in the middle leaves the fence up and the task pending: [`recover`] settles
//! them from what the nodes did.

mod history;
pub mod recover;
mod run;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use miroir_core::swap::{details, IndexSwap};
use miroir_core::task::{summary, TaskRecord};
use miroir_core::wire::{FENCE_PATH, SWAP_PATH};
use miroir_core::{Code, MeiliError};
use serde_json::Map;

use crate::control::Controller;
use crate::registry::Registry;
use crate::xds::Envoys;

/// How long a fence long poll is held at most before answering with the map as it is.
const MAX_HOLD: Duration = Duration::from_secs(10);

pub struct Swapper {
    pub controller: Arc<Controller>,
    pub envoys: Envoys,
    pub registry: Arc<Registry>,
    /// How long requests started under the old map get before the nodes swap.
    pub drain: Duration,
    /// How long every Envoy gets to ACK a fence before the swap is given up.
    pub ack_timeout: Duration,
    /// One swap at a time, in arrival order.
    turn: tokio::sync::Mutex<()>,
}

impl Swapper {
    pub fn new(controller: Arc<Controller>, envoys: Envoys, registry: Arc<Registry>, drain: Duration) -> Swapper {
        Swapper { controller, envoys, registry, drain, ack_timeout: Duration::from_secs(30), turn: tokio::sync::Mutex::new(()) }
    }
}

pub fn router(swapper: Arc<Swapper>) -> Router {
    Router::new().route(SWAP_PATH, post(start)).route(FENCE_PATH, get(fence)).with_state(swapper)
}

fn error(status: StatusCode, err: MeiliError) -> Response {
    (status, Json(err.to_value())).into_response()
}

/// Registers the task and answers its summary; the swap runs in the background.
async fn start(State(swapper): State<Arc<Swapper>>, body: Bytes) -> Response {
    let swaps: Vec<IndexSwap> = match serde_json::from_slice(&body) {
        Ok(swaps) => swaps,
        Err(e) => return error(StatusCode::BAD_REQUEST, MeiliError::new(Code::BadRequest, format!("invalid swap list: {e}"))),
    };
    let shown = match details(&swaps) {
        serde_json::Value::Object(shown) => shown,
        _ => Map::new(),
    };
    let record = TaskRecord {
        kind: "indexSwap".into(),
        details: shown,
        ..TaskRecord::default()
    };
    let registry = swapper.registry.clone();
    let stored = match tokio::task::spawn_blocking(move || registry.register(record)).await {
        Ok(Ok(stored)) => stored,
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, MeiliError::new(Code::Internal, e.to_string())),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, MeiliError::new(Code::Internal, format!("registering panicked: {e}"))),
    };
    let answer = summary(&stored);
    tokio::spawn(run::run(swapper, stored, swaps));
    (StatusCode::ACCEPTED, Json(answer)).into_response()
}

/// Answers once `index` is not fenced (or after a bounded hold) with the shard map,
/// its node key left out.
async fn fence(State(swapper): State<Arc<Swapper>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let index = query.get("index").cloned().unwrap_or_default();
    let mut states = swapper.controller.subscribe();
    let hold = Duration::from_millis(swapper.controller.state().timeout_ms / 2).min(MAX_HOLD);
    let _ = tokio::time::timeout(hold, states.wait_for(|s| !s.fenced.contains(&index))).await;
    let Some(mut map) = swapper.controller.state().shard_map() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, MeiliError::new(Code::MiroirNodeUnavailable, "no shard map yet"));
    };
    map.node_key = None;
    Json(map).into_response()
}
