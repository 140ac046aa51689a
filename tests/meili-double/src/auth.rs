//! Master-key authentication, as Meilisearch checks it
//! (meilisearch/src/extractors/authentication upstream). `/health` is public.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// What the `Authorization` header says.
#[derive(Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    None,
    Bearer(&'a str),
    /// A header that is not `Bearer <token>` (Meilisearch answers 401).
    NotBearer,
    /// `Bearer` with no token (Meilisearch answers 403).
    EmptyBearer,
}

pub fn credentials(header: Option<&str>) -> Credentials<'_> {
    let Some(value) = header else {
        return Credentials::None;
    };
    let mut parts = value.splitn(2, ' ');
    match parts.next() {
        Some("Bearer") => match parts.next() {
            Some(token) => Credentials::Bearer(token),
            None => Credentials::EmptyBearer,
        },
        _ => Credentials::NotBearer,
    }
}

/// Checks the master key on every route but `/health`.
pub async fn require_master_key(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(key) = state.master_key.as_deref() else {
        return next.run(req).await;
    };
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    match credentials(header) {
        Credentials::Bearer(token) if token == key => next.run(req).await,
        Credentials::None | Credentials::NotBearer => {
            ApiError::MissingAuthorizationHeader.into_response()
        }
        Credentials::Bearer(_) | Credentials::EmptyBearer => {
            ApiError::InvalidApiKey.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authorization_headers_like_meilisearch() {
        assert_eq!(credentials(None), Credentials::None);
        assert_eq!(credentials(Some("Bearer abc")), Credentials::Bearer("abc"));
        assert_eq!(credentials(Some("Bearer")), Credentials::EmptyBearer);
        assert_eq!(credentials(Some("Basic abc")), Credentials::NotBearer);
        assert_eq!(credentials(Some("bearer abc")), Credentials::NotBearer);
    }
}
