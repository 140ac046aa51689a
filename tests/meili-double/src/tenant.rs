//! Tenant tokens: JWTs (HS256/384/512) signed with an API key's value,
//! whose claims carry `searchRules`, an optional `exp` and `apiKeyUid`.
//! Decoded in Meilisearch's order (claims first, then the signature, then
//! the expiry) with its error messages, which embed jsonwebtoken's.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;

use crate::access::SearchRules;
use crate::keys::key_value;

/// Why a bearer token is not a usable tenant token.
#[derive(Debug, PartialEq)]
pub enum TokenError {
    /// Not shaped like a JWT: Meilisearch then tries it as an API key.
    NotAToken,
    /// Refused, with Meilisearch's message.
    Refused(String),
}

#[derive(Deserialize)]
struct IndexRules {
    filter: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRules {
    Set(Vec<String>),
    Map(BTreeMap<String, Option<IndexRules>>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    search_rules: RawRules,
    exp: Option<i64>,
    api_key_uid: String,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

fn could_not_decode(e: impl std::fmt::Display) -> TokenError {
    TokenError::Refused(format!("Could not decode tenant token, {e}."))
}

fn b64(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| could_not_decode(format!("Base64 error: {e}")))
}

fn sign(alg: &str, key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    macro_rules! mac {
        ($h:ty) => {{
            let mut m = Hmac::<$h>::new_from_slice(key).ok()?;
            m.update(message);
            Some(m.finalize().into_bytes().to_vec())
        }};
    }
    match alg {
        "HS256" => mac!(sha2::Sha256),
        "HS384" => mac!(sha2::Sha384),
        "HS512" => mac!(sha2::Sha512),
        _ => None,
    }
}

/// Decodes `token` under `master_key`: the key uid and its search rules.
pub fn decode(
    token: &str,
    master_key: &str,
    now: i64,
) -> Result<(String, SearchRules), TokenError> {
    // jsonwebtoken splits from the right: signature, payload, header
    let (message, signature) = token.rsplit_once('.').ok_or(TokenError::NotAToken)?;
    let (header, payload) = message.rsplit_once('.').ok_or(TokenError::NotAToken)?;
    let header: Header = serde_json::from_slice(&b64(header)?)
        .map_err(|e| could_not_decode(format!("JSON error: {e}")))?;
    let claims: Claims = serde_json::from_slice(&b64(payload)?)
        .map_err(|e| could_not_decode(format!("JSON error: {e}")))?;
    let key = key_value(master_key, &claims.api_key_uid.to_lowercase());
    let expected = sign(&header.alg, key.as_bytes(), message.as_bytes())
        .ok_or_else(|| could_not_decode("InvalidAlgorithm"))?;
    if b64(signature)? != expected {
        return Err(could_not_decode("InvalidSignature"));
    }
    if let Some(exp) = claims.exp {
        if now > exp {
            return Err(TokenError::Refused(format!(
                "Tenant token expired. Was valid up to `{exp}` and we're now `{now}`."
            )));
        }
    }
    let rules = match claims.search_rules {
        RawRules::Set(s) => SearchRules::Set(s),
        RawRules::Map(m) => SearchRules::Map(
            m.into_iter()
                .map(|(k, v)| (k, v.and_then(|r| r.filter)))
                .collect(),
        ),
    };
    Ok((claims.api_key_uid.to_lowercase(), rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: &str, key: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = URL_SAFE_NO_PAD.encode(claims);
        let msg = format!("{h}.{p}");
        let sig = URL_SAFE_NO_PAD.encode(sign("HS256", key.as_bytes(), msg.as_bytes()).unwrap());
        format!("{msg}.{sig}")
    }

    #[test]
    fn decodes_valid_tokens_and_refuses_like_meilisearch() {
        let uid = "11111111-1111-4111-8111-111111111111";
        let key = key_value("mk", uid);
        let t = token(
            &format!(r#"{{"searchRules":{{"books":{{"filter":"a = 1"}}}},"apiKeyUid":"{uid}"}}"#),
            &key,
        );
        let (got, rules) = decode(&t, "mk", 0).unwrap();
        assert_eq!(got, uid);
        assert_eq!(
            rules,
            SearchRules::Map(vec![("books".into(), Some(Value::String("a = 1".into())))])
        );
        assert_eq!(decode("abcdef", "mk", 0), Err(TokenError::NotAToken));
        let expired = token(
            &format!(r#"{{"searchRules":["*"],"exp":10,"apiKeyUid":"{uid}"}}"#),
            &key,
        );
        assert_eq!(
            decode(&expired, "mk", 20),
            Err(TokenError::Refused(
                "Tenant token expired. Was valid up to `10` and we're now `20`.".into()
            ))
        );
        let forged = token(
            &format!(r#"{{"searchRules":["*"],"apiKeyUid":"{uid}"}}"#),
            "other",
        );
        assert_eq!(
            decode(&forged, "mk", 0),
            Err(TokenError::Refused(
                "Could not decode tenant token, InvalidSignature.".into()
            ))
        );
        assert_eq!(
            decode("not.a.jwt", "mk", 0),
            Err(TokenError::Refused(
                "Could not decode tenant token, Base64 error: Invalid last symbol 116, offset 2.."
                    .into()
            ))
        );
    }
}
