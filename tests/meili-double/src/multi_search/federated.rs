//! Federated search (`federation` in `POST /multi-search`), following
//! Meilisearch's `perform_federated_search`: queries are grouped by index
//! (indexes in uid order), each query is ranked, the queries of one index
//! are merged by weighted score (a document appears once), then the indexes'
//! lists are merged the same way; ties go to the earlier query. Facets come
//! per index (`facetsByIndex`) or merged (`mergeFacets`).

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::filter::{self, facets as facet_values, values_at};
use crate::search::facets::check_facets;
use crate::search::prepare::{plan, Plan};
use crate::search::rank::{rank, Ranked};
use crate::search::render::{facets_of, HitMaker};
use crate::search::request_uid;
use crate::store::{Db, Index};
use crate::weighted::{self, Weighted};

use super::compat::{check, Query, Rules};
use super::facets::merge;
use super::request::{Federation, IndexQuery};

fn inside(i: usize) -> String {
    format!("Inside `.queries[{i}]`: ")
}

/// One query, ranked.
struct Run<'i> {
    index: &'i Index,
    position: usize,
    weight: f64,
    plan: Plan,
    ranked: Ranked<'i>,
}

/// One hit while merging.
struct Item {
    run: usize,
    hit: usize,
    position: usize,
    values: Vec<Weighted>,
    global: f64,
}

/// Whether `a` goes before `b` (Meilisearch: the bigger weighted score, ties
/// to the earlier query).
fn before(a: &Item, b: &Item) -> bool {
    match weighted::compare(&a.values, a.global, &b.values, b.global) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => a.position < b.position,
        std::cmp::Ordering::Less => false,
    }
}

/// Merges lists each already in order, taking the best head each time.
fn kmerge(lists: Vec<Vec<Item>>) -> Vec<Item> {
    let mut iters: Vec<std::collections::VecDeque<Item>> =
        lists.into_iter().map(Into::into).collect();
    let mut out = Vec::new();
    loop {
        let mut best: Option<usize> = None;
        for i in 0..iters.len() {
            let Some(head) = iters[i].front() else {
                continue;
            };
            let better = match best.and_then(|b| iters[b].front()) {
                None => true,
                Some(current) => before(head, current),
            };
            if better {
                best = Some(i);
            }
        }
        match best.and_then(|b| iters[b].pop_front()) {
            Some(item) => out.push(item),
            None => return out,
        }
    }
}

/// The values of the distinct attribute of a document, as one key.
fn distinct_key(doc: &crate::payload::Document, field: &str) -> Vec<String> {
    facet_values(&values_at(doc, field))
        .iter()
        .map(|v| format!("{v:?}"))
        .collect()
}

/// Checks the queries like Meilisearch's partitioning: no paging, facets or
/// performance details per query, no `distinct` both per query and in the
/// federation. Returns the query positions grouped by index uid.
fn partition(queries: &[IndexQuery], fed: &Federation) -> ApiResult<BTreeMap<String, Vec<usize>>> {
    for (i, q) in queries.iter().enumerate() {
        if let Some(f) = &q.query.filter {
            filter::parse_value(f)
                .map_err(|e| ApiError::new(Code::InvalidSearchFilter, e).prefixed(&inside(i)))?;
        }
    }
    let mut by_index: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, q) in queries.iter().enumerate() {
        let fail = |code: &'static str, msg: String| {
            Err(ApiError::new(Code::Other(code), msg).prefixed(&inside(i)))
        };
        if let Some(field) = q.paging {
            return fail("invalid_multi_search_query_pagination", format!("Using pagination options is not allowed in federated queries.\n - Hint: remove `{field}` from the query or remove `federation` from the request\n - Hint: pass `federation.limit` and `federation.offset` for pagination in federated search"));
        }
        if let Some(facets) = q.query.facets.as_ref().filter(|f| !f.is_empty()) {
            return fail("invalid_multi_search_query_facets", format!("Using facet options is not allowed in federated queries.\n - Hint: remove `facets` from the query or remove `federation` from the request\n - Hint: pass `federation.facetsByIndex.{}: {facets:?}` for facets in federated search", q.index_uid));
        }
        if q.performance_details {
            return fail("invalid_multi_search_query_show_performance_details", "Using `.showPerformanceDetails` is not allowed in federated queries.\n - Hint: remove `showPerformanceDetails` from the query or remove `federation` from the request".into());
        }
        if q.query.distinct.is_some() && fed.distinct.is_some() {
            return fail("invalid_multi_search_query_distinct", "Using `distinct` options is not allowed in federated queries when it also appears in `.federation.distinct`.\n - Hint: remove `distinct` from the query or remove `federation` from the request\n  - Note: `distinct` at the query level is discouraged in federated search.".into());
        }
        by_index.entry(q.index_uid.clone()).or_default().push(i);
    }
    Ok(by_index)
}

