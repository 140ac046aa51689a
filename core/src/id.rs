//! Document ids: what Meilisearch accepts, and the one canonical string per document.
//!
//! Meilisearch accepts an integer or a string of `a-z A-Z 0-9 - _` of at most 511 bytes,
//! and stores an integer id as its decimal string: `1` and `"1"` are the same document.
//! The canonical string is what placement hashes.

use serde_json::Value;

use crate::error::{Code, MeiliError};

/// Longest id Meilisearch accepts, in bytes.
pub const MAX_ID_BYTES: usize = 511;

/// True when `s` is a valid string id.
pub fn is_valid_id_str(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_BYTES
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The canonical id of a document-id JSON value, or Meilisearch's `invalid_document_id`.
pub fn canonical_id(value: &Value) -> Result<String, MeiliError> {
    match value {
        Value::String(s) if is_valid_id_str(s) => Ok(s.clone()),
        Value::Number(n) if !n.is_f64() => Ok(n.to_string()),
        other => Err(invalid_id(other)),
    }
}

/// Meilisearch's error for an id it refuses.
pub fn invalid_id(value: &Value) -> MeiliError {
    MeiliError::new(
        Code::InvalidDocumentId,
        format!(
            "Document identifier `{value}` is invalid. A document identifier can be of type integer or string, \
             only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), \
             and can not be more than 511 bytes."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_and_string_one_are_the_same_document() {
        assert_eq!(canonical_id(&json!(1)).unwrap(), canonical_id(&json!("1")).unwrap());
        assert_eq!(canonical_id(&json!(-7)).unwrap(), "-7");
    }

    #[test]
    fn refuses_what_meilisearch_refuses() {
        for bad in [json!(1.5), json!("a b"), json!(""), json!("é"), json!(null), json!(true), json!([1]), json!("x".repeat(512))] {
            assert_eq!(canonical_id(&bad).unwrap_err().code, Code::InvalidDocumentId, "{bad}");
        }
        assert!(canonical_id(&json!("x".repeat(511))).is_ok());
        assert!(canonical_id(&json!("Ab-9_z")).is_ok());
    }
}
