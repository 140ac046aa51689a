//! `POST /indexes/{uid}/facet-search`: the values of one facet among the
//! documents a search (`q`, `filter`, `matchingStrategy`,
//! `attributesToSearchOn`) matches, like milli's `SearchForFacetValues`:
//! string values only; with `facetQuery`, values whose normalized form
//! starts with the normalized query, with the index's typo budget; ordered by
//! value or, when the facet is sorted by count, by count then value (both
//! descending); at most `maxValuesPerFacet`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::error::{ApiError, ApiResult, Code};
use crate::filter::{self, values_at};
use crate::indexes::validate_uid;
use crate::params::json_object;
use crate::search::query::{opt_string, strategy_from};
use crate::search::{prepare, rank, SearchQuery, Strategy};
use crate::store::Index;
use crate::AppState;

/// The search part of a facet search.
fn parse(obj: &Map<String, Value>) -> ApiResult<(String, Option<String>, SearchQuery)> {
    let facet_query = opt_string(obj, "facetQuery", Code::Other("invalid_facet_search_query"))?;
    let facet_name = match obj.get("facetName") {
        None => {
            return Err(ApiError::new(
                Code::Other("missing_facet_search_facet_name"),
                "Missing field `facetName`",
            ))
        }
        Some(_) => opt_string(
            obj,
            "facetName",
            Code::Other("invalid_facet_search_facet_name"),
        )?
        .unwrap_or_default(),
    };
    // the search fields facet search accepts, validated as search does
    let mut search = Map::new();
    for key in [
        "q",
        "filter",
        "attributesToSearchOn",
        "rankingScoreThreshold",
        "locales",
    ] {
        if let Some(v) = obj.get(key) {
            search.insert(key.into(), v.clone());
        }
    }
    let mut query = SearchQuery::from_body(&search)?;
    query.strategy = match obj.get("matchingStrategy") {
        None | Some(Value::Null) => Strategy::Last,
        Some(Value::String(s)) => strategy_from(s, " at `.matchingStrategy`")?,
        Some(v) => {
            return Err(crate::params::invalid_type(
                ".matchingStrategy",
                "a string",
                v,
                Code::InvalidSearchMatchingStrategy,
            ))
        }
    };
    Ok((facet_name, facet_query, query))
}