/// With `mergeFacets`, every index must order a facet's values the same way.
fn check_facet_order(
    orders: &mut BTreeMap<String, (String, String)>,
    uid: &str,
    patterns: &[String],
    index: &Index,
) -> ApiResult<()> {
    let name = |o: &str| {
        if o == "count" {
            "by count"
        } else {
            "alphabetically"
        }
    };
    for field in &index.fields {
        let wanted = patterns
            .iter()
            .any(|p| crate::settings::pattern_matches(p, field));
        if !wanted || !index.settings.is_filterable(field) {
            continue;
        }
        let order = index.settings.sort_facet_values_by(field);
        let (first_uid, first_order) = orders
            .entry(field.clone())
            .or_insert_with(|| (uid.to_string(), order.clone()));
        if *first_order != order {
            return Err(ApiError::new(
                Code::Other("invalid_multi_search_facet_order"),
                format!(
                    "Inconsistent order for values in facet `{field}`: index `{first_uid}` orders {}, but index `{uid}` orders {}.\n - Hint: Remove `federation.mergeFacets` or change `faceting.sortFacetValuesBy` to be consistent in settings.",
                    name(first_order),
                    name(&order)
                ),
            ));
        }
    }
    Ok(())
}

/// Per index: its merged hits, its candidate count and its facets.
struct IndexResult {
    uid: String,
    items: Vec<Item>,
    total: usize,
    facets: Option<(Value, Value)>,
}

