//! Merging the nodes' answers to one sharded search into the answer one Meilisearch
//! holding every document gives.
//!
//! Each node answered for its own shards, ranked, from offset 0 to the end of the
//! client's page ([`super::node_query`]). The merge is the shape of Meilisearch's own
//! network search: a comparator ([`super::ranking`]), a k-way merge of the already
//! sorted lists, then paging applied once, in [`page`].
//!
//! Exact: hit order, up to hits one node ranks equal (it orders those by internal
//! document id, which no answer shows; here they follow node order); totals without
//! `distinct`; facet counts when every node's own cut (its `maxValuesPerFacet`) kept
//! every value; facet stats; the paging fields and their `maxTotalHits` cap.
//!
//! Not exact, and why:
//! - `distinct`: duplicates across nodes are dropped while merging, and each drop comes
//!   off the total and off the counts of the facets the dropped hit shows (named facets
//!   are retrieved for it; `*` patterns are not). Exact when every node sent all its
//!   candidates; otherwise a value may count once per node holding it (a node's own
//!   total with `distinct` is an estimate too). A `distinct` or facet attribute outside
//!   `displayedAttributes` never shows, so it cannot be deduplicated on. Facet strings
//!   are folded without Unicode decomposition.
//! - Rules reported only as `rank / maxRank` (proximity, attribute): a node derives the
//!   maximum from its own documents' query graph, so two nodes may scale one bucket
//!   differently; Meilisearch's network search shares this limit.
//! - Geo sort: one node groups points within 1 m of a bucket's first one; merged
//!   distances compare exactly.
//! - `matchingStrategy: "frequency"` drops words by each node's own word frequencies.
//! - Hybrid search: each node decides alone whether its keyword hits are good enough to
//!   skip the semantic search, and multi-rule groups split by a sort fold with the
//!   maxima the details give (exact for `words` and `typo`).
//! - Whether milli counted alphabetical facets document by document (up to 3000
//!   candidates: numbers ordered as text) is decided on the nodes' totals, which
//!   `maxTotalHits` caps; a capped total counts as more than 3000.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::answer::{bad_answer, NodeAnswer, Ranked};
use super::facets::{self, Candidates};
use super::fields;
use super::query::{Paging, SearchKind, SearchQuery};
use super::ranking::{compare_hybrid, compare_ranked};
use super::settings::MergeSettings;
use crate::error::{Code, MeiliError};
use crate::wire::strip_bookkeeping;

/// Whether `a` comes before `b`: better ranked, or tied and from an earlier node (the
/// order stays deterministic; a single node would order ties by internal id).
fn comes_first(kind: SearchKind, a: &Ranked, b: &Ranked) -> bool {
    let order = match kind {
        SearchKind::Ranked => compare_ranked(&a.key, &b.key),
        SearchKind::Hybrid { semantic_ratio } => compare_hybrid(&a.key, &b.key, semantic_ratio),
    };
    match order {
        Ordering::Greater => true,
        Ordering::Less => false,
        Ordering::Equal => (a.shard, a.position, a.node) < (b.shard, b.position, b.node),
    }
}

/// The merged, deduplicated ranking and what deduplication removed.
struct Merged {
    hits: Vec<Ranked>,
    /// Hits dropped by `distinct` (all of them, not only those before the page's end).
    rejected: Vec<Ranked>,
}

/// K-way merge of the nodes' sorted lists, keeping the first `wanted` hits. With
/// `distinct` the whole list is walked, so every duplicate is known for the totals.
fn merge_ranked(
    lists: Vec<Vec<Ranked>>,
    kind: SearchKind,
    distinct: Option<&str>,
    wanted: usize,
) -> Result<Merged, MeiliError> {
    // Each node ordered its tied hits by its own internal ids; order them by shard so
    // every list follows the merge's comparator.
    let lists: Vec<Vec<Ranked>> = lists
        .into_iter()
        .map(|mut list| {
            list.sort_by(|a, b| match (comes_first(kind, a, b), comes_first(kind, b, a)) {
                (true, _) => Ordering::Less,
                (_, true) => Ordering::Greater,
                _ => Ordering::Equal,
            });
            list
        })
        .collect();
    let merged = itertools::kmerge_by(lists, |a: &Ranked, b: &Ranked| comes_first(kind, a, b));
    let Some(distinct) = distinct else {
        return Ok(Merged { hits: merged.take(wanted).collect(), rejected: Vec::new() });
    };
    let mut seen = std::collections::HashSet::new();
    let (mut hits, mut rejected) = (Vec::new(), Vec::new());
    for mut ranked in merged {
        let values = fields::facet_values(ranked.hit.parsed()?, distinct);
        // As Meilisearch: a hit sharing any value with a kept hit is dropped; a hit
        // without the attribute is unique.
        if values.iter().any(|v| seen.contains(v)) {
            rejected.push(ranked);
            continue;
        }
        seen.extend(values);
        if hits.len() < wanted {
            hits.push(ranked);
        }
    }
    Ok(Merged { hits, rejected })
}

