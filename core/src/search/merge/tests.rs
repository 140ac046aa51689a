use serde_json::{json, Map, Value};

use super::*;
use crate::search::testkit::{offset_answer, page_answer, Details};

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn q(v: Value) -> SearchQuery {
    SearchQuery::from_value(v).unwrap()
}

/// A hit ranked by words only: `matching` of 5 words.
fn hit(id: u64, matching: u64) -> Value {
    Details::new().words(matching, 5).hit(doc(json!({"id": id, "_miroir_shard": id % 4})))
}

fn ids(answer: &Value) -> Vec<u64> {
    answer["hits"].as_array().unwrap().iter().map(|h| h["id"].as_u64().unwrap()).collect()
}

fn fixture(name: &str) -> Value {
    let text = match name {
        "a" => include_str!("../fixtures/node_a.json"),
        _ => include_str!("../fixtures/node_b.json"),
    };
    serde_json::from_str(text).unwrap()
}

#[test]
fn fixture_answers_merge_to_the_single_node_answer() {
    let query = q(json!({"q": "dark knight", "sort": ["year:desc"], "facets": ["genres", "year"],
                         "attributesToHighlight": ["title"], "limit": 3}));
    let out = merge(&query, &MergeSettings::default(), vec![fixture("a"), fixture("b")]).unwrap();
    assert_eq!(ids(&out), vec![49026, 155, 272]);
    assert_eq!(out["estimatedTotalHits"], json!(5));
    assert_eq!(out["limit"], json!(3));
    assert_eq!(out["offset"], json!(0));
    assert_eq!(out["processingTimeMs"], json!(5));
    assert_eq!(out["query"], json!("dark knight"));
    assert_eq!(
        out["facetDistribution"],
        json!({"genres": {"Action": 2, "Animation": 1, "Crime": 2, "Drama": 2, "Thriller": 1},
               "year": {"2008": 1, "2010": 1, "2012": 2, "2019": 1}})
    );
    assert_eq!(out["facetStats"], json!({"year": {"min": 2008.0, "max": 2019.0}}));
    let first = out["hits"][0].as_object().unwrap();
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "title", "genres", "year", "_formatted"]);
    assert!(first["_formatted"].get("_miroir_shard").is_none());
    let top: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        top,
        [
            "hits",
            "query",
            "processingTimeMs",
            "limit",
            "offset",
            "estimatedTotalHits",
            "facetDistribution",
            "facetStats",
            "requestUid"
        ]
    );
}

#[test]
fn fixture_second_page_continues_the_first() {
    let query = q(json!({"q": "dark knight", "sort": ["year:desc"], "offset": 3, "limit": 3}));
    let out = merge(&query, &MergeSettings::default(), vec![fixture("a"), fixture("b")]).unwrap();
    assert_eq!(ids(&out), vec![11, 99]);
    assert_eq!(out["offset"], json!(3));
}

#[test]
fn totals_are_summed_and_not_capped_by_max_total_hits() {
    let query = q(json!({"limit": 2}));
    let settings = MergeSettings { max_total_hits: 10, ..MergeSettings::default() };
    let a = offset_answer(vec![hit(1, 5), hit(2, 3)], 8, 1);
    let b = offset_answer(vec![hit(3, 4)], 7, 1);
    let out = merge(&query, &settings, vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![1, 3]);
    // A real 1.50 node with 2500 candidates and maxTotalHits 1000 answers 2500.
    assert_eq!(out["estimatedTotalHits"], json!(15));
}

#[test]
fn no_hit_is_reachable_past_max_total_hits() {
    let query = q(json!({"offset": 1, "limit": 5}));
    let settings = MergeSettings { max_total_hits: 2, ..MergeSettings::default() };
    let a = offset_answer(vec![hit(1, 5), hit(2, 3)], 2, 1);
    let b = offset_answer(vec![hit(3, 4), hit(4, 1)], 2, 1);
    let out = merge(&query, &settings, vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![3]);
    assert_eq!(out["offset"], json!(1));
    assert_eq!(out["limit"], json!(5), "limit echoes the client's");
    let query = q(json!({"offset": 7}));
    let a = offset_answer(vec![hit(1, 5)], 2, 1);
    let out = merge(&query, &settings, vec![a]).unwrap();
    assert_eq!(out["offset"], json!(7), "offset echoes the client's, as a real node does");
}

