//! Properties of the sharded search as a whole: a corpus split across nodes and merged
//! answers what one node holding the whole corpus answers.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::testkit::{offset_answer, page_answer, Details, Rank};
use super::*;

/// One document's ranking outcome under a fixed set of rules (one query).
#[derive(Debug, Clone)]
struct Doc {
    words: u64,
    typo: u64,
    proximity: u64,
    fid: u64,
    position: u64,
    year: Option<i64>,
    title: Option<String>,
    exact: u8,
}

fn doc_strategy() -> impl Strategy<Value = Doc> {
    (
        1u64..=3,
        0u64..=2,
        1u64..=8,
        1u64..=3,
        1u64..=4,
        proptest::option::of(1990i64..1995),
        proptest::option::of("[a-c]{1,2}"),
        1u8..=3,
    )
        .prop_map(|(words, typo, proximity, fid, position, year, title, exact)| Doc {
            words,
            typo,
            proximity,
            fid,
            position,
            year,
            title,
            exact,
        })
}

/// The details one node writes for `doc` under default ranking rules with
/// `sort: ["year:desc", "title:asc"]` placed after `attribute`.
fn details(doc: &Doc) -> Details {
    Details::new()
        .words(doc.words, 3)
        .typo(doc.typo, 2)
        .proximity(doc.proximity, 8)
        .attribute(Rank { rank: doc.fid, max: 3 }, Rank { rank: doc.position, max: 4 })
        .sort("year", false, doc.year.map_or(Value::Null, |y| json!(y as f64)))
        .sort("title", true, doc.title.clone().map_or(Value::Null, Value::String))
        .exactness(doc.exact, if doc.exact == 1 { 1 } else { 3 }, 3)
}

fn hit(id: usize, doc: &Doc) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), id.into());
    details(doc).hit(m)
}

fn key_of(hit: &Value) -> RankKey {
    hit.as_object().and_then(RankKey::of_hit).unwrap_or(RankKey { rules: vec![], global: 0.0, pin: None })
}

/// The single node's ranked list: every hit, sorted by the comparator.
fn single_node(hits: &[Value]) -> Vec<Value> {
    let mut all = hits.to_vec();
    all.sort_by(|a, b| compare_ranked(&key_of(b), &key_of(a)));
    all
}

/// Each node's answer: its share of the corpus, ranked, cut to `fetch` hits.
fn node_answers(ranked: &[Value], owner: &[usize], nodes: usize, fetch: usize, pages: bool) -> Vec<Value> {
    (0..nodes)
        .map(|n| {
            let mine: Vec<Value> =
                ranked.iter().filter(|h| owner[h["id"].as_u64().unwrap_or(0) as usize] == n).cloned().collect();
            let total = mine.len() as u64;
            let hits = mine.into_iter().take(fetch).collect();
            if pages {
                page_answer(hits, total, 1)
            } else {
                offset_answer(hits, total, 1)
            }
        })
        .collect()
}

fn corpus() -> impl Strategy<Value = (Vec<Doc>, Vec<usize>, usize)> {
    (1usize..6).prop_flat_map(|nodes| {
        proptest::collection::vec((doc_strategy(), 0..nodes), 0..60).prop_map(move |docs| {
            let (docs, owner): (Vec<Doc>, Vec<usize>) = docs.into_iter().unzip();
            (docs, owner, nodes)
        })
    })
}

fn ranks_equal(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| compare_ranked(&key_of(x), &key_of(y)) == std::cmp::Ordering::Equal)
}