/// The client's page of the merged list: `skip` then `take`, with pinned hits put at
/// their positions first (milli's `merge_positioned_hits_into_page`: a pin past the
/// organic hits moves up to follow them).
fn page(organic: Vec<Ranked>, mut pins: Vec<Ranked>, skip: usize, take: usize) -> Vec<Ranked> {
    pins.sort_by_key(|p| p.key.pin.unwrap_or(0));
    let end = skip.saturating_add(take);
    let mut organic = organic.into_iter();
    let mut pins = pins.into_iter().peekable();
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < end {
        let pin_due = pins.peek().map(|p| p.key.pin.unwrap_or(0) <= at as u64);
        let next = match pin_due {
            Some(true) => pins.next(),
            Some(false) => organic.next().or_else(|| pins.next()),
            None => organic.next(),
        };
        let Some(hit) = next else { break };
        if at >= skip {
            out.push(hit);
        }
        at += 1;
    }
    out
}

/// What the client sees of a hit: no shard field, no attribute added for the merge,
/// ranking scores only if asked.
fn present_hit(mut hit: Map<String, Value>, query: &SearchQuery, added: &[String]) -> Value {
    if !query.shows_ranking_score() {
        hit.shift_remove("_rankingScore");
    }
    if !query.shows_ranking_score_details() {
        hit.shift_remove("_rankingScoreDetails");
    }
    strip_bookkeeping(&mut hit);
    if let Some(Value::Object(matches)) = hit.get_mut("_matchesPosition") {
        strip_bookkeeping(matches);
    }
    if let Some(Value::Object(formatted)) = hit.get_mut("_formatted") {
        strip_bookkeeping(formatted);
        for attr in added {
            fields::remove_path(formatted, attr);
        }
    }
    for attr in added {
        fields::remove_path(&mut hit, attr);
    }
    Value::Object(hit)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Merges the nodes' answers to the search `query` (each a node's 200 answer to its
/// [`super::node_query`]) into the client's answer.
pub fn merge(query: &SearchQuery, settings: &MergeSettings, answers: Vec<Value>) -> Result<Value, MeiliError> {
    let paging = paging_of(query)?;
    let nodes =
        answers.into_iter().enumerate().map(|(i, a)| NodeAnswer::from_value(i, a, paging)).collect::<Result<_, _>>()?;
    merge_nodes(query, settings, paging, nodes)
}

/// [`merge`] from the nodes' bodies to the client's body. Faster on deep pages: hits
/// outside the client's page are never fully parsed.
pub fn merge_json(query: &SearchQuery, settings: &MergeSettings, bodies: &[&[u8]]) -> Result<Vec<u8>, MeiliError> {
    let paging = paging_of(query)?;
    let nodes =
        bodies.iter().enumerate().map(|(i, b)| NodeAnswer::from_json(i, b, paging)).collect::<Result<_, _>>()?;
    let out = merge_nodes(query, settings, paging, nodes)?;
    serde_json::to_vec(&out).map_err(|e| MeiliError::new(Code::Internal, format!("Cannot write a merged answer: {e}")))
}

fn paging_of(query: &SearchQuery) -> Result<Paging, MeiliError> {
    query.paging().ok_or_else(|| bad_answer("for a query whose paging the gateway cannot read"))
}

fn merge_nodes(
    query: &SearchQuery,
    settings: &MergeSettings,
    paging: Paging,
    mut nodes: Vec<NodeAnswer>,
) -> Result<Value, MeiliError> {
    if nodes.is_empty() {
        return Err(MeiliError::new(Code::Internal, "A sharded search got no node answer to merge."));
    }
    let max = settings.max_total_hits;
    let (skip, take) = paging.window(max);
    let (skip, take) = (to_usize(skip), to_usize(take));
    let pins: Vec<Ranked> = nodes.iter_mut().flat_map(|n| std::mem::take(&mut n.pins)).collect();
    let wanted = skip.saturating_add(take);
    let lists: Vec<Vec<Ranked>> = nodes.iter_mut().map(|n| std::mem::take(&mut n.organic)).collect();
    let merged = merge_ranked(lists, query.kind(), query.distinct_attribute(settings), wanted)?;
    let hits = page(merged.hits, pins, skip, take);

    let node_totals: u64 = nodes.iter().fold(0u64, |sum, n| sum.saturating_add(n.total));
    // A node reports every candidate, past maxTotalHits too (checked on a real 1.50):
    // only the hits that can be reached are capped.
    let total = node_totals.saturating_sub(merged.rejected.len() as u64);
    let candidates = if nodes.iter().all(|n| n.total < max) {
        Candidates::Exact(node_totals)
    } else {
        Candidates::AtLeast(node_totals)
    };
    let semantic_hits = hits.iter().filter(|h| h.key.is_semantic()).count();
    let slowest = (0..nodes.len()).max_by_key(|&i| processing_time(&nodes[i].fields)).unwrap_or(0);

    let fields: Vec<&Map<String, Value>> = nodes.iter().map(|n| &n.fields).collect();
    let rejected: Vec<Map<String, Value>> =
        merged.rejected.into_iter().map(|r| r.hit.into_map()).collect::<Result<_, _>>()?;
    let rejected: Vec<&Map<String, Value>> = rejected.iter().collect();
    let facet_distribution = facets::merge_distributions(&fields, settings, candidates, &rejected);
    let facet_stats = facets::merge_stats(&fields);

    let added = query.added_attributes(settings);
    let hits: Vec<Value> = hits
        .into_iter()
        .map(|r| Ok(present_hit(r.hit.into_map()?, query, &added)))
        .collect::<Result<_, MeiliError>>()?;

    let mut out = Map::new();
    out.insert("hits".into(), Value::Array(hits));
    for (name, value) in &nodes[0].fields {
        let merged = match name.as_str() {
            "query" => Value::String(query.q().to_string()),
            "processingTimeMs" => processing_time(&nodes[slowest].fields).into(),
            "performanceDetails" => nodes[slowest].fields.get(name).cloned().unwrap_or(Value::Null),
            "facetDistribution" => facet_distribution.clone().unwrap_or(Value::Null),
            "facetStats" => facet_stats.clone().unwrap_or(Value::Null),
            "semanticHitCount" => semantic_hits.into(),
            "limit" | "offset" | "estimatedTotalHits" | "hitsPerPage" | "page" | "totalPages" | "totalHits" => {
                continue; // written below, in Meilisearch's order
            }
            _ => value.clone(),
        };
        out.insert(name.clone(), merged);
        if name == "processingTimeMs" {
            insert_paging(&mut out, paging, total);
        }
    }
    if !out.contains_key("processingTimeMs") {
        insert_paging(&mut out, paging, total);
    }
    Ok(Value::Object(out))
}

fn processing_time(fields: &Map<String, Value>) -> u64 {
    fields.get("processingTimeMs").and_then(Value::as_u64).unwrap_or(0)
}

/// The paging fields as one node writes them: `limit` and `offset` as asked.
fn insert_paging(out: &mut Map<String, Value>, paging: Paging, total: u64) {
    match paging {
        Paging::OffsetLimit { offset, limit } => {
            out.insert("limit".into(), limit.into());
            out.insert("offset".into(), offset.into());
            out.insert("estimatedTotalHits".into(), total.into());
        }
        Paging::Pages { page, hits_per_page } => {
            let total_pages = total.div_ceil(hits_per_page.max(1)) * u64::from(hits_per_page > 0);
            out.insert("hitsPerPage".into(), hits_per_page.into());
            out.insert("page".into(), page.into());
            out.insert("totalPages".into(), total_pages.into());
            out.insert("totalHits".into(), total.into());
        }
    }
}

#[cfg(test)]
mod tests;
