//! `attr:asc` / `attr:desc` sort expressions and the facet-value ordering
//! milli uses: numbers first, then strings, then documents without a value;
//! a document with several values sorts by its smallest (asc) or largest
//! (desc) one.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::filter::{facets, values_at, Facet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortBy {
    pub field: String,
    pub ascending: bool,
}

/// Parses `field:asc` / `field:desc`; `Err` carries the raw expression.
pub fn parse(expr: &str) -> Result<SortBy, String> {
    match expr.rsplit_once(':') {
        Some((field, "asc")) if !field.is_empty() => Ok(SortBy {
            field: field.to_string(),
            ascending: true,
        }),
        Some((field, "desc")) if !field.is_empty() => Ok(SortBy {
            field: field.to_string(),
            ascending: false,
        }),
        _ => Err(expr.to_string()),
    }
}

/// The message Meilisearch gives for a malformed sort expression.
pub fn syntax_message(expr: &str) -> String {
    format!("Invalid syntax for the sort parameter: expected expression ending by `:asc` or `:desc`, found `{expr}`.")
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Num(f64),
    Str(String),
    Missing,
}

fn key(doc: &Map<String, Value>, by: &SortBy) -> Key {
    let found = values_at(doc, &by.field);
    let values = facets(&found);
    let nums = values.iter().filter_map(|f| match f {
        Facet::Num(n) => Some(*n),
        Facet::Str(_) => None,
    });
    let best_num = if by.ascending {
        nums.reduce(f64::min)
    } else {
        nums.reduce(f64::max)
    };
    if let Some(n) = best_num {
        return Key::Num(n);
    }
    let strs = values.iter().filter_map(|f| match f {
        Facet::Str(s) => Some(s.clone()),
        Facet::Num(_) => None,
    });
    let best_str = if by.ascending { strs.min() } else { strs.max() };
    best_str.map(Key::Str).unwrap_or(Key::Missing)
}

/// The value a document sorts by, as milli's sort rule reports it in
/// `_rankingScoreDetails`: a number (as a float), a normalized string, or
/// `null` when the document has no sortable value.
pub fn value(doc: &Map<String, Value>, by: &SortBy) -> Value {
    match key(doc, by) {
        Key::Num(n) => serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
        Key::Str(s) => Value::String(s),
        Key::Missing => Value::Null,
    }
}

/// Compares two documents for one sort criterion.
pub fn compare(a: &Map<String, Value>, b: &Map<String, Value>, by: &SortBy) -> Ordering {
    let (ka, kb) = (key(a, by), key(b, by));
    let rank = |k: &Key| match k {
        Key::Num(_) => 0,
        Key::Str(_) => 1,
        Key::Missing => 2,
    };
    match (rank(&ka).cmp(&rank(&kb)), &ka, &kb) {
        (Ordering::Equal, Key::Num(x), Key::Num(y)) => {
            let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
            if by.ascending {
                o
            } else {
                o.reverse()
            }
        }
        (Ordering::Equal, Key::Str(x), Key::Str(y)) => {
            let o = x.cmp(y);
            if by.ascending {
                o
            } else {
                o.reverse()
            }
        }
        (o, _, _) => o,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_sort_expressions() {
        assert_eq!(
            parse("year:desc").unwrap(),
            SortBy {
                field: "year".into(),
                ascending: false
            }
        );
        assert_eq!(parse("a.b:asc").unwrap().field, "a.b");
        assert!(parse("year:up").is_err());
        assert!(parse("year").is_err());
    }

    #[test]
    fn numbers_then_strings_then_missing_in_both_directions() {
        let docs = [
            doc(json!({"v": "b"})),
            doc(json!({})),
            doc(json!({"v": 2})),
            doc(json!({"v": 10})),
        ];
        for ascending in [true, false] {
            let by = SortBy {
                field: "v".into(),
                ascending,
            };
            let mut sorted: Vec<&Map<String, Value>> = docs.iter().collect();
            sorted.sort_by(|a, b| compare(a, b, &by));
            let vs: Vec<Value> = sorted
                .iter()
                .map(|d| d.get("v").cloned().unwrap_or(Value::Null))
                .collect();
            if ascending {
                assert_eq!(vs, vec![json!(2), json!(10), json!("b"), Value::Null]);
            } else {
                assert_eq!(vs, vec![json!(10), json!(2), json!("b"), Value::Null]);
            }
        }
    }
}