fn query_with_details(mut v: Value) -> SearchQuery {
    v["showRankingScoreDetails"] = true.into();
    v["showRankingScore"] = true.into();
    SearchQuery::from_value(v).unwrap_or_else(|e| panic!("{e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn merging_split_lists_gives_the_single_node_page(
        (docs, owner, nodes) in corpus(), offset in 0u64..70, limit in 0u64..30, max_total in 1u64..80,
    ) {
        let hits: Vec<Value> = docs.iter().enumerate().map(|(i, d)| hit(i, d)).collect();
        let ranked = single_node(&hits);
        let settings = MergeSettings { max_total_hits: max_total, ..MergeSettings::default() };
        let query = query_with_details(json!({"offset": offset, "limit": limit}));
        let fetch = (offset + limit).min(max_total) as usize;
        let answers = node_answers(&ranked, &owner, nodes, fetch, false);
        let bodies: Vec<Vec<u8>> = answers.iter().map(|a| a.to_string().into_bytes()).collect();
        let body_refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        let from_bodies = merge_json(&query, &settings, &body_refs).unwrap();
        let out = merge(&query, &settings, answers).unwrap();
        prop_assert_eq!(serde_json::from_slice::<Value>(&from_bodies).ok(), Some(out.clone()));
        let (skip, take) = Paging::OffsetLimit { offset, limit }.window(max_total);
        let expected: Vec<Value> = ranked.iter().skip(skip as usize).take(take as usize).cloned().collect();
        let got = out["hits"].as_array().cloned().unwrap_or_default();
        prop_assert!(ranks_equal(&got, &expected), "got {got:?}\nexpected {expected:?}");
        prop_assert_eq!(out["estimatedTotalHits"].as_u64(), Some(docs.len() as u64));
    }

    #[test]
    fn paging_through_consecutive_pages_never_duplicates_or_skips(
        (docs, owner, nodes) in corpus(), per_page in 1u64..9, pages in any::<bool>(),
    ) {
        let hits: Vec<Value> = docs.iter().enumerate().map(|(i, d)| hit(i, d)).collect();
        let ranked = single_node(&hits);
        let settings = MergeSettings::default();
        let mut seen: Vec<u64> = Vec::new();
        let mut shown: Vec<Value> = Vec::new();
        for n in 0.. {
            let body = if pages {
                json!({"page": n + 1, "hitsPerPage": per_page})
            } else {
                json!({"offset": n * per_page, "limit": per_page})
            };
            let fetch = ((n + 1) * per_page) as usize;
            let out = merge(&query_with_details(body), &settings, node_answers(&ranked, &owner, nodes, fetch, pages)).unwrap();
            let page_hits = out["hits"].as_array().cloned().unwrap_or_default();
            if page_hits.is_empty() {
                break;
            }
            seen.extend(page_hits.iter().filter_map(|h| h["id"].as_u64()));
            shown.extend(page_hits);
            if pages {
                prop_assert_eq!(out["totalHits"].as_u64(), Some(docs.len() as u64));
                prop_assert_eq!(out["totalPages"].as_u64(), Some((docs.len() as u64).div_ceil(per_page)));
            }
        }
        let mut unique = seen.clone();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(unique.len(), seen.len(), "a hit was shown twice");
        prop_assert_eq!(seen.len(), docs.len(), "a hit was never shown");
        prop_assert!(ranks_equal(&shown, &ranked));
    }

    #[test]
    fn facet_counts_summed_then_cut_equal_counting_over_the_union(
        docs in proptest::collection::vec((proptest::collection::vec("[a-e]", 0..3), 0usize..4), 0..80),
        max in 0u64..7, count_order in any::<bool>(),
    ) {
        let order = if count_order { FacetOrder::Count } else { FacetOrder::Alpha };
        let mut settings = MergeSettings { max_values_per_facet: max, ..MergeSettings::default() };
        settings.sort_facet_values_by.insert("*".into(), order);
        // What one node holding every document counts (each document once per value).
        let count = |owned: &dyn Fn(usize) -> bool| {
            let mut c: BTreeMap<String, u64> = BTreeMap::new();
            for (i, (values, _)) in docs.iter().enumerate() {
                let mut values = values.clone();
                values.sort();
                values.dedup();
                for v in values.into_iter().filter(|_| owned(i)) {
                    *c.entry(v).or_default() += 1;
                }
            }
            c
        };
        let union = count(&|_| true);
        let answers: Vec<Value> = (0..4)
            .map(|n| {
                let mine = count(&|i| docs[i].1 == n);
                let mut a = offset_answer(vec![], 0, 1);
                a["facetDistribution"] = json!({"tag": mine});
                a
            })
            .collect();
        let out = merge(&query_with_details(json!({"facets": ["tag"]})), &settings, answers).unwrap();
        let got: Vec<(String, u64)> = out["facetDistribution"]["tag"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0))).collect())
            .unwrap_or_default();
        let mut expected: Vec<(String, u64)> = union.into_iter().collect();
        if count_order {
            expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(&a.0)));
        }
        // milli's facet levels (count order) check the cut after each insert, so 0 cuts nothing.
        if !(count_order && max == 0) {
            expected.truncate(max as usize);
        }
        prop_assert_eq!(got, expected);
    }
}