/// Optimal-string-alignment distance from `query` to the closest prefix of `value`.
fn prefix_distance(query: &[char], value: &[char]) -> usize {
    let (n, m) = (query.len(), value.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(query[i - 1] != value[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && query[i - 1] == value[j - 2] && query[i - 2] == value[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    (0..=m).map(|j| d[n][j]).min().unwrap_or(n)
}

/// Whether a normalized facet value answers a normalized facet query.
fn value_matches(value: &str, query: &str, index: &Index) -> bool {
    if !index.settings.typo_enabled() {
        return value.starts_with(query);
    }
    let (one, two) = index.settings.typo_word_sizes();
    let budget = match query.len() {
        l if l < one => 0,
        l if l < two => 1,
        _ => 2,
    };
    let q: Vec<char> = query.chars().collect();
    let v: Vec<char> = value.chars().collect();
    prefix_distance(&q, &v) <= budget
}

fn run(
    index: &Index,
    facet_name: &str,
    facet_query: Option<String>,
    query: &SearchQuery,
    started: Instant,
) -> ApiResult<Value> {
    let settings = &index.settings;
    if settings.get("facetSearch").as_bool() == Some(false) {
        return Err(ApiError::new(
            Code::Other("facet_search_disabled"),
            "The facet search is disabled for this index",
        ));
    }
    // the filter is reported with its own positions and no index name here
    if let Some(v) = &query.filter {
        if let Some(f) =
            filter::parse_value(v).map_err(|e| ApiError::new(Code::InvalidSearchFilter, e))?
        {
            f.check_filterable(settings)
                .map_err(|e| ApiError::new(Code::InvalidSearchFilter, e))?;
        }
    }
    let plan = prepare::plan(index, query)?;
    let ranked = rank::rank(index, query, &plan);
    if !settings.is_filterable(facet_name) {
        let patterns = settings.filterable_patterns();
        let tail = if patterns.is_empty() {
            "This index does not have configured facet-searchable attributes.".to_string()
        } else {
            format!(
                "Available facet-searchable attributes patterns are: `{}`.",
                patterns.join(", ")
            )
        };
        return Err(ApiError::new(
            Code::Other("invalid_facet_search_facet_name"),
            format!("Attribute `{facet_name}` is not facet-searchable. {tail} To make it facet-searchable add it to the `filterableAttributes` index settings."),
        ));
    }
    // normalized value → (original of the smallest internal id, count)
    let mut hits: Vec<(u32, &crate::payload::Document)> =
        ranked.hits.iter().map(|(s, d)| (s.internal, *d)).collect();
    hits.sort_by_key(|(i, _)| *i);
    let mut values: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for (_, doc) in &hits {
        let mut seen = std::collections::HashSet::new();
        let mut strings = Vec::new();
        for v in values_at(doc, facet_name) {
            collect_strings(v, &mut strings);
        }
        for original in strings {
            let norm = filter::normalize(&original);
            if seen.insert(norm.clone()) {
                values
                    .entry(norm)
                    .or_insert((original.trim().to_string(), 0))
                    .1 += 1;
            }
        }
    }
    let normalized_query = facet_query.as_deref().map(filter::normalize);
    let mut found: Vec<(String, u64)> = values
        .into_iter()
        .filter(|(norm, _)| {
            normalized_query
                .as_deref()
                .is_none_or(|q| value_matches(norm, q, index))
        })
        .map(|(_, v)| v)
        .collect();
    let max = settings.max_values_per_facet();
    if settings.sort_facet_values_by(facet_name) == "count" {
        found = top_by_count(found, max);
    } else {
        found.truncate(max);
    }
    let facet_hits: Vec<Value> = found
        .into_iter()
        .map(|(value, count)| json!({"value": value, "count": count}))
        .collect();
    Ok(json!({
        "facetHits": facet_hits,
        "facetQuery": facet_query,
        "processingTimeMs": started.elapsed().as_millis() as u64,
    }))
}

/// milli's `ValuesCollection::by_count`: a heap of at most `max` values
/// fed in value order, where a value replaces the smallest (count, then
/// value) when its count is at least as big; then sorted by count and
/// value, descending.
fn top_by_count(values: Vec<(String, u64)>, max: usize) -> Vec<(String, u64)> {
    let mut kept: Vec<(String, u64)> = Vec::new();
    for v in values {
        if kept.len() < max {
            kept.push(v);
            continue;
        }
        let smallest = kept
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
            .map(|(i, _)| i);
        if let Some(i) = smallest {
            if kept[i].1 <= v.1 {
                kept[i] = v;
            }
        }
    }
    kept.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    kept
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

/// `POST /indexes/{uid}/facet-search`
pub async fn facet_search(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    access: Option<Extension<Access>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    validate_uid(&uid)?;
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    let (facet_name, facet_query, mut query) = parse(&obj)?;
    query.filter = access.fuse(&uid, query.filter.take());
    let db = state.lock()?;
    let index = db
        .indexes
        .get(&uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.clone()))?;
    run(index, &facet_name, facet_query, &query, started).map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_order_keeps_the_later_value_on_ties_like_milli() {
        let v = |s: &[(&str, u64)]| {
            s.iter()
                .map(|(a, c)| (a.to_string(), *c))
                .collect::<Vec<_>>()
        };
        // fed in normalized order: alpha, beta, delta, gamma
        let got = top_by_count(
            v(&[("Alpha", 2), ("beta", 1), ("delta", 1), ("Gamma", 1)]),
            3,
        );
        assert_eq!(got, v(&[("Alpha", 2), ("delta", 1), ("Gamma", 1)]));
    }

    #[test]
    fn prefix_distance_counts_edits_to_the_closest_prefix() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(prefix_distance(&c("fan"), &c("fantasy")), 0);
        assert_eq!(prefix_distance(&c("scfi"), &c("scifi")), 1);
        assert_eq!(prefix_distance(&c("fnatasy"), &c("fantasy")), 1);
        assert_eq!(prefix_distance(&c("xyz"), &c("fantasy")), 3);
    }
}
