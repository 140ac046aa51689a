use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::search::testkit::Details;
use crate::search::{FacetOrder, MergeSettings};

fn request(v: Value) -> FederatedRequest {
    FederatedRequest::from_value(&v).unwrap()
}

/// A hit of `index` for the node's query `position`, ranked by words only.
fn hit(id: u64, matching: u64, index: &str, position: u64, weight: f64) -> Value {
    let details = Details::new().words(matching, 4);
    let global = details.global();
    let doc = json!({"id": id, "_miroir_shard": id % 16,
        "_federation": {"indexUid": index, "queriesPosition": position, "weightedRankingScore": global * weight}});
    details.hit(doc.as_object().cloned().unwrap_or_default())
}

fn answer(hits: Vec<Value>, total: u64, time: u64, extra: Value) -> Vec<u8> {
    let mut a = json!({"hits": hits, "processingTimeMs": time, "limit": 99, "offset": 0, "estimatedTotalHits": total});
    if let (Some(a), Value::Object(extra)) = (a.as_object_mut(), extra) {
        a.extend(extra);
    }
    a["requestUid"] = json!("0190f1e4-0000-7000-8000-000000000000");
    a.to_string().into_bytes()
}

fn merged(req: &FederatedRequest, settings: &BTreeMap<String, MergeSettings>, nodes: &[(Vec<u8>, Vec<usize>)]) -> Value {
    let replies: Vec<NodeReply<'_>> = nodes.iter().map(|(body, queries)| NodeReply { body, queries }).collect();
    match merge_federated(req, settings, &replies).unwrap() {
        FederatedMerge::Answer(body) => serde_json::from_slice(&body).unwrap(),
        FederatedMerge::Relay => panic!("unexpected relay"),
    }
}

fn ids(v: &Value) -> Vec<u64> {
    v["hits"].as_array().unwrap().iter().map(|h| h["id"].as_u64().unwrap()).collect()
}

fn two_queries() -> FederatedRequest {
    request(json!({"federation": {"limit": 3}, "queries": [
        {"indexUid": "movies", "q": "a", "showRankingScore": true},
        {"indexUid": "books", "q": "b", "federationOptions": {"weight": 0.5}}]}))
}

#[test]
fn hits_of_every_query_merge_on_weighted_scores_and_keep_the_client_query_numbers() {
    let req = two_queries();
    // Node 0 got both queries; node 1 only the books query (its position 0 there).
    let n0 = answer(vec![hit(1, 4, "movies", 0, 1.0), hit(2, 4, "books", 1, 0.5), hit(3, 1, "movies", 0, 1.0)], 3, 2, json!({}));
    let n1 = answer(vec![hit(4, 4, "books", 0, 0.5)], 7, 5, json!({}));
    let out = merged(&req, &BTreeMap::new(), &[(n0, vec![0, 1]), (n1, vec![1])]);
    // movies: 1.0 and 0.25; books: 1.0 × 0.5 twice (tied: by shard).
    assert_eq!(ids(&out), vec![1, 2, 4]);
    assert_eq!(out["hits"][2]["_federation"]["queriesPosition"], json!(1), "renumbered as the client's");
    assert_eq!(out["hits"][2]["_federation"]["indexUid"], json!("books"));
    assert_eq!(out["estimatedTotalHits"], json!(10));
    assert_eq!(out["processingTimeMs"], json!(5));
    assert_eq!(out["limit"], json!(3));
    assert!(out["hits"][0].get("_rankingScore").is_some(), "the movies query asked for it");
    assert!(out["hits"][1].get("_rankingScore").is_none());
    assert!(out["hits"][1].get("_rankingScoreDetails").is_none());
    assert!(out["hits"][1].get("_miroir_shard").is_none());
    let keys: Vec<&str> = out.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["hits", "processingTimeMs", "limit", "offset", "estimatedTotalHits", "requestUid"]);
}

#[test]
fn equal_weighted_scores_go_to_the_earlier_query() {
    let req = request(json!({"federation": {}, "queries": [
        {"indexUid": "movies", "q": "a"}, {"indexUid": "books", "q": "a"}]}));
    let n0 = answer(vec![hit(7, 3, "books", 1, 1.0)], 1, 1, json!({}));
    let n1 = answer(vec![hit(8, 3, "movies", 0, 1.0)], 1, 1, json!({}));
    let out = merged(&req, &BTreeMap::new(), &[(n0, vec![0, 1]), (n1, vec![0, 1])]);
    assert_eq!(ids(&out), vec![8, 7]);
}

