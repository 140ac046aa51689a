//! Facet names checked against the filterable attributes, and facet
//! distributions and stats counted like milli.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::filter::{self, values_at, Facet};
use crate::payload::Document;
use crate::store::Index;

/// Checks facet names against the filterable attributes; `*` expands to every known filterable field.
pub(crate) fn check_facets(list: &[String], index: &Index) -> ApiResult<Vec<String>> {
    let settings = &index.settings;
    let mut out = Vec::new();
    for name in list {
        if !settings.is_filterable(name) {
            let patterns = settings.filterable_patterns();
            let tail = if patterns.is_empty() {
                "This index does not have configured filterable attributes.".to_string()
            } else {
                format!(
                    "Available filterable attributes patterns are: `{}`.",
                    patterns.join(", ")
                )
            };
            return Err(ApiError::new(
                Code::InvalidSearchFacets,
                format!("Invalid facet distribution: Pattern `{name}` is not filterable. {tail}"),
            ));
        }
        if name == "*" {
            out.extend(
                index
                    .fields
                    .iter()
                    .filter(|f| settings.is_filterable(f))
                    .cloned(),
            );
        } else {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Facet counts like milli: numbers first, then strings, each ordered
/// `alpha` (ascending) or `count` (descending, ties by descending value),
/// cut to `maxValuesPerFacet`; strings show the original of the document
/// with the smallest internal id. `docs` must be in internal-id order.
pub(crate) fn facet_distribution(
    names: &[String],
    docs: &[&Document],
    index: &Index,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut distribution = Map::new();
    let mut stats = Map::new();
    for name in names {
        let mut numbers: Vec<(f64, u64)> = Vec::new();
        let mut strings: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for doc in docs {
            let mut originals = Vec::new();
            for v in values_at(doc, name) {
                collect_originals(v, &mut originals);
            }
            let mut seen_nums: Vec<f64> = Vec::new();
            let mut seen_strs = std::collections::HashSet::new();
            for (facet, original) in originals {
                match facet {
                    Facet::Num(x) => {
                        min = min.min(x);
                        max = max.max(x);
                        if !seen_nums.contains(&x) {
                            seen_nums.push(x);
                            match numbers.iter_mut().find(|(v, _)| *v == x) {
                                Some(entry) => entry.1 += 1,
                                None => numbers.push((x, 1)),
                            }
                        }
                    }
                    Facet::Str(s) => {
                        if seen_strs.insert(s.clone()) {
                            strings.entry(s).or_insert((original, 0)).1 += 1;
                        }
                    }
                }
            }
        }
        let by_count = index.settings.sort_facet_values_by(name) == "count";
        numbers.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
        if by_count {
            numbers.sort_by(|a, b| {
                b.1.cmp(&a.1)
                    .then(b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal))
            });
        }
        let mut string_entries: Vec<(String, String, u64)> = strings
            .into_iter()
            .map(|(norm, (shown, c))| (norm, shown, c))
            .collect();
        if by_count {
            string_entries.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.cmp(&a.0)));
        }
        let values: Map<String, Value> = numbers
            .into_iter()
            .map(|(x, c)| (format!("{x}"), json!(c)))
            .chain(
                string_entries
                    .into_iter()
                    .map(|(_, shown, c)| (shown, json!(c))),
            )
            .take(index.settings.max_values_per_facet())
            .collect();
        distribution.insert(name.clone(), Value::Object(values));
        if min.is_finite() {
            stats.insert(name.clone(), json!({"min": min, "max": max}));
        }
    }
    (distribution, stats)
}

pub(crate) fn collect_originals(v: &Value, out: &mut Vec<(Facet, String)>) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                out.push((Facet::Num(f), n.to_string()));
            }
        }
        Value::String(s) => out.push((Facet::Str(filter::normalize(s)), s.trim().to_string())),
        Value::Bool(b) => out.push((Facet::Str(b.to_string()), b.to_string())),
        Value::Array(items) => items.iter().for_each(|i| collect_originals(i, out)),
        _ => {}
    }
}
