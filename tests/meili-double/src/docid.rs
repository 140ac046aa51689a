//! Primary keys and document ids, as Meilisearch resolves them
//! (milli/src/documents/primary_key.rs and
//! milli/src/update/new/indexer/guess_primary_key.rs upstream).

use serde_json::{Map, Value};

use crate::error::{ApiError, Code};

/// Why a document's id could not be extracted.
#[derive(Debug, Clone, PartialEq)]
pub enum DocIdError {
    Missing,
    Invalid(Value),
    TooMany,
}

/// Guesses the primary key from the first document of a payload: the keys
/// whose lowercase name ends with `id`, sorted; exactly one must match.
pub fn guess_primary_key(first_document: Option<&Map<String, Value>>) -> Result<String, ApiError> {
    let Some(doc) = first_document else {
        return Err(no_candidate());
    };
    let mut guesses: Vec<&String> = doc
        .keys()
        .filter(|k| k.to_lowercase().ends_with("id"))
        .collect();
    guesses.sort_unstable();
    match guesses.as_slice() {
        [] => Err(no_candidate()),
        [one] => Ok((*one).clone()),
        several => Err(ApiError::new(
            Code::IndexPrimaryKeyMultipleCandidatesFound,
            format!(
                "The primary key inference failed as the engine found {} fields ending with `id` in their names: '{}' and '{}'. Please specify the primary key manually using the `primaryKey` query parameter.",
                several.len(),
                several[0],
                several[1]
            ),
        )),
    }
}

fn no_candidate() -> ApiError {
    ApiError::new(
        Code::IndexPrimaryKeyNoCandidateFound,
        "The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter.",
    )
}

/// A valid document id string: 1 to 511 bytes of `a-z A-Z 0-9 - _`.
pub fn valid_id_str(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 512
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Turns an id value into its canonical string (integers and valid strings only).
pub fn id_from_value(v: &Value) -> Result<String, DocIdError> {
    match v {
        Value::String(s) if valid_id_str(s) => Ok(s.clone()),
        Value::Number(n) if !n.is_f64() => Ok(n.to_string()),
        other => Err(DocIdError::Invalid(other.clone())),
    }
}

/// Extracts the document id for `primary_key`, following dots into nested objects.
pub fn extract_id(doc: &Map<String, Value>, primary_key: &str) -> Result<String, DocIdError> {
    if !primary_key.contains('.') {
        return match doc.get(primary_key) {
            Some(v) => id_from_value(v),
            None => Err(DocIdError::Missing),
        };
    }
    let mut matches = Vec::new();
    for (first, rest) in possible_level_names(primary_key) {
        if let Some(value) = doc.get(first) {
            match value {
                Value::Object(obj) => fetch_in_object(obj, rest, "", &mut matches),
                other => matches.push(other.clone()),
            }
            if matches.len() >= 2 {
                return Err(DocIdError::TooMany);
            }
        }
    }
    match matches.pop() {
        Some(v) => id_from_value(&v),
        None => Err(DocIdError::Missing),
    }
}

fn possible_level_names(name: &str) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = name
        .match_indices('.')
        .map(|(i, _)| (&name[..i], &name[i + 1..]))
        .collect();
    out.push((name, ""));
    out
}

fn fetch_in_object(obj: &Map<String, Value>, selector: &str, base: &str, out: &mut Vec<Value>) {
    for (key, value) in obj {
        let key_path = if base.is_empty() {
            key.clone()
        } else {
            format!("{base}.{key}")
        };
        let selected = selector
            .strip_prefix(key_path.as_str())
            .is_some_and(|tail| tail.is_empty() || tail.starts_with('.'));
        if selected {
            match value {
                Value::Object(inner) => fetch_in_object(inner, selector, &key_path, out),
                other => out.push(other.clone()),
            }
        }
    }
}

/// The task error for a document whose id could not be extracted.
pub fn id_error(err: DocIdError, primary_key: &str, doc: &Map<String, Value>) -> ApiError {
    let doc_json = serde_json::to_string(doc).unwrap_or_default();
    match err {
        DocIdError::Missing => ApiError::new(
            Code::MissingDocumentId,
            format!("Document doesn't have a `{primary_key}` attribute: `{doc_json}`."),
        ),
        DocIdError::TooMany => ApiError::new(
            Code::InvalidDocumentId,
            format!("Document have too many matching `{primary_key}` attribute: `{doc_json}`."),
        ),
        DocIdError::Invalid(v) => invalid_id(&v),
    }
}

/// `invalid_document_id` for a bad id value.
pub fn invalid_id(v: &Value) -> ApiError {
    ApiError::new(
        Code::InvalidDocumentId,
        format!(
            "Document identifier `{v}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn guess_picks_the_single_key_ending_with_id() {
        assert_eq!(
            guess_primary_key(Some(&obj(json!({"title":"x","movieId":1})))).unwrap(),
            "movieId"
        );
        assert_eq!(
            guess_primary_key(Some(&obj(json!({"ID":1})))).unwrap(),
            "ID"
        );
    }

    #[test]
    fn guess_fails_without_candidates_or_with_several() {
        let e = guess_primary_key(Some(&obj(json!({"title":"x"})))).unwrap_err();
        assert_eq!(e.code(), Code::IndexPrimaryKeyNoCandidateFound);
        let e = guess_primary_key(Some(&obj(json!({"uid":1,"id":2})))).unwrap_err();
        assert_eq!(e.code(), Code::IndexPrimaryKeyMultipleCandidatesFound);
        assert!(e.to_string().contains("'id' and 'uid'"), "{e}");
        assert_eq!(
            guess_primary_key(None).unwrap_err().code(),
            Code::IndexPrimaryKeyNoCandidateFound
        );
    }

    #[test]
    fn ids_accept_integers_and_safe_strings_only() {
        assert_eq!(id_from_value(&json!(1)), Ok("1".into()));
        assert_eq!(id_from_value(&json!(-3)), Ok("-3".into()));
        assert_eq!(id_from_value(&json!("a-B_9")), Ok("a-B_9".into()));
        assert!(id_from_value(&json!(1.5)).is_err());
        assert!(id_from_value(&json!("a b")).is_err());
        assert!(id_from_value(&json!("")).is_err());
        assert!(id_from_value(&json!("x".repeat(512))).is_err());
        assert!(id_from_value(&json!("x".repeat(511))).is_ok());
        assert!(id_from_value(&json!(true)).is_err());
    }

    #[test]
    fn nested_primary_keys_follow_dots() {
        let doc = obj(json!({"a":{"b":"x1"},"t":1}));
        assert_eq!(extract_id(&doc, "a.b"), Ok("x1".into()));
        let doc = obj(json!({"a.b":"flat"}));
        assert_eq!(extract_id(&doc, "a.b"), Ok("flat".into()));
        let doc = obj(json!({"a.b":"flat","a":{"b":"nested"}}));
        assert_eq!(extract_id(&doc, "a.b"), Err(DocIdError::TooMany));
        let doc = obj(json!({"a":{"c":1}}));
        assert_eq!(extract_id(&doc, "a.b"), Err(DocIdError::Missing));
    }

    #[test]
    fn missing_id_message_names_the_key_and_document() {
        let doc = obj(json!({"title":"x"}));
        let e = id_error(DocIdError::Missing, "id", &doc);
        assert_eq!(
            e.to_string(),
            "Document doesn't have a `id` attribute: `{\"title\":\"x\"}`."
        );
        assert_eq!(e.code(), Code::MissingDocumentId);
    }
}