#[test]
fn federation_paging_applies_once_over_the_merged_list() {
    let req = request(json!({"federation": {"page": 2, "hitsPerPage": 2}, "queries": [{"indexUid": "movies", "q": "a"}]}));
    let node = |ids: &[(u64, u64)], total| {
        let hits = ids.iter().map(|&(id, m)| hit(id, m, "movies", 0, 1.0)).collect();
        let mut a: Value = serde_json::from_slice(&answer(hits, total, 1, json!({}))).unwrap();
        let o = a.as_object_mut().unwrap();
        for k in ["limit", "offset", "estimatedTotalHits"] {
            o.shift_remove(k);
        }
        o.insert("hitsPerPage".into(), json!(4));
        o.insert("page".into(), json!(1));
        o.insert("totalPages".into(), json!(1));
        o.insert("totalHits".into(), json!(total));
        a.to_string().into_bytes()
    };
    let n0 = node(&[(1, 4), (2, 3), (3, 1)], 3);
    let n1 = node(&[(4, 4), (5, 2)], 2);
    let out = merged(&req, &BTreeMap::new(), &[(n0, vec![0]), (n1, vec![0])]);
    assert_eq!(ids(&out), vec![2, 5]);
    assert_eq!((out["totalHits"].clone(), out["totalPages"].clone(), out["page"].clone()), (json!(5), json!(3), json!(2)));
}

#[test]
fn each_index_contributes_at_most_its_max_total_hits() {
    let req = two_queries();
    let settings = BTreeMap::from([("movies".to_string(), MergeSettings { max_total_hits: 1, ..MergeSettings::default() })]);
    let n0 = answer(vec![hit(1, 4, "movies", 0, 1.0), hit(3, 4, "movies", 0, 1.0), hit(2, 1, "books", 1, 0.5)], 3, 1, json!({}));
    let n1 = answer(vec![hit(5, 4, "movies", 0, 1.0)], 1, 1, json!({}));
    let out = merged(&req, &settings, &[(n0, vec![0, 1]), (n1, vec![0, 1])]);
    assert_eq!(ids(&out).len(), 2, "one movie, then the book: {out}");
    assert_eq!(ids(&out)[1], 2);
}

#[test]
fn facets_by_index_sum_per_index_and_cut_at_the_client_limit() {
    let req = request(json!({"federation": {"facetsByIndex": {"movies": ["genre"], "books": ["genre"]}}, "queries": [
        {"indexUid": "movies", "q": "a"}, {"indexUid": "books", "q": "a"}]}));
    let facets = |m: u64, b: u64| {
        json!({"facetsByIndex": {
            "books": {"distribution": {"genre": {"poetry": b}}, "stats": {}},
            "movies": {"distribution": {"genre": {"drama": m, "action": 1, "zzz": 1}}, "stats": {"year": {"min": 1990.0 + m as f64, "max": 2000.0}}}}})
    };
    let n0 = answer(vec![], 0, 1, facets(2, 3));
    let n1 = answer(vec![], 0, 1, facets(5, 1));
    let settings = BTreeMap::from([("movies".to_string(), MergeSettings { max_values_per_facet: 2, ..MergeSettings::default() })]);
    let out = merged(&req, &settings, &[(n0, vec![0, 1]), (n1, vec![0, 1])]);
    assert_eq!(
        out["facetsByIndex"],
        json!({"books": {"distribution": {"genre": {"poetry": 4}}, "stats": {}},
               "movies": {"distribution": {"genre": {"action": 2, "drama": 7}}, "stats": {"year": {"min": 1992.0, "max": 2000.0}}}})
    );
    let with_merge = request(json!({"federation": {"facetsByIndex": {"movies": ["genre"], "books": ["genre"]}, "mergeFacets": {"maxValuesPerFacet": 2}},
        "queries": [{"indexUid": "movies", "q": "a"}, {"indexUid": "books", "q": "a"}]}));
    let n0 = answer(vec![], 0, 1, facets(2, 3));
    let n1 = answer(vec![], 0, 1, facets(5, 1));
    let out = merged(&with_merge, &settings, &[(n0, vec![0, 1]), (n1, vec![0, 1])]);
    assert_eq!(out["facetDistribution"], json!({"genre": {"action": 2, "drama": 7}}));
    assert_eq!(out["facetStats"], json!({"year": {"min": 1992.0, "max": 2000.0}}));
    assert!(out.get("facetsByIndex").is_none());
}

#[test]
fn merged_facets_whose_indexes_order_them_differently_go_to_a_node() {
    let req = request(json!({"federation": {"facetsByIndex": {"movies": ["genre"], "books": ["genre"]}, "mergeFacets": {}},
        "queries": [{"indexUid": "movies", "q": "a"}, {"indexUid": "books", "q": "a"}]}));
    let mut count = MergeSettings::default();
    count.sort_facet_values_by.insert("genre".into(), FacetOrder::Count);
    let settings = BTreeMap::from([("books".to_string(), count)]);
    let facets = json!({"facetsByIndex": {"books": {"distribution": {"genre": {"a": 1}}, "stats": {}},
                                          "movies": {"distribution": {"genre": {"b": 1}}, "stats": {}}}});
    let body = answer(vec![], 0, 1, facets);
    let replies = [NodeReply { body: &body, queries: &[0, 1] }];
    assert!(matches!(merge_federated(&req, &settings, &replies).unwrap(), FederatedMerge::Relay));
}

