//! A fast walk over the top-level members of a JSON object that serde_json has already
//! validated: it only tracks strings and nesting, so finding a document's id costs a
//! byte scan instead of a second full parse.

/// Calls `f(key, raw value)` for each top-level member of the validated object `doc`.
/// Keys with escapes are decoded; values are raw JSON text.
pub fn each_member<'a>(doc: &'a str, mut f: impl FnMut(&str, &'a str)) {
    let bytes = doc.as_bytes();
    let mut i = match bytes.iter().position(|&b| b == b'{') {
        Some(p) => p + 1,
        None => return,
    };
    loop {
        i = skip_ws(bytes, i);
        if i >= bytes.len() || bytes[i] != b'"' {
            return; // `}`: the end of the object
        }
        let quoted_key = &doc[i..string_end(bytes, i)];
        i = skip_ws(bytes, i + quoted_key.len()) + 1; // past ':'
        let start = skip_ws(bytes, i);
        let end = value_end(bytes, start);
        let raw_key = &quoted_key[1..quoted_key.len() - 1];
        if raw_key.contains('\\') {
            let key: String = serde_json::from_str(quoted_key).unwrap_or_default();
            f(&key, &doc[start..end]);
        } else {
            f(raw_key, &doc[start..end]);
        }
        i = skip_ws(bytes, end);
        if i >= bytes.len() || bytes[i] != b',' {
            return;
        }
        i += 1;
    }
}

/// The parsed value of one top-level member, if present.
#[cfg(test)]
pub fn member(doc: &str, key: &str) -> Option<serde_json::Value> {
    let mut found = None;
    each_member(doc, |k, raw| {
        if k == key && found.is_none() {
            found = serde_json::from_str(raw).ok();
        }
    });
    found
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\n' | b'\r' | b'\t') {
        i += 1;
    }
    i
}

/// Index just past the closing quote of the string starting at `i`.
fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// Index just past the value starting at `i`.
fn value_end(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => string_end(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                j += 1;
            }
            j
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn members(doc: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        each_member(doc, |k, raw| out.push((k.to_string(), serde_json::from_str(raw).unwrap())));
        out
    }

    #[test]
    fn walks_nested_values_strings_and_escapes() {
        let doc = r#" { "id" : "a\"}b" , "n":{"id":[1,{"x":"]"}]}, "\u0069d2": -1.5e3 ,"t":true,"z":null } "#;
        assert_eq!(
            members(doc),
            vec![
                ("id".into(), json!("a\"}b")),
                ("n".into(), json!({"id": [1, {"x": "]"}]})),
                ("id2".into(), json!(-1.5e3)),
                ("t".into(), json!(true)),
                ("z".into(), json!(null)),
            ]
        );
        assert_eq!(member(doc, "id"), Some(json!("a\"}b")));
        assert_eq!(member("{}", "id"), None);
    }

    proptest! {
        #[test]
        fn agrees_with_serde_on_any_object(v in proptest::collection::btree_map("[a-z\"\\\\ é]{0,6}", prop_oneof![
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
            Just(json!({"a": ["}", {"b": "\\\""}]})),
        ], 0..6)) {
            let text = serde_json::to_string_pretty(&v).unwrap();
            let walked: Vec<(String, Value)> = members(&text);
            let expected: Vec<(String, Value)> = v.into_iter().collect();
            prop_assert_eq!(walked, expected);
        }
    }
}
