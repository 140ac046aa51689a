//! Every message and code here was read from a real Meilisearch 1.50.0.

use super::*;

fn refuse(body: &str) -> (String, String) {
    let err = parse_body(Some("application/json"), body.as_bytes()).unwrap_err();
    (err.code.name().to_string(), err.message)
}

#[test]
fn a_good_body_reads_into_pairs_with_rename_defaulting_to_false() {
    let swaps = parse_body(Some("application/json"), br#"[{"indexes":["a","b"]},{"indexes":["c","d"],"rename":true}]"#).unwrap();
    assert_eq!(
        swaps,
        vec![
            IndexSwap { indexes: ("a".into(), "b".into()), rename: false },
            IndexSwap { indexes: ("c".into(), "d".into()), rename: true }
        ]
    );
    assert_eq!(details(&swaps), json!({"swaps": [{"indexes": ["a", "b"], "rename": false}, {"indexes": ["c", "d"], "rename": true}]}));
    assert_eq!(parse_body(Some("application/json"), b"[]").unwrap(), vec![]);
}

#[test]
fn shape_errors_are_meilisearchs() {
    assert_eq!(refuse("{}"), ("bad_request".into(), "Invalid value type: expected an array, but found an object: `{}`".into()));
    assert_eq!(
        refuse("[1]"),
        ("bad_request".into(), "Invalid value type at `[0]`: expected an object, but found a positive integer: `1`".into())
    );
    assert_eq!(refuse("[{}]"), ("missing_swap_indexes".into(), "Missing field `indexes` inside `[0]`".into()));
    assert_eq!(
        refuse(r#"[{"indexes":["a","b"],"x":1}]"#),
        ("bad_request".into(), "Unknown field `x` inside `[0]`: expected one of `indexes`, `rename`".into())
    );
    assert_eq!(
        refuse(r#"[{"indexes":"a"}]"#),
        ("invalid_swap_indexes".into(), "Invalid value type at `[0].indexes`: expected an array, but found a string: `\"a\"`".into())
    );
    assert_eq!(
        refuse(r#"[{"indexes":[1,"b"]}]"#),
        ("invalid_swap_indexes".into(), "Invalid value type at `[0].indexes[0]`: expected a string, but found a positive integer: `1`".into())
    );
    assert_eq!(
        refuse(r#"[{"indexes":["a","b"],"rename":"yes"}]"#),
        ("invalid_swap_rename".into(), "Invalid value type at `[0].rename`: expected a boolean, but found a string: `\"yes\"`".into())
    );
    assert_eq!(
        refuse(r#"[{"indexes":["a","b"],"rename":null}]"#),
        ("invalid_swap_rename".into(), "Invalid value type at `[0].rename`: expected a boolean, but found null".into())
    );
    let (code, message) = refuse(r#"[{"indexes":["a b","c"]}]"#);
    assert_eq!(code, "invalid_swap_indexes");
    assert!(message.starts_with("Invalid value at `[0].indexes[0]`: `a b` is not a valid index uid."), "{message}");
}

#[test]
fn pair_and_duplicate_errors_are_meilisearchs() {
    assert_eq!(
        refuse(r#"[{"indexes":["a"]}]"#),
        ("invalid_swap_indexes".into(), "Two indexes must be given for each swap. The list `[\"a\"]` contains 1 indexes.".into())
    );
    assert_eq!(
        refuse(r#"[{"indexes":["a","b","c"]}]"#),
        ("invalid_swap_indexes".into(), "Two indexes must be given for each swap. The list `[\"a\", \"b\", \"c\"]` contains 3 indexes.".into())
    );
    let dup = "invalid_swap_duplicate_index_found".to_string();
    assert_eq!(
        refuse(r#"[{"indexes":["a","b"]},{"indexes":["b","c"]}]"#),
        (dup.clone(), "Indexes must be declared only once during a swap. `b` was specified several times.".into())
    );
    assert_eq!(
        refuse(r#"[{"indexes":["b","a"]},{"indexes":["a","b"]}]"#),
        (dup.clone(), "Indexes must be declared only once during a swap. `a`, `b` were specified several times.".into())
    );
    assert_eq!(refuse(r#"[{"indexes":["a","a"]}]"#).0, dup);
}

#[test]
fn syntax_and_content_type_errors_come_first() {
    assert_eq!(refuse("").0, "missing_payload");
    assert_eq!(refuse("[{").0, "malformed_payload");
    assert_eq!(parse_body(None, b"[]").unwrap_err().code, Code::MissingContentType);
    assert_eq!(parse_body(Some("text/plain"), b"[]").unwrap_err().code, Code::InvalidContentType);
}

#[test]
fn a_key_limited_to_some_indexes_is_refused_in_meilisearchs_order() {
    let only_a = |uid: &str| uid.starts_with('a');
    let check = |body: &str| parse_for(Some("application/json"), body.as_bytes(), only_a).map_err(|e| e.code.name());
    assert_eq!(check(r#"[{"indexes":["a1","b1"]}]"#), Err("invalid_api_key"));
    // Length before access, swap by swap; duplicates only after every swap passed.
    assert_eq!(check(r#"[{"indexes":["b1"]}]"#), Err("invalid_swap_indexes"));
    assert_eq!(check(r#"[{"indexes":["b1","a1"]},{"indexes":["a3"]}]"#), Err("invalid_api_key"));
    assert_eq!(check(r#"[{"indexes":["a1","a2"]},{"indexes":["a3"]}]"#), Err("invalid_swap_indexes"));
    assert_eq!(check(r#"[{"indexes":["a1","b2"]},{"indexes":["a2","a1"]}]"#), Err("invalid_api_key"));
    assert_eq!(check(r#"[{"indexes":["a1","a2"]},{"indexes":["a2","a3"]}]"#), Err("invalid_swap_duplicate_index_found"));
    assert!(check(r#"[{"indexes":["a1","a2"]}]"#).is_ok());
}