#[test]
fn page_mode_recomputes_total_pages_from_summed_total_hits() {
    let query = q(json!({"page": 2, "hitsPerPage": 2}));
    let a = page_answer(vec![hit(1, 5), hit(2, 3), hit(5, 1)], 3, 1);
    let b = page_answer(vec![hit(3, 4), hit(4, 2)], 2, 4);
    let out = merge(&query, &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![2, 4]);
    assert_eq!(out["totalHits"], json!(5));
    assert_eq!(out["totalPages"], json!(3));
    assert_eq!(out["page"], json!(2));
    assert_eq!(out["hitsPerPage"], json!(2));
    let top: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        top,
        ["hits", "query", "processingTimeMs", "hitsPerPage", "page", "totalPages", "totalHits", "requestUid"]
    );
}

#[test]
fn zero_hits_per_page_gives_totals_and_zero_pages() {
    let query = q(json!({"hitsPerPage": 0}));
    let a = page_answer(vec![], 3, 1);
    let out = merge(&query, &MergeSettings::default(), vec![a]).unwrap();
    assert_eq!(out["totalHits"], json!(3));
    assert_eq!(out["totalPages"], json!(0));
    assert_eq!(out["hits"], json!([]));
}

#[test]
fn ranking_fields_are_shown_only_when_asked() {
    let a = offset_answer(vec![hit(1, 5)], 1, 1);
    let out = merge(&q(json!({})), &MergeSettings::default(), vec![a.clone()]).unwrap();
    assert_eq!(out["hits"][0], json!({"id": 1}));
    let out = merge(&q(json!({"showRankingScore": true})), &MergeSettings::default(), vec![a.clone()]).unwrap();
    assert_eq!(out["hits"][0]["_rankingScore"], json!(1.0));
    assert!(out["hits"][0].get("_rankingScoreDetails").is_none());
    let out = merge(&q(json!({"showRankingScoreDetails": true})), &MergeSettings::default(), vec![a]).unwrap();
    assert!(out["hits"][0].get("_rankingScore").is_none());
    assert_eq!(out["hits"][0]["_rankingScoreDetails"]["words"]["matchingWords"], json!(5));
}

#[test]
fn shard_field_never_reaches_the_client() {
    let h = Details::new().words(1, 1).hit(doc(json!({
        "id": 1, "_miroir_shard": 3,
        "_formatted": {"id": "1", "_miroir_shard": "3"},
        "_matchesPosition": {"_miroir_shard": [{"start": 0, "length": 1}], "title": []}
    })));
    let out = merge(&q(json!({})), &MergeSettings::default(), vec![offset_answer(vec![h], 1, 1)]).unwrap();
    assert_eq!(out["hits"][0], json!({"id": 1, "_formatted": {"id": "1"}, "_matchesPosition": {"title": []}}));
}

#[test]
fn distinct_keeps_the_best_hit_per_value_across_nodes_and_fixes_totals() {
    let h = |id: u64, m: u64, sku: &str| Details::new().words(m, 5).hit(doc(json!({"id": id, "sku": sku})));
    let query = q(json!({"distinct": "sku", "attributesToRetrieve": ["id"]}));
    let a = offset_answer(vec![h(1, 5, "A"), h(2, 3, "B")], 2, 1);
    let b = offset_answer(vec![h(3, 4, "b "), h(4, 2, "C")], 2, 1);
    let out = merge(&query, &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![1, 3, 4]);
    assert_eq!(out["estimatedTotalHits"], json!(3));
    assert!(out["hits"][0].get("sku").is_none(), "sku was added for the merge only");
}

#[test]
fn distinct_from_settings_applies_when_the_query_names_none() {
    let h = |id: u64, m: u64, sku: &str| Details::new().words(m, 5).hit(doc(json!({"id": id, "sku": sku})));
    let settings = MergeSettings { distinct_attribute: Some("sku".into()), ..MergeSettings::default() };
    let a = page_answer(vec![h(1, 5, "A")], 1, 1);
    let b = page_answer(vec![h(2, 4, "A")], 1, 1);
    let out = merge(&q(json!({"hitsPerPage": 5})), &settings, vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![1]);
    assert_eq!(out["totalHits"], json!(1));
    assert_eq!(out["hits"][0]["sku"], json!("A"), "shown: the client did not restrict attributes");
}