#[test]
fn federation_distinct_keeps_one_hit_per_value_across_nodes_and_fixes_the_total() {
    let req = request(json!({"federation": {"distinct": "sku"}, "queries": [{"indexUid": "movies", "q": "a"}, {"indexUid": "books", "q": "a"}]}));
    let with_sku = |id, m, index: &str, pos, sku: &str| {
        let mut h = hit(id, m, index, pos, 1.0);
        h["sku"] = json!(sku);
        h
    };
    let n0 = answer(vec![with_sku(1, 4, "movies", 0, "x"), with_sku(2, 2, "books", 1, "y")], 2, 1, json!({}));
    let n1 = answer(vec![with_sku(3, 3, "books", 1, "X "), with_sku(4, 1, "movies", 0, "z")], 2, 1, json!({}));
    let out = merged(&req, &BTreeMap::new(), &[(n0, vec![0, 1]), (n1, vec![0, 1])]);
    assert_eq!(ids(&out), vec![1, 2, 4]);
    assert_eq!(out["estimatedTotalHits"], json!(3));
}

#[test]
fn each_node_gets_its_shards_ranking_details_and_the_whole_prefix() {
    let req = request(json!({"federation": {"offset": 5, "limit": 10, "mergeFacets": {}, "facetsByIndex": {"movies": ["g"], "books": ["g"], "other": ["g"]}},
        "queries": [{"indexUid": "movies", "q": "a", "filter": "g = 1"}, {"indexUid": "books", "q": "b", "attributesToRetrieve": ["title"]}]}));
    let body = req.node_body(&[(1, vec![2, 3])], &|_| MergeSettings::default());
    assert_eq!(body["queries"].as_array().unwrap().len(), 1);
    let q = &body["queries"][0];
    assert_eq!(q["indexUid"], json!("books"));
    assert_eq!(q["filter"], json!([crate::wire::shard_filter(&[2, 3])]));
    assert_eq!((q["showRankingScore"].clone(), q["showRankingScoreDetails"].clone()), (json!(true), json!(true)));
    assert_eq!(q["attributesToRetrieve"], json!(["title", "_miroir_shard"]));
    let f = &body["federation"];
    assert_eq!((f["offset"].clone(), f["limit"].clone()), (json!(0), json!(15)));
    assert!(f.get("mergeFacets").is_none(), "facets are merged per index by the gateway");
    assert_eq!(f["facetsByIndex"], json!({"books": ["g"], "other": ["g"]}), "movies is not searched here; other is only checked");
    let both = req.node_body(&[(0, vec![1]), (1, vec![1])], &|_| MergeSettings::default());
    assert_eq!(both["queries"][0]["filter"], json!(["g = 1", crate::wire::shard_filter(&[1])]));
}

#[test]
fn requests_a_node_refuses_are_not_read() {
    let refused = [
        json!({"federation": {}, "queries": [{"q": "a"}]}),
        json!({"federation": {}, "queries": [{"indexUid": "a", "federationOptions": {"weight": -1}}]}),
        json!({"federation": {}, "queries": [{"indexUid": "a", "federationOptions": {"weight": null}}]}),
        json!({"federation": {}, "queries": [{"indexUid": "a", "federationOptions": {"remote": "x"}}]}),
        json!({"federation": {"limit": null}, "queries": []}),
        json!({"federation": {"facetsByIndex": null}, "queries": []}),
        json!({"federation": {"mergeFacets": {"maxValuesPerFacet": "x"}}, "queries": []}),
        json!({"federation": {}, "queries": {}}),
    ];
    for body in refused {
        assert!(FederatedRequest::from_value(&body).is_none(), "{body}");
    }
    let fine = json!({"federation": {"page": null, "mergeFacets": null}, "queries": [{"indexUid": "a", "federationOptions": null}]});
    assert!(FederatedRequest::from_value(&fine).is_some());
}

#[test]
fn with_distinct_an_index_deduplicates_its_queries_before_its_cut() {
    let req = request(json!({"federation": {"distinct": "sku", "limit": 3}, "queries": [{"indexUid": "movies", "q": "a"}, {"indexUid": "movies", "q": "b"}]}));
    let with_sku = |id, m, pos, sku: &str| {
        let mut h = hit(id, m, "movies", pos, 1.0);
        h["sku"] = json!(sku);
        h
    };
    // Scores (words of 4): 4 > 3 > 2 > 1.
    let n0 = answer(vec![with_sku(1, 4, 0, "x"), with_sku(3, 3, 1, "x"), with_sku(4, 3, 1, "y"), with_sku(2, 2, 0, "y"), with_sku(6, 1, 1, "z")], 5, 1, json!({}));
    let out = merged(&req, &BTreeMap::new(), &[(n0, vec![0, 1])]);
    assert_eq!(ids(&out), vec![1, 4, 6]);
}
