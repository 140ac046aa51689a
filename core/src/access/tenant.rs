//! Tenant tokens: JWTs signed (HS256, HS384, HS512) with a parent key's value, whose
//! claims carry `apiKeyUid`, `searchRules` and an optional `exp`.
//!
//! Meilisearch (`extractors/authentication/mod.rs`) reads a search route's bearer as a
//! token when it decodes as one, else as an API key; then checks the algorithm, the
//! signature, the expiry, the parent key, the indexes (the token's rules, then the
//! key's) and the action. Miroir judges the same way a token it reads exactly as
//! jsonwebtoken would; one it cannot ([`Parsed::Unreadable`]: a part that is not
//! base64 or not the claims' JSON) is left to one node, whose refusal is relayed,
//! since that refusal quotes the decoder's own message. The search rules' filters
//! are applied by each node (every shard's search carries the client's token).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};

use super::{invalid_key, matches_pattern, may, strings, Need};
use crate::error::{Code, MeiliError};

/// A bearer read as a tenant token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Fewer than three dot-separated parts: Meilisearch tries it as an API key.
    NotAToken,
    /// Shaped like a JWT but not one Miroir reads exactly as Meilisearch: a node judges.
    Unreadable,
    Token(Token),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// `header.payload`, the signed text.
    message: String,
    signature: Vec<u8>,
    alg: String,
    /// Lowercase hyphenated, as `GET /keys/{uid}` takes it.
    pub api_key_uid: String,
    pub rules: Rules,
    pub exp: Option<i64>,
}

/// The indexes a token's `searchRules` allow (their filters are the nodes' business).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules(Vec<String>);

impl Rules {
    pub fn allows(&self, index: &str) -> bool {
        self.0.iter().any(|p| matches_pattern(p, index))
    }

    /// Sorted, as Meilisearch lists them in a refusal.
    fn listed(&self) -> Vec<String> {
        let mut list = self.0.clone();
        list.sort_unstable();
        list
    }
}

/// Reads `token` as jsonwebtoken's `insecure_decode` does (split from the right).
pub fn parse(token: &str) -> Parsed {
    let Some((message, signature)) = token.rsplit_once('.') else { return Parsed::NotAToken };
    let Some((header, payload)) = message.rsplit_once('.') else { return Parsed::NotAToken };
    read(message, header, payload, signature).map_or(Parsed::Unreadable, Parsed::Token)
}

fn read(message: &str, header: &str, payload: &str, signature: &str) -> Option<Token> {
    let header = json_object(header)?;
    let alg = header.get("alg")?.as_str()?.to_string();
    let optional_strings = ["typ", "cty", "jku", "kid", "x5u", "x5t", "x5t#S256"];
    if header.iter().any(|(k, v)| !(k == "alg" || optional_strings.contains(&k.as_str()) && (v.is_string() || v.is_null()))) {
        return None;
    }
    let claims = json_object(payload)?;
    // Claims jsonwebtoken validates on its own (an audience without an expected one).
    if claims.contains_key("aud") {
        return None;
    }
    let api_key_uid = claims.get("apiKeyUid")?.as_str().filter(|u| is_hyphenated_uuid(u))?.to_ascii_lowercase();
    let exp = match claims.get("exp") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64()?),
    };
    let rules = match claims.get("searchRules")? {
        Value::Array(set) => set.iter().map(|p| p.as_str().filter(|p| is_pattern(p)).map(str::to_string)).collect::<Option<Vec<_>>>()?,
        Value::Object(map) => {
            let rule_ok = |r: &Value| r.is_null() || r.as_object().is_some_and(|o| o.keys().all(|k| k == "filter"));
            map.iter().all(|(p, r)| is_pattern(p) && rule_ok(r)).then(|| map.keys().cloned().collect())?
        }
        _ => return None,
    };
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    Some(Token { message: message.to_string(), signature, alg, api_key_uid, rules: Rules(rules), exp })
}

fn json_object(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn is_hyphenated_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

/// An index uid, optionally ending in `*`, or `*` alone.
fn is_pattern(p: &str) -> bool {
    let uid = p.strip_suffix('*').unwrap_or(p);
    p == "*" || !uid.is_empty() && uid.len() <= 400 && uid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn could_not_decode(kind: &str) -> MeiliError {
    MeiliError::new(Code::InvalidApiKey, format!("Could not decode tenant token, {kind}."))
}

/// HMAC of `message` under `secret` (any key length is accepted).
macro_rules! hmac {
    ($digest:ty, $secret:expr, $message:expr) => {
        match <Hmac<$digest> as Mac>::new_from_slice($secret) {
            Ok(mut mac) => {
                mac.update($message);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    };
}

/// A key's value as Meilisearch derives it from its uid and the master key.
pub fn derived_key(master_key: &str, uid: &str) -> String {
    hmac!(sha2::Sha256, master_key.as_bytes(), uid.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

impl Token {
    /// The algorithm and signature under the parent key's value `secret`, then the
    /// expiry at `now_s` (`None`: unknown, left to the nodes).
    pub fn verify(&self, secret: &str, now_s: Option<i64>) -> Result<(), MeiliError> {
        let (secret, message) = (secret.as_bytes(), self.message.as_bytes());
        let expected = match self.alg.as_str() {
            "HS256" => hmac!(sha2::Sha256, secret, message),
            "HS384" => hmac!(sha2::Sha384, secret, message),
            "HS512" => hmac!(sha2::Sha512, secret, message),
            _ => return Err(could_not_decode("InvalidAlgorithm")),
        };
        if expected.is_empty() || expected != self.signature {
            return Err(could_not_decode("InvalidSignature"));
        }
        match (self.exp, now_s) {
            (Some(exp), Some(now)) if now > exp => Err(MeiliError::new(
                Code::InvalidApiKey,
                format!("Tenant token expired. Was valid up to `{exp}` and we're now `{now}`."),
            )),
            _ => Ok(()),
        }
    }

    /// A verified token against its parent key (`GET /keys/{uid}`) for `need`.
    pub fn judge(&self, parent: &Value, need: &Need, now_ms: u64) -> Result<(), MeiliError> {
        if let Some(index) = &need.index {
            if !self.rules.allows(index) {
                return Err(MeiliError::new(
                    Code::InvalidApiKey,
                    format!(
                        "The provided tenant token cannot acces the index `{index}`, allowed indexes are {:?}.",
                        self.rules.listed()
                    ),
                ));
            }
            if !strings(parent, "indexes").iter().any(|p| matches_pattern(p, index)) {
                return Err(MeiliError::new(
                    Code::InvalidApiKey,
                    format!("The API key used to generate this tenant token cannot acces the index `{index}`."),
                ));
            }
        }
        may(parent, need, now_ms).then_some(()).ok_or_else(invalid_key)
    }
}

#[cfg(test)]
pub(crate) mod tests;