#[test]
fn distinct_removals_come_off_the_facet_counts() {
    let h = |id: u64, m: u64, sku: &str, color: &str| {
        Details::new().words(m, 5).hit(doc(json!({"id": id, "sku": sku, "color": color})))
    };
    let with_facets = |hits, total, dist: Value| {
        let mut a = page_answer(hits, total, 1);
        a["facetDistribution"] = dist;
        a
    };
    let a = with_facets(vec![h(1, 5, "A", "red")], 1, json!({"color": {"red": 1}}));
    let b = with_facets(vec![h(2, 4, "A", "Blue"), h(3, 1, "B", "red")], 2, json!({"color": {"Blue": 1, "red": 1}}));
    let out =
        merge(&q(json!({"distinct": "sku", "facets": ["color"], "page": 1})), &MergeSettings::default(), vec![a, b])
            .unwrap();
    assert_eq!(ids(&out), vec![1, 3]);
    assert_eq!(out["facetDistribution"], json!({"color": {"red": 2}}));
}

#[test]
fn processing_time_is_the_slowest_nodes() {
    let a = offset_answer(vec![], 0, 3);
    let b = offset_answer(vec![], 0, 11);
    let out = merge(&q(json!({})), &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(out["processingTimeMs"], json!(11));
}

#[test]
fn pinned_hits_take_their_position_in_the_merged_list() {
    let pinned = Details::new().pin(1).hit(doc(json!({"id": 100})));
    let a = offset_answer(vec![hit(1, 5), pinned, hit(2, 2)], 3, 1);
    let b = offset_answer(vec![hit(3, 4), hit(4, 3)], 2, 1);
    let out = merge(&q(json!({"limit": 4})), &MergeSettings::default(), vec![a.clone(), b.clone()]).unwrap();
    assert_eq!(ids(&out), vec![1, 100, 3, 4]);
    let out = merge(&q(json!({"offset": 1, "limit": 2})), &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![100, 3]);
}

#[test]
fn a_pin_past_the_organic_hits_follows_them() {
    let pinned = Details::new().pin(10).hit(doc(json!({"id": 100})));
    let a = offset_answer(vec![hit(1, 5), pinned], 2, 1);
    let out = merge(&q(json!({})), &MergeSettings::default(), vec![a]).unwrap();
    assert_eq!(ids(&out), vec![1, 100]);
}

#[test]
fn semantic_hit_count_counts_semantic_hits_on_the_page() {
    let sem = |id: u64, s: f64| Details::new().vector(s).hit(doc(json!({"id": id})));
    let kw = |id: u64| Details::new().words(9, 10).hit(doc(json!({"id": id})));
    let with_count = |hits, total, n: u64| {
        let mut a = offset_answer(hits, total, 1);
        a["semanticHitCount"] = n.into();
        a
    };
    let query = q(json!({"q": "x", "hybrid": {"embedder": "e", "semanticRatio": 0.5}, "limit": 2}));
    let a = with_count(vec![kw(1), sem(2, 0.5)], 2, 1);
    let b = with_count(vec![sem(3, 0.95)], 1, 1);
    let out = merge(&query, &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![3, 1]);
    assert_eq!(out["semanticHitCount"], json!(1));
}

#[test]
fn ties_follow_node_order_deterministically() {
    let a = offset_answer(vec![hit(1, 3), hit(2, 3)], 2, 1);
    let b = offset_answer(vec![hit(3, 3)], 1, 1);
    let out = merge(&q(json!({})), &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(ids(&out), vec![1, 2, 3]);
}

#[test]
fn malformed_node_answers_are_internal_errors() {
    let settings = MergeSettings::default();
    let no_details = offset_answer(vec![json!({"id": 1})], 1, 1);
    assert_eq!(merge(&q(json!({})), &settings, vec![no_details]).unwrap_err().code, Code::Internal);
    assert_eq!(merge(&q(json!({})), &settings, vec![json!([])]).unwrap_err().code, Code::Internal);
    assert_eq!(merge(&q(json!({})), &settings, vec![json!({"hits": []})]).unwrap_err().code, Code::Internal);
    assert_eq!(merge(&q(json!({})), &settings, vec![]).unwrap_err().code, Code::Internal);
    let page_totals_in_offset_mode = page_answer(vec![], 1, 1);
    assert!(merge(&q(json!({})), &settings, vec![page_totals_in_offset_mode]).is_err());
}

#[test]
fn unknown_answer_fields_pass_through_from_the_first_node() {
    let mut a = offset_answer(vec![], 0, 1);
    a["queryVector"] = json!([0.5, 0.25]);
    a["metadata"] = json!({"queryUid": "u", "indexUid": "movies", "primaryKey": "id"});
    let out = merge(&q(json!({})), &MergeSettings::default(), vec![a]).unwrap();
    assert_eq!(out["queryVector"], json!([0.5, 0.25]));
    assert_eq!(out["metadata"]["indexUid"], json!("movies"));
}

#[test]
fn merging_bodies_equals_merging_parsed_answers() {
    let query =
        q(json!({"q": "dark knight", "sort": ["year:desc"], "facets": ["genres", "year"], "offset": 1, "limit": 3}));
    let (a, b) = (fixture("a"), fixture("b"));
    let (ab, bb) = (a.to_string().into_bytes(), b.to_string().into_bytes());
    let from_bytes = merge_json(&query, &MergeSettings::default(), &[&ab, &bb]).unwrap();
    let from_values = merge(&query, &MergeSettings::default(), vec![a, b]).unwrap();
    assert_eq!(from_bytes, serde_json::to_vec(&from_values).unwrap());
}

#[test]
fn merging_bodies_refuses_what_is_not_a_search_answer() {
    let settings = MergeSettings::default();
    assert_eq!(merge_json(&q(json!({})), &settings, &[b"{}"]).unwrap_err().code, Code::Internal);
    assert!(merge_json(&q(json!({})), &settings, &[br#"{"hits": [1], "estimatedTotalHits": 1}"#]).is_err());
    assert!(merge_json(&q(json!({})), &settings, &[br#"{"hits": [{"id": 1}], "estimatedTotalHits": 1}"#]).is_err());
    let ok = merge_json(&q(json!({})), &settings, &[br#"{"hits": [], "estimatedTotalHits": 0}"#]).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&ok).unwrap()["estimatedTotalHits"], json!(0));
}

#[test]
fn distinct_works_on_unparsed_bodies() {
    let h = |id: u64, m: u64, sku: &str| Details::new().words(m, 5).hit(doc(json!({"id": id, "sku": sku})));
    let a = offset_answer(vec![h(1, 5, "A")], 1, 1).to_string().into_bytes();
    let b = offset_answer(vec![h(2, 4, "A"), h(3, 1, "B")], 2, 1).to_string().into_bytes();
    let out = merge_json(&q(json!({"distinct": "sku"})), &MergeSettings::default(), &[&a, &b]).unwrap();
    let out: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(ids(&out), vec![1, 3]);
    assert_eq!(out["estimatedTotalHits"], json!(2));
}

#[test]
fn document_numbers_reach_the_client_digit_for_digit() {
    let h = Details::new().words(1, 1).hit(doc(json!({"id": 1, "price": 19.99, "ratio": 0.9029706790123457})));
    let body = offset_answer(vec![h], 1, 1).to_string().into_bytes();
    let out = merge_json(&q(json!({"showRankingScore": true})), &MergeSettings::default(), &[&body]).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains(r#""price":19.99,"ratio":0.9029706790123457"#), "{text}");
}

#[test]
fn facet_attributes_retrieved_for_distinct_are_stripped() {
    let h = |id: u64, m: u64, sku: &str, color: &str| {
        Details::new().words(m, 5).hit(doc(json!({"id": id, "sku": sku, "color": color})))
    };
    let mut a = page_answer(vec![h(1, 5, "A", "red"), h(2, 4, "A", "red")], 2, 1);
    a["facetDistribution"] = json!({"color": {"red": 2}});
    let query = q(json!({"distinct": "sku", "facets": ["color"], "attributesToRetrieve": ["id"], "page": 1}));
    let out = merge(&query, &MergeSettings::default(), vec![a]).unwrap();
    assert_eq!(out["hits"], json!([{"id": 1}]));
    assert_eq!(out["facetDistribution"], json!({"color": {"red": 1}}));
}

#[test]
fn tied_hits_are_ordered_by_shard_whichever_replica_served_them() {
    use crate::search::testkit::Details;
    let tied = |id: u64, shard: u64| Details::new().words(1, 1).hit(json!({"id": id, "_miroir_shard": shard}).as_object().unwrap().clone());
    let query = q(json!({"limit": 10}));
    // The same shards served by different nodes, in either order: one order out.
    let a = offset_answer(vec![tied(1, 5), tied(2, 1)], 2, 1);
    let b = offset_answer(vec![tied(3, 3)], 1, 1);
    let first = merge(&query, &MergeSettings::default(), vec![a.clone(), b.clone()]).unwrap();
    let second = merge(&query, &MergeSettings::default(), vec![b, a]).unwrap();
    assert_eq!(ids(&first), vec![2, 3, 1]);
    assert_eq!(ids(&first), ids(&second));
}
