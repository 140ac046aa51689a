//! `/_double/worker`: pauses and resumes the task worker, so a test can hold
//! tasks `enqueued` (e.g. to cancel them) without racing it. Real Meilisearch
//! has no such route; tests reach the same state there with a long task.
//!
//! `POST /_double/worker {"paused": true|false}`; `GET` shows the state.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    paused: bool,
}

pub async fn get(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({"paused": state.paused.load(Ordering::SeqCst)}))
}

pub async fn set(State(state): State<Arc<AppState>>, Json(pause): Json<Pause>) -> Json<Value> {
    state.paused.store(pause.paused, Ordering::SeqCst);
    state.wake.notify_one();
    Json(json!({"paused": pause.paused}))
}
