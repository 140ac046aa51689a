//! Which primary key a batch uses, and where a document's id sits, as Meilisearch decides.
//!
//! Miroir resolves the key once per batch (inferring it from the first document the way
//! Meilisearch does) and then names it explicitly on every node, so nodes never infer
//! separately and never disagree.

use serde_json::{Map, Value};

use crate::error::{Code, MeiliError};
use crate::id::canonical_id;

/// What is known about the key before the batch is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrimaryKeyInput<'a> {
    /// The index's primary key, when the index exists and has one.
    pub index: Option<&'a str>,
    /// The request's `primaryKey` query parameter.
    pub requested: Option<&'a str>,
}

/// The key a batch will use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource<'a> {
    Known(&'a str),
    /// Guess from the first document's fields.
    Infer,
}

impl<'a> PrimaryKeyInput<'a> {
    pub fn resolve(self) -> Result<KeySource<'a>, MeiliError> {
        match (self.index, self.requested) {
            (Some(index), Some(requested)) if index != requested => Err(MeiliError::new(
                Code::IndexPrimaryKeyAlreadyExists,
                format!("Index already has a primary key: `{index}`."),
            )),
            (Some(key), _) | (None, Some(key)) => Ok(KeySource::Known(key)),
            (None, None) => Ok(KeySource::Infer),
        }
    }
}

/// Meilisearch's guess: the one field whose lowercase name ends with `id`.
pub fn infer<'k>(fields: impl IntoIterator<Item = &'k str>) -> Result<String, MeiliError> {
    let mut candidates: Vec<&str> = fields.into_iter().filter(|f| f.to_lowercase().ends_with("id")).collect();
    candidates.sort_unstable();
    candidates.dedup();
    match candidates.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => Err(no_candidate()),
        [first, second, ..] => Err(MeiliError::new(
            Code::IndexPrimaryKeyMultipleCandidatesFound,
            format!(
                "The primary key inference failed as the engine found {} fields ending with `id` in their names: '{first}' and '{second}'. \
                 Please specify the primary key manually using the `primaryKey` query parameter.",
                candidates.len()
            ),
        )),
    }
}

fn no_candidate() -> MeiliError {
    MeiliError::new(
        Code::IndexPrimaryKeyNoCandidateFound,
        "The primary key inference failed as the engine did not find any field ending with `id` in its name. \
         Please specify the primary key manually using the `primaryKey` query parameter.",
    )
}

pub fn missing_id(key: &str, document: &str) -> MeiliError {
    MeiliError::new(Code::MissingDocumentId, format!("Document doesn't have a `{key}` attribute: `{document}`."))
}

/// The canonical id of a document under a nested (dotted) key, matching Meilisearch:
/// `a.b` may be the field `a.b`, or `b` inside `a`, or `b` inside a field `a`, etc.
pub fn nested_id(doc: &Map<String, Value>, key: &str, raw: &str) -> Result<String, MeiliError> {
    let mut found = Vec::new();
    collect_nested(doc, key, "", &mut found);
    match found.as_slice() {
        [] => Err(missing_id(key, raw)),
        [one] => canonical_id(one),
        _ => Err(MeiliError::new(
            Code::InvalidDocumentId,
            format!("Document have too many matching `{key}` attribute: `{raw}`."),
        )),
    }
}

fn collect_nested<'v>(object: &'v Map<String, Value>, selector: &str, base: &str, out: &mut Vec<&'v Value>) {
    for (key, value) in object {
        let path = if base.is_empty() { key.clone() } else { format!("{base}.{key}") };
        let Some(tail) = selector.strip_prefix(path.as_str()) else { continue };
        if !(tail.is_empty() || tail.starts_with('.')) {
            continue;
        }
        match value {
            Value::Object(inner) if !tail.is_empty() => collect_nested(inner, selector, &path, out),
            // The selector is exhausted: this value is the id, whatever its type.
            value if tail.is_empty() => out.push(value),
            _ => {}
        }
    }
}

/// Validates a flat id value, reporting the document on a missing one.
pub fn flat_id(value: Option<&Value>, key: &str, raw: &str) -> Result<String, MeiliError> {
    match value {
        Some(v) => canonical_id(v),
        None => Err(missing_id(key, raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inference_follows_meilisearch() {
        assert_eq!(infer(["title", "id"]).unwrap(), "id");
        assert_eq!(infer(["title", "productId"]).unwrap(), "productId");
        assert_eq!(infer(["title"]).unwrap_err().code, Code::IndexPrimaryKeyNoCandidateFound);
        assert_eq!(infer(["uid", "id"]).unwrap_err().code, Code::IndexPrimaryKeyMultipleCandidatesFound);
    }

    #[test]
    fn a_different_requested_key_cannot_change_the_index_key() {
        let input = PrimaryKeyInput { index: Some("id"), requested: Some("sku") };
        assert_eq!(input.resolve().unwrap_err().code, Code::IndexPrimaryKeyAlreadyExists);
        let same = PrimaryKeyInput { index: Some("id"), requested: Some("id") };
        assert_eq!(same.resolve().unwrap(), KeySource::Known("id"));
    }

    #[test]
    fn nested_keys_match_objects_and_dotted_fields() {
        let doc = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(nested_id(&doc(json!({"a": {"b": 3}})), "a.b", "").unwrap(), "3");
        assert_eq!(nested_id(&doc(json!({"a.b": "x"})), "a.b", "").unwrap(), "x");
        assert_eq!(nested_id(&doc(json!({"a": {"c": 1}})), "a.b", "").unwrap_err().code, Code::MissingDocumentId);
        assert_eq!(
            nested_id(&doc(json!({"a.b": 1, "a": {"b": 2}})), "a.b", "").unwrap_err().code,
            Code::InvalidDocumentId
        );
    }
}
