use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use super::*;
use crate::access::Need;

pub(crate) const UID: &str = "7c4e2b1a-1111-4222-8333-444455556666";

/// A token as an SDK signs it (HS256) with `secret`.
pub(crate) fn sign(claims: &Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn token(claims: &Value, secret: &str) -> Token {
    match parse(&sign(claims, secret)) {
        Parsed::Token(t) => t,
        other => panic!("{other:?}"),
    }
}

fn parent(indexes: Value, actions: Value) -> Value {
    json!({"uid": UID, "key": "parent-secret", "actions": actions, "indexes": indexes, "expiresAt": null})
}

fn search(index: Option<&str>) -> Need {
    Need { action: "search", index: index.map(str::to_string), creates_index: None }
}

#[test]
fn a_good_token_passes_under_its_parents_value() {
    let t = token(&json!({"apiKeyUid": UID, "searchRules": {"movies": {"filter": "genre = a"}}, "exp": null}), "parent-secret");
    assert_eq!(t.api_key_uid, UID);
    assert_eq!(t.verify("parent-secret", Some(1_900_000_000)), Ok(()));
    assert_eq!(t.judge(&parent(json!(["*"]), json!(["search"])), &search(Some("movies")), 1), Ok(()));
}

#[test]
fn a_tampered_or_foreign_signature_is_refused_with_meilisearchs_message() {
    let t = token(&json!({"apiKeyUid": UID, "searchRules": ["*"]}), "someone-else");
    let refusal = t.verify("parent-secret", None).unwrap_err();
    assert_eq!((refusal.code, refusal.message.as_str()), (Code::InvalidApiKey, "Could not decode tenant token, InvalidSignature."));
    // The payload changed after signing (rules widened).
    let good = sign(&json!({"apiKeyUid": UID, "searchRules": ["movies"]}), "parent-secret");
    let parts: Vec<&str> = good.split('.').collect();
    let widened = URL_SAFE_NO_PAD.encode(json!({"apiKeyUid": UID, "searchRules": ["*"]}).to_string());
    let Parsed::Token(t) = parse(&format!("{}.{widened}.{}", parts[0], parts[2])) else { panic!() };
    assert_eq!(t.verify("parent-secret", None).unwrap_err().message, "Could not decode tenant token, InvalidSignature.");
}

#[test]
fn an_expired_token_names_both_instants() {
    let t = token(&json!({"apiKeyUid": UID, "searchRules": ["*"], "exp": 1_000}), "parent-secret");
    let refusal = t.verify("parent-secret", Some(1_001)).unwrap_err();
    assert_eq!(refusal.message, "Tenant token expired. Was valid up to `1000` and we're now `1001`.");
    assert_eq!(refusal.code, Code::InvalidApiKey);
    assert_eq!(t.verify("parent-secret", Some(1_000)), Ok(()), "valid up to and including exp");
}

#[test]
fn the_tokens_rules_then_the_parents_indexes_then_its_action() {
    let t = token(&json!({"apiKeyUid": UID, "searchRules": {"prod_*": null, "movies": {"filter": "a = 1"}}}), "parent-secret");
    let everything = parent(json!(["*"]), json!(["*"]));
    let refusal = t.judge(&everything, &search(Some("books")), 1).unwrap_err();
    assert_eq!(
        refusal.message,
        r#"The provided tenant token cannot acces the index `books`, allowed indexes are ["movies", "prod_*"]."#
    );
    assert_eq!(t.judge(&everything, &search(Some("prod_eu")), 1), Ok(()));
    let narrow = parent(json!(["prod_eu"]), json!(["search"]));
    let refusal = t.judge(&narrow, &search(Some("movies")), 1).unwrap_err();
    assert_eq!(refusal.message, "The API key used to generate this tenant token cannot acces the index `movies`.");
    let no_search = parent(json!(["*"]), json!(["documents.get"]));
    assert_eq!(t.judge(&no_search, &search(Some("movies")), 1).unwrap_err().message, "The provided API key is invalid.");
    let expired = json!({"uid": UID, "key": "k", "actions": ["search"], "indexes": ["*"], "expiresAt": "2001-01-01T00:00:00Z"});
    assert_eq!(t.judge(&expired, &search(Some("movies")), 1_800_000_000_000).unwrap_err().message, "The provided API key is invalid.");
}

#[test]
fn what_is_not_a_token_is_a_key_and_what_miroir_cannot_read_goes_to_a_node() {
    assert_eq!(parse("d0552b41536279a0ad88bd595327b96f01176a60c2243e906c52ac02375f9bc4"), Parsed::NotAToken);
    assert_eq!(parse("a.b"), Parsed::NotAToken);
    assert_eq!(parse("not.a.jwt"), Parsed::Unreadable);
    let no_uid = sign(&json!({"searchRules": ["*"]}), "s");
    assert_eq!(parse(&no_uid), Parsed::Unreadable);
    let audience = sign(&json!({"apiKeyUid": UID, "searchRules": ["*"], "aud": "x"}), "s");
    assert_eq!(parse(&audience), Parsed::Unreadable);
    let bad_rules = sign(&json!({"apiKeyUid": UID, "searchRules": "movies"}), "s");
    assert_eq!(parse(&bad_rules), Parsed::Unreadable);
}

#[test]
fn another_algorithm_is_refused_as_meilisearch_refuses_it() {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
    let payload = URL_SAFE_NO_PAD.encode(json!({"apiKeyUid": UID, "searchRules": ["*"]}).to_string());
    let Parsed::Token(t) = parse(&format!("{header}.{payload}.c2ln")) else { panic!() };
    assert_eq!(t.verify("x", None).unwrap_err().message, "Could not decode tenant token, InvalidAlgorithm.");
}

#[test]
fn a_keys_value_derives_from_the_master_key_as_meilisearch_derives_it() {
    // HMAC-SHA256("masterKey", uid) in lowercase hex, as `generate_key_as_hexa`.
    // Recorded from Meilisearch 1.50: `POST /keys {"uid": UID, ...}` under this master key.
    let value = derived_key("masterKey-0123456789abcdef", UID);
    assert_eq!(value, "651ebcfddbaf59e4a8314785e79101d81000b8495c524f0b859ab0cfbb138b61");
    assert_ne!(value, derived_key("otherMaster", UID));
}
