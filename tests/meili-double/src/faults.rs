//! Fault injection for tests: `/_double/faults` holds a list of faults; a
//! request matching one (method and path prefix) is delayed by `delayMs`
//! and/or answered with a Meilisearch-shaped error at `status`.
//!
//! `POST /_double/faults` with an array replaces the list, with an object
//! appends one fault; `GET` lists them; `DELETE` clears them. The
//! `/_double` routes themselves are never faulted.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{error_response, ApiError, ApiResult, Code, ErrorBody};
use crate::params::json_body;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    Never,
    Once,
    #[default]
    Always,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub mode: Mode,
    /// HTTP status of the injected error; none (or 0) means delay only.
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Error code in the body (default `internal` for 5xx, `bad_request` otherwise).
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl Fault {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.mode != Mode::Never
            && self
                .method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }

    fn error_body(&self, status: u16) -> ErrorBody {
        let default_code = if status >= 500 {
            "internal"
        } else {
            "bad_request"
        };
        let code = self
            .code
            .clone()
            .unwrap_or_else(|| default_code.to_string());
        let error_type = if status >= 500 {
            "internal"
        } else {
            "invalid_request"
        };
        ErrorBody {
            message: self
                .message
                .clone()
                .unwrap_or_else(|| format!("Fault injected by meili-double (status {status}).")),
            link: format!("https://docs.meilisearch.com/errors#{code}"),
            code,
            error_type: error_type.to_string(),
        }
    }
}

/// Takes the first fault matching a request (consuming a `once` fault).
pub fn take_match(faults: &mut [Fault], method: &str, path: &str) -> Option<Fault> {
    let fault = faults.iter_mut().find(|f| f.matches(method, path))?;
    let hit = fault.clone();
    if fault.mode == Mode::Once {
        fault.mode = Mode::Never;
    }
    Some(hit)
}

/// Middleware applying the faults.
pub async fn inject(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_double") {
        return next.run(req).await;
    }
    let hit = match state.faults.lock() {
        Ok(mut faults) => take_match(&mut faults, req.method().as_str(), &path),
        Err(_) => None,
    };
    let Some(fault) = hit else {
        return next.run(req).await;
    };
    if let Some(ms) = fault.delay_ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match fault
        .status
        .filter(|s| *s != 0)
        .and_then(|s| StatusCode::from_u16(s).ok())
    {
        Some(status) => error_response(status, &fault.error_body(status.as_u16())),
        None => next.run(req).await,
    }
}

fn current(state: &AppState) -> ApiResult<Json<Value>> {
    let faults = state
        .faults
        .lock()
        .map_err(|_| ApiError::new(Code::Internal, "poisoned faults"))?;
    Ok(Json(json!({ "faults": *faults })))
}

/// `GET /_double/faults`
pub async fn list(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    current(&state)
}

/// `POST /_double/faults`: an array replaces the list, an object appends.
pub async fn add(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let value = json_body(&headers, &body, state.payload_limit)?;
    let bad = |e: serde_json::Error| ApiError::new(Code::BadRequest, format!("Invalid fault: {e}"));
    {
        let mut faults = state
            .faults
            .lock()
            .map_err(|_| ApiError::new(Code::Internal, "poisoned faults"))?;
        match value {
            Value::Array(_) => *faults = serde_json::from_value(value).map_err(bad)?,
            Value::Object(_) => faults.push(serde_json::from_value(value).map_err(bad)?),
            _ => {
                return Err(ApiError::new(
                    Code::BadRequest,
                    "Expected a fault object or an array of faults.",
                ))
            }
        }
    }
    current(&state)
}

/// `DELETE /_double/faults`
pub async fn clear(State(state): State<Arc<AppState>>) -> ApiResult<Json<Value>> {
    state
        .faults
        .lock()
        .map_err(|_| ApiError::new(Code::Internal, "poisoned faults"))?
        .clear();
    current(&state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(v: Value) -> Fault {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn matches_on_method_and_path_prefix() {
        let f = fault(json!({"method": "POST", "pathPrefix": "/indexes/x/search", "status": 500}));
        assert!(f.matches("POST", "/indexes/x/search"));
        assert!(f.matches("post", "/indexes/x/search"));
        assert!(!f.matches("GET", "/indexes/x/search"));
        assert!(!f.matches("POST", "/indexes/y/search"));
        let any = fault(json!({"method": null, "pathPrefix": null}));
        assert!(any.matches("DELETE", "/anything"));
    }

    #[test]
    fn once_faults_fire_a_single_time() {
        let mut faults = vec![fault(json!({"mode": "once", "status": 503}))];
        assert!(take_match(&mut faults, "GET", "/health").is_some());
        assert!(take_match(&mut faults, "GET", "/health").is_none());
        let mut never = vec![fault(json!({"mode": "never", "status": 503}))];
        assert!(take_match(&mut never, "GET", "/health").is_none());
    }

    #[test]
    fn error_body_is_meilisearch_shaped() {
        let f = fault(json!({"status": 500}));
        let body = serde_json::to_value(f.error_body(500)).unwrap();
        assert_eq!(body["code"], "internal");
        assert_eq!(body["type"], "internal");
        assert_eq!(body["link"], "https://docs.meilisearch.com/errors#internal");
    }
}
