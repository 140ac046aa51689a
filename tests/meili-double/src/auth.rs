//! Authentication, as Meilisearch checks it
//! (meilisearch/src/extractors/authentication upstream): the master key, API
//! keys with actions and indexes, and tenant tokens. `/health` is public.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::access::{Access, SearchRules};
use crate::error::{ApiError, Code};
use crate::keys::actions;
use crate::tenant::{self, TokenError};
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

/// Authenticates every request but `/health` like Meilisearch's
/// `ActionPolicy`: the master key reaches everything; an API key needs the
/// route's action and its index; a tenant token (search routes only) adds
/// its search rules. Puts the request's [`Access`] in its extensions.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let Some(master) = state.master_key.clone() else {
        if path == "/keys" || path.starts_with("/keys/") {
            return ApiError::new(
                Code::Other("missing_master_key"),
                "Meilisearch is running without a master key. To access this API endpoint, you must have set a master key at launch.",
            )
            .with_status(StatusCode::UNAUTHORIZED)
            .into_response();
        }
        req.extensions_mut().insert(Access::default());
        return next.run(req).await;
    };
    let Some((action, index)) = actions::required(req.method().as_str(), &path) else {
        req.extensions_mut().insert(Access::default());
        return next.run(req).await;
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let access = match credentials(header) {
        Credentials::Bearer(token) if token == master => Ok(Access::default()),
        Credentials::Bearer(token) => {
            let key_only = path.starts_with("/_double");
            if key_only {
                Err(ApiError::InvalidApiKey)
            } else {
                authorize(&state, &master, token, action, index.as_deref())
            }
        }
        Credentials::None | Credentials::NotBearer => Err(ApiError::MissingAuthorizationHeader),
        Credentials::EmptyBearer => Err(ApiError::InvalidApiKey),
    };
    match access {
        Ok(access) => {
            req.extensions_mut().insert(access);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

fn refused(message: String) -> ApiError {
    ApiError::new(Code::InvalidApiKey, message)
}

/// What `token` (an API key or a tenant token) may do for `action` on `index`.
fn authorize(
    state: &AppState,
    master: &str,
    token: &str,
    action: &str,
    index: Option<&str>,
) -> Result<Access, ApiError> {
    let keys = state.keys()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let (key, token_rules) = match (action == "search").then(|| tenant::decode(token, master, now))
    {
        Some(Ok((uid, rules))) => (keys.by_uid(&uid), Some(rules)),
        Some(Err(TokenError::Refused(message))) => return Err(refused(message)),
        Some(Err(TokenError::NotAToken)) | None => (keys.by_value(master, token), None),
    };
    let key = key.ok_or(ApiError::InvalidApiKey)?;
    let key_indexes = SearchRules::Set(key.indexes.clone());
    if let Some(index) = index {
        if let Some(rules) = token_rules.as_ref().filter(|r| !r.allows(index)) {
            return Err(refused(format!(
                "The provided tenant token cannot acces the index `{index}`, allowed indexes are {:?}.",
                rules.listed()
            )));
        }
        if !key_indexes.allows(index) {
            return Err(refused(if token_rules.is_some() {
                format!("The API key used to generate this tenant token cannot acces the index `{index}`.")
            } else {
                format!(
                    "The API key cannot acces the index `{index}`, authorized indexes are {:?}.",
                    key_indexes.listed()
                )
            }));
        }
    }
    if key.expired() || !actions::grants(&key.actions, action) {
        return Err(ApiError::InvalidApiKey);
    }
    Ok(Access {
        key_indexes: Some(key_indexes),
        token_rules,
    })
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