/// Runs a federated search over `db`.
pub fn search(
    db: &Db,
    queries: &[IndexQuery],
    mut fed: Federation,
    started: Instant,
) -> ApiResult<Value> {
    let by_index = partition(queries, &fed)?;
    let required = match (fed.page, fed.hits_per_page) {
        (None, None) => fed.limit.saturating_add(fed.offset),
        (None, Some(hpp)) => hpp,
        (Some(0), _) => 0,
        (Some(page), None) => page.saturating_mul(20),
        (Some(page), Some(hpp)) => hpp.saturating_mul(page),
    };
    let mut runs: Vec<Run> = Vec::new();
    let mut results: Vec<IndexResult> = Vec::new();
    // the query with the most ranking constraints so far, to check the
    // next ones against
    let mut previous: Option<(Rules, usize, String)> = None;
    // with `mergeFacets`: each facet's value order and the index that set it
    let mut facet_order: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (uid, positions) in &by_index {
        let first = positions[0];
        let index = db.indexes.get(uid).ok_or_else(|| {
            ApiError::IndexNotFound(uid.clone())
                .with_status(StatusCode::BAD_REQUEST)
                .prefixed(&inside(first))
        })?;
        let patterns = fed.facets_by_index.remove(uid).flatten();
        if let (Some(list), Some(_)) = (&patterns, fed.merge_facets) {
            check_facet_order(&mut facet_order, uid, list, index).map_err(|e| {
                e.prefixed(&format!("Inside `.federation.facetsByIndex.{uid}`: "))
                    .prefixed(&inside(first))
            })?;
        }
        let names = match &patterns {
            Some(list) => Some(check_facets(list, index).map_err(|e| {
                e.prefixed(&format!("Inside `.federation.facetsByIndex.{uid}`: "))
                    .prefixed(&inside(first))
            })?),
            None => None,
        };
        let wanted = required.min(index.settings.max_total_hits());
        let mut lists = Vec::new();
        let mut candidates: HashSet<u32> = HashSet::new();
        for &i in positions {
            let q = &queries[i];
            let rules = Rules::new(
                &index.settings.ranking_rules(),
                q.query.sort.as_deref(),
                q.query.q.as_deref().is_none_or(str::is_empty),
                q.query.strategy == crate::search::Strategy::All,
            );
            if let Some((prev, at, prev_uid)) = &previous {
                let before = Query {
                    rules: prev,
                    position: *at,
                    index: prev_uid,
                };
                let now = Query {
                    rules: &rules,
                    position: i,
                    index: uid,
                };
                check(&before, &now).map_err(|msg| {
                    ApiError::new(Code::Other("invalid_multi_search_query_ranking_rules"), msg)
                        .prefixed(&inside(i))
                })?;
            }
            if previous
                .as_ref()
                .is_none_or(|(p, _, _)| p.constraints() <= rules.constraints())
            {
                previous = Some((rules, i, uid.clone()));
            }
            let mut p = plan(index, &q.query).map_err(|e| e.prefixed(&inside(i)))?;
            if let Some(d) = &fed.distinct {
                p.distinct = Some(d.clone());
            }
            let ranked = rank(index, &q.query, &p);
            candidates.extend(ranked.hits.iter().map(|(s, _)| s.internal));
            let weight = q.weight.unwrap_or(1.0);
            let run = runs.len();
            lists.push(
                ranked
                    .hits
                    .iter()
                    .take(wanted)
                    .enumerate()
                    .map(|(hit, (s, _))| Item {
                        run,
                        hit,
                        position: i,
                        values: weighted::values(&s.details, weight),
                        global: weighted::weighted_global(&s.details, weight),
                    })
                    .collect(),
            );
            runs.push(Run {
                index,
                position: i,
                weight,
                plan: p,
                ranked,
            });
        }
        // one document once per index; federation distinct within the index
        let mut seen = HashSet::new();
        let mut distinct_seen: HashSet<String> = HashSet::new();
        let mut items = Vec::new();
        for item in kmerge(lists) {
            let (s, doc) = &runs[item.run].ranked.hits[item.hit];
            if !seen.insert(s.internal) {
                continue;
            }
            if let Some(d) = &fed.distinct {
                let keys = distinct_key(doc, d);
                if keys.iter().any(|k| distinct_seen.contains(k)) {
                    candidates.remove(&s.internal);
                    continue;
                }
                distinct_seen.extend(keys);
            }
            items.push(item);
            if items.len() == required {
                break;
            }
        }
        let facets = names.map(|names| {
            // over the union of the index's candidates
            let mut ids = HashSet::new();
            let docs: Vec<(u32, &crate::payload::Document)> = runs
                .iter()
                .filter(|r| std::ptr::eq(r.index, index))
                .flat_map(|r| r.ranked.hits.iter())
                .filter(|(s, _)| candidates.contains(&s.internal) && ids.insert(s.internal))
                .map(|(s, d)| (s.internal, *d))
                .collect();
            facets_of(&names, docs, index)
        });
        results.push(IndexResult {
            uid: uid.clone(),
            items,
            total: candidates.len(),
            facets,
        });
    }
    // facets asked for indexes no query uses must still be valid
    for (uid, patterns) in std::mem::take(&mut fed.facets_by_index) {
        let at = format!("Inside `.federation.facetsByIndex.{uid}`: ");
        let index = db.indexes.get(&uid).ok_or_else(|| {
            ApiError::IndexNotFound(uid.clone())
                .with_status(StatusCode::BAD_REQUEST)
                .prefixed(&at)
        })?;
        if let Some(list) = patterns {
            check_facets(&list, index).map_err(|e| e.prefixed(&at))?;
        }
    }
    let mut hit_number: usize = results.iter().map(|r| r.total).sum();
    let (skip, take) = match (fed.page, fed.hits_per_page) {
        (None, None) => (fed.offset, fed.limit),
        (None, Some(hpp)) => (0, hpp),
        (Some(0), _) => (0, 0),
        (Some(page), None) => ((page - 1).saturating_mul(20), 20),
        (Some(page), Some(hpp)) => ((page - 1).saturating_mul(hpp), hpp),
    };
    let mut per_index_facets = Map::new();
    let mut lists = Vec::new();
    for r in &mut results {
        lists.push(std::mem::take(&mut r.items));
        if let Some(f) = r.facets.take() {
            per_index_facets.insert(r.uid.clone(), json!({"distribution": f.0, "stats": f.1}));
        }
    }
    let mut distinct_seen: HashSet<String> = HashSet::new();
    let mut merged = Vec::new();
    for item in kmerge(lists) {
        if let Some(d) = &fed.distinct {
            let doc = runs[item.run].ranked.hits[item.hit].1;
            let keys = distinct_key(doc, d);
            if keys.iter().any(|k| distinct_seen.contains(k)) {
                hit_number = hit_number.saturating_sub(1);
                continue;
            }
            distinct_seen.extend(keys);
        }
        merged.push(item);
    }
    let makers: Vec<HitMaker> = runs
        .iter()
        .map(|r| HitMaker::new(r.index, &r.plan, &queries[r.position].query, &r.ranked))
        .collect();
    let hits: Vec<Value> = merged
        .iter()
        .skip(skip)
        .take(take)
        .map(|item| {
            let run = &runs[item.run];
            let (s, doc) = &run.ranked.hits[item.hit];
            let federation = json!({
                "indexUid": run.index.uid,
                "queriesPosition": run.position,
                "weightedRankingScore": weighted::weighted_global(&s.details, run.weight),
            });
            Value::Object(makers[item.run].hit_with(s, doc, Some(federation)))
        })
        .collect();

    let mut out = Map::new();
    out.insert("hits".into(), Value::Array(hits));
    out.insert(
        "processingTimeMs".into(),
        json!(started.elapsed().as_millis() as u64),
    );
    match (fed.page, fed.hits_per_page) {
        (None, None) => {
            out.insert("limit".into(), json!(fed.limit));
            out.insert("offset".into(), json!(fed.offset));
            out.insert("estimatedTotalHits".into(), json!(hit_number));
        }
        (page, hpp) => {
            let page = page.unwrap_or(1);
            let hpp = hpp.unwrap_or(20);
            let pages = if hpp == 0 {
                0
            } else {
                hit_number.div_ceil(hpp)
            };
            out.insert("hitsPerPage".into(), json!(hpp));
            out.insert("page".into(), json!(page));
            out.insert("totalPages".into(), json!(pages));
            out.insert("totalHits".into(), json!(hit_number));
        }
    }
    match fed.merge_facets {
        Some(max) if !per_index_facets.is_empty() => {
            let (distribution, stats) = merge(&per_index_facets, max, |facet| {
                facet_order
                    .get(facet)
                    .is_some_and(|(_, order)| order == "count")
            });
            out.insert("facetDistribution".into(), distribution);
            out.insert("facetStats".into(), stats);
        }
        Some(_) => {}
        None => {
            if !per_index_facets.is_empty() {
                out.insert("facetsByIndex".into(), Value::Object(per_index_facets));
            }
        }
    }
    out.insert("requestUid".into(), json!(request_uid()));
    Ok(Value::Object(out))
}
