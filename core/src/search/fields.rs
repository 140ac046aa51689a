//! Reading and removing document fields the way Meilisearch addresses them
//! (`a.b` names a key `a.b` or `b` inside `a`, through arrays), and facet values
//! compared as Meilisearch's facet databases compare them.

use serde_json::{Map, Value};

/// A facet value as Meilisearch's facet databases key it: strings normalized
/// (trimmed, lowercased), numbers as `f64`. `1` and `1.0` are the same value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacetKey {
    /// `f64` bits of a non-NaN number, with `-0.0` folded into `0.0`.
    Number(u64),
    Text(String),
}

impl FacetKey {
    pub fn number(n: f64) -> FacetKey {
        FacetKey::Number(if n == 0.0 { 0.0f64.to_bits() } else { n.to_bits() })
    }

    /// Meilisearch's `normalize_facet` trims and lowercases after a Unicode
    /// compatibility decomposition; core has no Unicode tables, so values that differ
    /// only by that decomposition (rare: ligatures, full-width forms) stay distinct.
    pub fn text(s: &str) -> FacetKey {
        FacetKey::Text(s.trim().to_lowercase())
    }

    /// The facet values of one leaf: an array gives each of its scalars.
    pub fn of_leaf(value: &Value, out: &mut Vec<FacetKey>) {
        match value {
            Value::Array(items) => out.extend(items.iter().filter_map(FacetKey::of_scalar)),
            other => out.extend(FacetKey::of_scalar(other)),
        }
    }

    fn of_scalar(value: &Value) -> Option<FacetKey> {
        match value {
            Value::Bool(b) => Some(FacetKey::Text(b.to_string())),
            Value::Number(n) => n.as_f64().map(FacetKey::number),
            Value::String(s) => Some(FacetKey::text(s)),
            _ => None,
        }
    }
}

/// Every facet value `path` reaches in `doc`.
pub fn facet_values(doc: &Map<String, Value>, path: &str) -> Vec<FacetKey> {
    let mut out = Vec::new();
    visit_leaves(doc, path, &mut |v| FacetKey::of_leaf(v, &mut out));
    out
}

/// Calls `visit` on each value `path` selects: the key itself, or for each split
/// `root.rest`, `rest` inside the object (or each object of the array) at `root`.
pub fn visit_leaves<'a>(doc: &'a Map<String, Value>, path: &str, visit: &mut impl FnMut(&'a Value)) {
    if let Some(v) = doc.get(path) {
        visit(v);
    }
    for (dot, _) in path.rmatch_indices('.') {
        let (root, rest) = (&path[..dot], &path[dot + 1..]);
        match doc.get(root) {
            Some(Value::Object(sub)) => visit_leaves(sub, rest, visit),
            Some(Value::Array(items)) => {
                for item in items {
                    if let Value::Object(sub) = item {
                        visit_leaves(sub, rest, visit);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Removes what `path` selects, and objects that this leaves empty.
pub fn remove_path(doc: &mut Map<String, Value>, path: &str) {
    doc.shift_remove(path);
    for (dot, _) in path.rmatch_indices('.') {
        let (root, rest) = (&path[..dot], &path[dot + 1..]);
        let emptied = match doc.get_mut(root) {
            Some(Value::Object(sub)) => {
                remove_path(sub, rest);
                sub.is_empty()
            }
            _ => false,
        };
        if emptied {
            doc.shift_remove(root);
        }
    }
}

/// Describes a value as Meilisearch's type errors do: "an array: `[]`".
pub fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() => "a positive integer",
        Value::Number(n) if n.is_i64() => "a negative integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("{kind}: `{value}`")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn dotted_paths_reach_nested_and_flat_keys() {
        let doc = obj(json!({"a": {"b": "X"}, "a.b": 2, "c": [{"d": 1}, {"d": [true, "Y "]}]}));
        let mut got = facet_values(&doc, "a.b");
        got.sort();
        assert_eq!(got, vec![FacetKey::number(2.0), FacetKey::text("x")]);
        assert_eq!(
            facet_values(&doc, "c.d"),
            vec![FacetKey::number(1.0), FacetKey::Text("true".into()), FacetKey::text("y")]
        );
        assert!(facet_values(&doc, "missing").is_empty());
    }

    #[test]
    fn facet_keys_fold_case_space_and_number_form() {
        assert_eq!(FacetKey::text("  Blue"), FacetKey::text("blue"));
        assert_eq!(FacetKey::of_scalar(&json!(1)), FacetKey::of_scalar(&json!(1.0)));
        assert_eq!(FacetKey::number(-0.0), FacetKey::number(0.0));
    }

    #[test]
    fn removing_a_nested_path_prunes_emptied_objects() {
        let mut doc = obj(json!({"a": {"b": 1}, "c": {"b": 1, "e": 2}}));
        remove_path(&mut doc, "a.b");
        remove_path(&mut doc, "c.b");
        assert_eq!(Value::Object(doc), json!({"c": {"e": 2}}));
    }

    #[test]
    fn values_are_described_as_meilisearch_does() {
        assert_eq!(describe(&json!("doggo")), "a string: `\"doggo\"`");
        assert_eq!(describe(&json!(42)), "a positive integer: `42`");
        assert_eq!(describe(&Value::Null), "null");
    }
}
