//! Facet counts across nodes: `facetDistribution` and `facetStats` of a search, and
//! the answer of a facet search.
//!
//! Counts sum per value; the sum is then ordered and cut as one node orders and cuts
//! its own (milli's `FacetDistribution`): numbers before strings, each group ordered
//! by the facet's `sortFacetValuesBy`, the cut at `maxValuesPerFacet` shared by both
//! groups. A value is keyed as Meilisearch's facet databases key it (strings trimmed
//! and lowercased), so `"Blue"` on one node and `"blue "` on another are one value;
//! the spelling shown is the first node's.
//!
//! The sums are exact when no node cut a value of the union that could make the
//! client's cut: nodes should keep a larger `maxValuesPerFacet` than the client sees.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::fields::{self, FacetKey};
use super::settings::{FacetOrder, MergeSettings};
use crate::error::{Code, MeiliError};
use crate::wire::is_bookkeeping;

/// Up to this many candidates, milli counts alphabetically ordered facets document by
/// document, ordering numbers by their text; above it, by facet levels, numerically.
pub(super) const CANDIDATES_THRESHOLD: u64 = 3000;

/// How many documents matched, as far as the nodes' capped totals tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    Exact(u64),
    AtLeast(u64),
}

/// One facet value summed over nodes.
struct Entry {
    shown: String,
    count: u64,
    number: Option<f64>,
}

/// Rust's `f64` display is what milli writes numeric facet values with; a key that
/// reads back to itself was a number (when the facet has numbers at all).
fn as_number(key: &str) -> Option<f64> {
    let n: f64 = key.parse().ok()?;
    (n.is_finite() && n.to_string() == key).then_some(n)
}

/// Sums one facet's counts over the nodes' distributions.
fn sum_facet(dists: &[&Map<String, Value>], has_numbers: bool) -> (Vec<Entry>, HashMap<FacetKey, usize>) {
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<FacetKey, usize> = HashMap::new();
    // Nodes mostly spell a value alike: an exact spelling seen before skips normalizing.
    let mut spelled: HashMap<&str, usize> = HashMap::new();
    for dist in dists {
        for (shown, count) in *dist {
            let count = count.as_u64().unwrap_or(0);
            if let Some(&i) = spelled.get(shown.as_str()) {
                entries[i].count = entries[i].count.saturating_add(count);
                continue;
            }
            let number = if has_numbers { as_number(shown) } else { None };
            let key = number.map_or_else(|| FacetKey::text(shown), FacetKey::number);
            let i = match index.get(&key) {
                Some(&i) => {
                    entries[i].count = entries[i].count.saturating_add(count);
                    i
                }
                None => {
                    index.insert(key, entries.len());
                    entries.push(Entry { shown: shown.clone(), count, number });
                    entries.len() - 1
                }
            };
            spelled.insert(shown, i);
        }
    }
    (entries, index)
}

fn text_key(e: &Entry) -> String {
    e.shown.trim().to_lowercase()
}

/// Orders and cuts one facet's values as milli does for this order and path.
fn order_and_cut(entries: Vec<Entry>, order: FacetOrder, by_documents: bool, max: u64) -> Vec<Entry> {
    let (mut numbers, mut strings): (Vec<Entry>, Vec<Entry>) = entries.into_iter().partition(|e| e.number.is_some());
    let num = |e: &Entry| e.number.unwrap_or(0.0);
    match order {
        FacetOrder::Alpha if by_documents => {
            numbers.sort_by(|a, b| a.shown.cmp(&b.shown));
        }
        FacetOrder::Alpha => numbers.sort_by(|a, b| num(a).partial_cmp(&num(b)).unwrap_or(Ordering::Equal)),
        // Count ties go to the greater value first (milli pops a max-heap of
        // `(count, level, value)`).
        FacetOrder::Count => numbers
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| num(b).partial_cmp(&num(a)).unwrap_or(Ordering::Equal))),
    }
    match order {
        FacetOrder::Alpha => strings.sort_by_cached_key(text_key),
        FacetOrder::Count => {
            strings.sort_by_cached_key(|e| (std::cmp::Reverse(e.count), std::cmp::Reverse(text_key(e))))
        }
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let (keep_numbers, keep_strings) = if by_documents && order == FacetOrder::Alpha {
        let n = numbers.len().min(max);
        (n, strings.len().min(max - n))
    } else {
        // Facet levels stop once the list holds exactly `max` values, checked after each
        // insert: numbers that fill it (or `max` 0) let every string through.
        let n = if max == 0 { numbers.len() } else { numbers.len().min(max) };
        let s = if n >= max { strings.len() } else { strings.len().min(max - n) };
        (n, s)
    };
    numbers.truncate(keep_numbers);
    strings.truncate(keep_strings);
    numbers.extend(strings);
    numbers
}

/// Takes off what hits dropped by `distinct` counted, once per hit and value.
fn remove_rejected(
    entries: &mut [Entry],
    index: &HashMap<FacetKey, usize>,
    facet: &str,
    rejected: &[&Map<String, Value>],
) {
    for hit in rejected {
        let mut values = fields::facet_values(hit, facet);
        values.sort();
        values.dedup();
        for value in values {
            if let Some(&i) = index.get(&value) {
                entries[i].count = entries[i].count.saturating_sub(1);
            }
        }
    }
}

