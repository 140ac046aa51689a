//! API key values and tenant tokens for the scenarios, computed the way
//! Meilisearch does (an HMAC-SHA256 of the key uid with the master key; a
//! JWT signed HS256 with the parent key's value), so the recorded requests
//! carry literal keys the real node accepts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::MASTER_KEY;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac takes any key size");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// The value of the key with this uid under the scenarios' master key.
pub fn key_value(uid: &str) -> String {
    hmac(MASTER_KEY.as_bytes(), uid.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tenant token (JWT HS256) for the key `uid` with these claims.
pub fn tenant_token(uid: &str, claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(hmac(key_value(uid).as_bytes(), signing.as_bytes()));
    format!("{signing}.{sig}")
}
