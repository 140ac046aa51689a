//! `federation.mergeFacets`: the indexes' facet distributions summed per
//! value and their stats combined, then each facet's values ordered (by
//! value, or by count when the facet is sorted by count) and cut to
//! `maxValuesPerFacet` (Meilisearch's `FederatedFacets::merge`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Merges `{index: {"distribution": .., "stats": ..}}` into
/// `(facetDistribution, facetStats)`.
pub fn merge(
    per_index: &Map<String, Value>,
    max_values: Option<usize>,
    by_count: impl Fn(&str) -> bool,
) -> (Value, Value) {
    let mut distribution: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut stats: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for facets in per_index.values() {
        if let Some(d) = facets["distribution"].as_object() {
            for (facet, values) in d {
                let entry = distribution.entry(facet.clone()).or_default();
                for (value, count) in values.as_object().into_iter().flatten() {
                    let count = count.as_u64().unwrap_or(0);
                    match entry.iter_mut().find(|(v, _)| v == value) {
                        Some(e) => e.1 += count,
                        None => entry.push((value.clone(), count)),
                    }
                }
            }
        }
        if let Some(s) = facets["stats"].as_object() {
            for (facet, mm) in s {
                let (min, max) = (
                    mm["min"].as_f64().unwrap_or(f64::INFINITY),
                    mm["max"].as_f64().unwrap_or(f64::NEG_INFINITY),
                );
                let e = stats.entry(facet.clone()).or_insert((min, max));
                e.0 = e.0.min(min);
                e.1 = e.1.max(max);
            }
        }
    }
    let distribution: Map<String, Value> = distribution
        .into_iter()
        .map(|(facet, mut values)| {
            if by_count(&facet) {
                values.sort_by_key(|v| std::cmp::Reverse(v.1));
            } else {
                values.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if let Some(max) = max_values {
                values.truncate(max);
            }
            let values: Map<String, Value> =
                values.into_iter().map(|(v, c)| (v, json!(c))).collect();
            (facet, Value::Object(values))
        })
        .collect();
    let stats: Map<String, Value> = stats
        .into_iter()
        .map(|(facet, (min, max))| (facet, json!({"min": min, "max": max})))
        .collect();
    (Value::Object(distribution), Value::Object(stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_values_sort_and_cut() {
        let per_index = json!({
            "books": {"distribution": {"genre": {"fantasy": 4, "scifi": 2}}, "stats": {"year": {"min": 1937.0, "max": 1997.0}}},
            "movies": {"distribution": {"genre": {"Action": 2, "fantasy": 1}}, "stats": {"year": {"min": 2012.0, "max": 2017.0}}}
        });
        let (d, s) = merge(per_index.as_object().unwrap(), Some(2), |_| false);
        assert_eq!(d, json!({"genre": {"Action": 2, "fantasy": 5}}));
        assert_eq!(s, json!({"year": {"min": 1937.0, "max": 2017.0}}));
        let (d, _) = merge(per_index.as_object().unwrap(), None, |_| true);
        assert_eq!(
            d["genre"].as_object().unwrap().keys().next().unwrap(),
            "fantasy"
        );
    }
}