/// Sorted facet names present in any node's `field`, Miroir's bookkeeping fields left out.
fn facet_names<'a>(answers: &[&'a Map<String, Value>], field: &str) -> Option<Vec<&'a String>> {
    let maps: Vec<&Map<String, Value>> = answers.iter().filter_map(|a| a.get(field)?.as_object()).collect();
    if maps.is_empty() {
        return None;
    }
    let mut names: Vec<&String> = maps.iter().flat_map(|m| m.keys()).filter(|k| !is_bookkeeping(k)).collect();
    names.sort();
    names.dedup();
    Some(names)
}

/// The merged `facetDistribution`, or `None` when no node sent one (no `facets` asked).
pub fn merge_distributions(
    answers: &[&Map<String, Value>],
    settings: &MergeSettings,
    candidates: Candidates,
    rejected: &[&Map<String, Value>],
) -> Option<Value> {
    let names = facet_names(answers, "facetDistribution")?;
    let by_documents = matches!(candidates, Candidates::Exact(n) if n <= CANDIDATES_THRESHOLD);
    let mut out = Map::new();
    for name in names {
        let dists: Vec<&Map<String, Value>> =
            answers.iter().filter_map(|a| a.get("facetDistribution")?.get(name)?.as_object()).collect();
        let has_numbers = answers.iter().any(|a| a.get("facetStats").and_then(|s| s.get(name)).is_some());
        let (mut entries, index) = sum_facet(&dists, has_numbers);
        remove_rejected(&mut entries, &index, name, rejected);
        entries.retain(|e| e.count > 0);
        let kept = order_and_cut(entries, settings.facet_order(name), by_documents, settings.max_values_per_facet);
        let values: Map<String, Value> = kept.into_iter().map(|e| (e.shown, e.count.into())).collect();
        out.insert(name.clone(), Value::Object(values));
    }
    Some(Value::Object(out))
}

/// The merged `facetStats`: the least `min` and the greatest `max` per facet.
pub fn merge_stats(answers: &[&Map<String, Value>]) -> Option<Value> {
    let names = facet_names(answers, "facetStats")?;
    let mut out = Map::new();
    for name in names {
        let stats: Vec<&Map<String, Value>> =
            answers.iter().filter_map(|a| a.get("facetStats")?.get(name)?.as_object()).collect();
        let pick = |field: &str, better: Ordering| {
            stats
                .iter()
                .filter_map(|s| s.get(field).filter(|v| v.is_number()))
                .reduce(|best, v| {
                    let (b, x) = (best.as_f64().unwrap_or(0.0), v.as_f64().unwrap_or(0.0));
                    if x.partial_cmp(&b) == Some(better) {
                        v
                    } else {
                        best
                    }
                })
                .cloned()
        };
        if let (Some(min), Some(max)) = (pick("min", Ordering::Less), pick("max", Ordering::Greater)) {
            let mut stat = Map::new();
            stat.insert("min".into(), min);
            stat.insert("max".into(), max);
            out.insert(name.clone(), Value::Object(stat));
        }
    }
    Some(Value::Object(out))
}

fn bad_answer(what: &str) -> MeiliError {
    MeiliError::new(Code::Internal, format!("A node answered a sharded facet search {what}."))
}

/// Merges the nodes' answers to `POST /indexes/{uid}/facet-search` (each a node's 200
/// answer to its [`super::node_facet_search_query`]) into the client's answer.
///
/// Counts sum per value, then as milli's facet search: alphabetical (by normalized
/// value) or by count (most first, ties to the greater value), cut at
/// `maxValuesPerFacet`.
pub fn merge_facet_search(request: &Value, settings: &MergeSettings, answers: Vec<Value>) -> Result<Value, MeiliError> {
    let facet = request.get("facetName").and_then(Value::as_str).unwrap_or("");
    let Some(first) = answers.first().and_then(Value::as_object) else {
        return Err(MeiliError::new(Code::Internal, "A sharded facet search got no node answer to merge."));
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<FacetKey, usize> = HashMap::new();
    let mut time = 0u64;
    for answer in &answers {
        let hits =
            answer.get("facetHits").and_then(Value::as_array).ok_or_else(|| bad_answer("without `facetHits`"))?;
        time = time.max(answer.get("processingTimeMs").and_then(Value::as_u64).unwrap_or(0));
        for hit in hits {
            let (Some(shown), Some(count)) =
                (hit.get("value").and_then(Value::as_str), hit.get("count").and_then(Value::as_u64))
            else {
                return Err(bad_answer("with a facet hit lacking `value` or `count`"));
            };
            match index.get(&FacetKey::text(shown)) {
                Some(&i) => entries[i].count = entries[i].count.saturating_add(count),
                None => {
                    index.insert(FacetKey::text(shown), entries.len());
                    entries.push(Entry { shown: shown.to_string(), count, number: None });
                }
            }
        }
    }
    match settings.facet_order(facet) {
        FacetOrder::Alpha => entries.sort_by_cached_key(|e| (text_key(e), e.shown.clone())),
        FacetOrder::Count => entries.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| b.shown.cmp(&a.shown))),
    }
    entries.truncate(usize::try_from(settings.max_values_per_facet).unwrap_or(usize::MAX));

    let hits: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let mut hit = Map::new();
            hit.insert("value".into(), e.shown.into());
            hit.insert("count".into(), e.count.into());
            Value::Object(hit)
        })
        .collect();
    let mut out = Map::new();
    out.insert("facetHits".into(), Value::Array(hits));
    for (name, value) in first {
        match name.as_str() {
            "facetHits" => {}
            "facetQuery" => {
                out.insert(name.clone(), request.get("facetQuery").cloned().unwrap_or(Value::Null));
            }
            "processingTimeMs" => {
                out.insert(name.clone(), time.into());
            }
            _ => {
                out.insert(name.clone(), value.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests;
