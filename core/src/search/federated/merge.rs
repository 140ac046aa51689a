//! Merging the nodes' answers to a federated multi-search.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::request::FederatedRequest;
use super::weighted;
use crate::error::MeiliError;
use crate::search::answer::{bad_answer, NodeAnswer, Ranked};
use crate::search::facets::{self, Candidates, CANDIDATES_THRESHOLD};
use crate::search::fields;
use crate::search::merge::{insert_paging, merge_ranked, page, processing_time, Answer};
use crate::search::present::present;
use crate::search::{FacetOrder, MergeSettings};

/// One node's answer and, by the position the node gave each query, the client's.
pub struct NodeReply<'a> {
    pub body: &'a [u8],
    pub queries: &'a [usize],
}

/// The merged answer, or `Relay` when one Meilisearch would refuse the request in a way
/// no node could see (facet orders that disagree across indexes with `mergeFacets`):
/// the flow then lets one node answer the client's request as sent.
#[derive(Debug)]
pub enum FederatedMerge {
    Answer(Vec<u8>),
    Relay,
}

/// A hit with its query's weight, for comparisons across queries.
struct Weighed {
    ranked: Ranked,
    weight: f64,
}

/// Meilisearch's kmerge predicate across queries: better weighted values first, then
/// the earlier query.
fn comes_first(a: &Weighed, b: &Weighed) -> bool {
    match weighted::compare(a.ranked.key(), a.weight, b.ranked.key(), b.weight) {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => a.ranked.query < b.ranked.query,
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Merges the nodes' answers (each a 200 to its [`FederatedRequest::node_body`]) into
/// the client's answer. `settings` gives each searched index's merge settings.
pub fn merge_federated(
    request: &FederatedRequest,
    settings: &BTreeMap<String, MergeSettings>,
    replies: &[NodeReply<'_>],
) -> Result<FederatedMerge, MeiliError> {
    let paging = request.paging;
    let setting = |index: &str| settings.get(index).cloned().unwrap_or_default();
    let (skip, take) = paging.window(u64::MAX);
    let (skip, take) = (to_usize(skip), to_usize(take));
    let required = skip.saturating_add(take);

    // Every node's hits, by the client's query.
    let mut nodes = Vec::with_capacity(replies.len());
    let mut per_query: Vec<Vec<Vec<Ranked>>> = request.queries.iter().map(|_| Vec::new()).collect();
    let mut pins: Vec<Ranked> = Vec::new();
    for (n, reply) in replies.iter().enumerate() {
        let mut answer = NodeAnswer::from_json(n, reply.body, paging, true)?;
        let mut lists: Vec<Vec<Ranked>> = request.queries.iter().map(|_| Vec::new()).collect();
        let client_query = |local: usize| reply.queries.get(local).copied().ok_or_else(|| bad_answer("with a hit of a query it was not sent"));
        for mut hit in std::mem::take(&mut answer.organic) {
            hit.query = client_query(hit.query)?;
            lists[hit.query].push(hit);
        }
        for mut hit in std::mem::take(&mut answer.pins) {
            hit.query = client_query(hit.query)?;
            pins.push(hit);
        }
        for (q, list) in lists.into_iter().enumerate() {
            per_query[q].push(list);
        }
        nodes.push(answer);
    }

    // Per query: the nodes' lists merged as one search (its own `distinct` across nodes).
    let mut rejected: BTreeMap<String, Vec<Ranked>> = BTreeMap::new();
    let mut by_index: BTreeMap<&str, Vec<Vec<Weighed>>> = BTreeMap::new();
    for (q, lists) in per_query.into_iter().enumerate() {
        let query = &request.queries[q];
        let index_settings = setting(&query.index);
        let distinct = request.distinct.as_deref().or(query.search.distinct_attribute(&index_settings));
        // With `distinct`, the index's own deduplication comes before its cut.
        let cap = match distinct {
            Some(_) => usize::MAX,
            None => required.min(to_usize(index_settings.max_total_hits)),
        };
        let merged = merge_ranked(lists, query.search.kind(), distinct, cap)?;
        rejected.entry(query.index.clone()).or_default().extend(merged.rejected);
        let list = merged.hits.into_iter().map(|ranked| Weighed { ranked, weight: query.weight }).collect();
        by_index.entry(&query.index).or_default().push(list);
    }

    // Per index: its queries merged on weighted scores, deduplicated with
    // `federation.distinct`, then cut at its `maxTotalHits`.
    let mut index_lists: Vec<Vec<Weighed>> = Vec::with_capacity(by_index.len());
    for (index, lists) in by_index {
        let cap = required.min(to_usize(setting(index).max_total_hits));
        let mut seen = HashSet::new();
        let mut kept = Vec::new();
        for mut hit in itertools::kmerge_by(lists, comes_first) {
            if kept.len() >= cap && request.distinct.is_none() {
                break;
            }
            if let Some(distinct) = &request.distinct {
                let values = fields::facet_values(hit.ranked.hit.parsed()?, distinct);
                if values.iter().any(|v| seen.contains(v)) {
                    rejected.entry(index.to_string()).or_default().push(hit.ranked);
                    continue;
                }
                seen.extend(values);
            }
            if kept.len() < cap {
                kept.push(hit);
            }
        }
        index_lists.push(kept);
    }

    // Across indexes, with `federation.distinct`.
    let mut seen = HashSet::new();
    let mut organic = Vec::new();
    for mut hit in itertools::kmerge_by(index_lists, comes_first) {
        if let Some(distinct) = &request.distinct {
            let values = fields::facet_values(hit.ranked.hit.parsed()?, distinct);
            if values.iter().any(|v| seen.contains(v)) {
                let index = request.queries[hit.ranked.query].index.clone();
                rejected.entry(index).or_default().push(hit.ranked);
                continue;
            }
            seen.extend(values);
        } else if organic.len() >= required {
            break;
        }
        if organic.len() < required {
            organic.push(hit.ranked);
        }
    }
    let hits = page(organic, pins, skip, take);

    let rejected_count = rejected.values().map(Vec::len).sum::<usize>() as u64;
    let node_totals = nodes.iter().fold(0u64, |sum, n| sum.saturating_add(n.total));
    let total = node_totals.saturating_sub(rejected_count);
    for hit in &hits {
        hit.check_key()?;
    }
    let semantic_hits = hits.iter().filter(|h| h.key().is_semantic()).count();

    let mut rejected_maps: BTreeMap<String, Vec<Map<String, Value>>> = BTreeMap::new();
    for (index, hits) in rejected {
        let maps = hits.into_iter().map(|r| r.hit.into_map()).collect::<Result<_, _>>()?;
        rejected_maps.insert(index, maps);
    }
    let candidates = if node_totals <= CANDIDATES_THRESHOLD { Candidates::Exact(node_totals) } else { Candidates::AtLeast(node_totals) };
    let facets_by_index = merge_facets_by_index(&nodes, &setting, candidates, &rejected_maps);

    let mut shown = Vec::with_capacity(hits.len());
    for ranked in hits {
        let query = &request.queries[ranked.query];
        let added = request.added_attributes(ranked.query, &setting(&query.index));
        shown.push(present(ranked.hit, &query.search, &added, Some(ranked.query))?);
    }

    let mut out = Map::new();
    out.insert("hits".into(), Value::Null);
    let slowest = (0..nodes.len()).max_by_key(|&i| processing_time(&nodes[i].fields));
    let time = slowest.map_or(0, |i| processing_time(&nodes[i].fields));
    out.insert("processingTimeMs".into(), time.into());
    insert_paging(&mut out, paging, total);
    match request.merge_facets {
        Some(max) => {
            let Some(merged) = merge_across_indexes(&facets_by_index, &setting, max) else {
                return Ok(FederatedMerge::Relay);
            };
            if let Some((distribution, stats)) = merged {
                out.insert("facetDistribution".into(), distribution);
                out.insert("facetStats".into(), stats);
            }
        }
        None if !facets_by_index.is_empty() => {
            out.insert("facetsByIndex".into(), Value::Object(facets_by_index));
        }
        None => {}
    }
    let first_field = |name: &str| nodes.iter().find_map(|n| n.fields.get(name).cloned());
    if let Some(uid) = first_field("requestUid") {
        out.insert("requestUid".into(), uid);
    }
    if first_field("semanticHitCount").is_some() {
        out.insert("semanticHitCount".into(), semantic_hits.into());
    }
    if let Some(details) = slowest.and_then(|i| nodes[i].fields.get("performanceDetails").cloned()) {
        out.insert("performanceDetails".into(), details);
    }
    let body = Answer { hits: shown, fields: out }.into_bytes()?;
    Ok(FederatedMerge::Answer(body))
}

/// `facetsByIndex`: per index, the nodes' distributions summed and cut as one node
/// holding the index cuts them, stats by min/max.
fn merge_facets_by_index(
    nodes: &[NodeAnswer],
    setting: &dyn Fn(&str) -> MergeSettings,
    candidates: Candidates,
    rejected: &BTreeMap<String, Vec<Map<String, Value>>>,
) -> Map<String, Value> {
    let mut per_index: BTreeMap<&str, Vec<Map<String, Value>>> = BTreeMap::new();
    for node in nodes {
        let Some(Value::Object(by_index)) = node.fields.get("facetsByIndex") else { continue };
        for (index, facets) in by_index {
            let mut answer = Map::new();
            answer.insert("facetDistribution".into(), facets.get("distribution").cloned().unwrap_or(Value::Object(Map::new())));
            answer.insert("facetStats".into(), facets.get("stats").cloned().unwrap_or(Value::Object(Map::new())));
            per_index.entry(index).or_default().push(answer);
        }
    }
    let mut out = Map::new();
    for (index, answers) in per_index {
        let refs: Vec<&Map<String, Value>> = answers.iter().collect();
        let dropped: Vec<&Map<String, Value>> = rejected.get(index).map(|r| r.iter().collect()).unwrap_or_default();
        let empty = || Value::Object(Map::new());
        let distribution = facets::merge_distributions(&refs, &setting(index), candidates, &dropped).unwrap_or_else(empty);
        let stats = facets::merge_stats(&refs).unwrap_or_else(empty);
        let mut facets = Map::new();
        facets.insert("distribution".into(), distribution);
        facets.insert("stats".into(), stats);
        out.insert(index.to_string(), Value::Object(facets));
    }
    out
}

/// `mergeFacets` (`FederatedFacets::merge`): every index's facets summed by value,
/// ordered by the facet's order, cut at `max` when given. `None` when two indexes order
/// a facet differently (Meilisearch refuses that); `Some(None)` when no index has facets.
#[allow(clippy::type_complexity)]
fn merge_across_indexes(
    by_index: &Map<String, Value>,
    setting: &dyn Fn(&str) -> MergeSettings,
    max: Option<u64>,
) -> Option<Option<(Value, Value)>> {
    if by_index.is_empty() {
        return Some(None);
    }
    let mut orders: BTreeMap<&str, FacetOrder> = BTreeMap::new();
    let mut distribution: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    let mut stats: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for (index, facets) in by_index {
        let settings = setting(index);
        for (facet, values) in facets.get("distribution").and_then(Value::as_object).into_iter().flatten() {
            let order = settings.facet_order(facet);
            if *orders.entry(facet).or_insert(order) != order {
                return None;
            }
            let entry = distribution.entry(facet).or_default();
            for (value, count) in values.as_object().into_iter().flatten() {
                let count = count.as_u64().unwrap_or(0);
                match entry.iter_mut().find(|(v, _)| v == value) {
                    Some((_, c)) => *c += count,
                    None => entry.push((value, count)),
                }
            }
        }
        for (facet, stat) in facets.get("stats").and_then(Value::as_object).into_iter().flatten() {
            let (Some(min), Some(max)) = (stat.get("min").and_then(Value::as_f64), stat.get("max").and_then(Value::as_f64)) else { continue };
            let e = stats.entry(facet).or_insert((min, max));
            *e = (e.0.min(min), e.1.max(max));
        }
    }
    let mut dist_out = Map::new();
    for (facet, mut values) in distribution {
        match orders.get(facet).copied().unwrap_or_default() {
            FacetOrder::Alpha => values.sort_by(|a, b| a.0.cmp(b.0)),
            FacetOrder::Count => values.sort_by_key(|v| std::cmp::Reverse(v.1)),
        }
        if let Some(max) = max {
            values.truncate(to_usize(max));
        }
        dist_out.insert(facet.to_string(), Value::Object(values.into_iter().map(|(v, c)| (v.to_string(), c.into())).collect()));
    }
    let mut stats_out = Map::new();
    for (facet, (min, max)) in stats {
        let mut stat = Map::new();
        stat.insert("min".into(), min.into());
        stat.insert("max".into(), max.into());
        stats_out.insert(facet.to_string(), Value::Object(stat));
    }
    Some(Some((Value::Object(dist_out), Value::Object(stats_out))))
}
