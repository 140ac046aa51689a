//! `POST /multi-search`, plain and federated, through real Envoy: answers equal one
//! node holding every document of both indexes, up to ties.

use miroir_e2e::ties::same_up_to_ties;
use miroir_e2e::{corpus, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

const DEGRADED: &str = miroir_core::wire::DEGRADED_HEADER;

fn load(client: &Client, index: &str, docs: &[Value]) {
    let settings = json!({"filterableAttributes": ["month", "rank"], "sortableAttributes": ["id", "rank", "name"]});
    let answer = client.json("PATCH", &format!("/indexes/{index}/settings"), &settings);
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().unwrap())["status"], "succeeded");
    let task = client.write_and_wait("POST", &format!("/indexes/{index}/documents?primaryKey=id"), "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn multi(client: &Client, body: &Value) -> Value {
    let answer = client.json("POST", "/multi-search", body);
    assert_eq!(answer.status, 200, "{body}: {answer:?}");
    assert_eq!(answer.header(DEGRADED), None, "{answer:?}");
    answer.body
}

/// Federated hits keyed for [`same_up_to_ties`]: the ranking details with the query
/// they answer (ties between queries go to the earlier one), and `index/id` as identity.
fn keyed(answer: &Value) -> Value {
    let hits: Vec<Value> = answer["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let f = &h["_federation"];
            json!({"uid": format!("{}/{}", f["indexUid"], h["id"]),
                   "_rankingScoreDetails": {"details": h["_rankingScoreDetails"], "query": f["queriesPosition"],
                                            "weighted": f["weightedRankingScore"]}})
        })
        .collect();
    json!({"hits": hits})
}

/// `body` with every query showing its ranking details.
fn with_details(body: &Value) -> Value {
    let mut body = body.clone();
    for q in body["queries"].as_array_mut().into_iter().flatten() {
        q["showRankingScoreDetails"] = json!(true);
    }
    body
}

/// The reference asks for the whole prefix and then some, so tie groups are seen whole.
fn wide(body: &Value) -> Value {
    let mut wide = body.clone();
    let f = &body["federation"];
    let end = match (f["page"].as_u64(), f["hitsPerPage"].as_u64()) {
        (None, None) => f["offset"].as_u64().unwrap_or(0) + f["limit"].as_u64().unwrap_or(20),
        (page, per) => page.unwrap_or(1) * per.unwrap_or(20),
    };
    let fed = wide["federation"].as_object_mut().unwrap();
    for k in ["page", "hitsPerPage", "offset", "limit"] {
        fed.shift_remove(k);
    }
    fed.insert("limit".into(), json!(end + 200));
    wide
}

fn offset_of(body: &Value) -> usize {
    let f = &body["federation"];
    match (f["page"].as_u64(), f["hitsPerPage"].as_u64()) {
        (None, None) => f["offset"].as_u64().unwrap_or(0) as usize,
        (page, per) => (page.unwrap_or(1).saturating_sub(1) * per.unwrap_or(20)) as usize,
    }
}

fn check_federated(mesh: &Client, single: &Client, body: &Value) {
    let shown = with_details(body);
    let got = multi(mesh, &shown);
    let reference = multi(single, &shown);
    let reference_wide = multi(single, &wide(&shown));
    if body["federation"].get("distinct").is_some() {
        // Of tied hits sharing a value, each side keeps the one it orders first: the
        // same ranking keys, not always the same documents.
        let key_list = |v: &Value| -> Vec<String> {
            keyed(v)["hits"].as_array().unwrap().iter().map(|h| format!("{}@{}", h["_rankingScoreDetails"]["query"], h["_rankingScoreDetails"]["weighted"])).collect()
        };
        assert_eq!(key_list(&got), key_list(&reference), "{body}");
    } else {
        same_up_to_ties(&keyed(&got), &keyed(&reference_wide), offset_of(body), "uid").unwrap_or_else(|e| panic!("{body}: {e}"));
    }
    assert_eq!(got["hits"].as_array().map(Vec::len), reference["hits"].as_array().map(Vec::len), "{body}");
    // With `distinct`, a node's total only estimates how many distinct values matched
    // (milli removes duplicates only as far as it ranked): not compared.
    let totals: &[&str] = if body["federation"].get("distinct").is_some() { &[] } else { &["estimatedTotalHits", "totalHits", "totalPages"] };
    for field in totals.iter().chain(&["page", "hitsPerPage", "limit", "offset", "facetsByIndex", "facetDistribution", "facetStats"]) {
        assert_eq!(got.get(field), reference.get(field), "{field} for {body}");
    }
    // As the client asked: no ranking details unless asked, no shard field ever.
    let plain = multi(mesh, body);
    let keys = |v: &Value| -> Vec<String> { v["hits"][0].as_object().map(|h| h.keys().cloned().collect()).unwrap_or_default() };
    assert_eq!(keys(&plain), keys(&multi(single, body)), "{body}");
}

#[test]
fn multi_search_answers_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs = corpus::documents(5000);
    let (first, second) = docs.split_at(3000);
    for client in [&mesh.client, &single.client] {
        load(client, "pkgs", first);
        load(client, "more", second);
    }

    // Plain multi-search: every query its own sharded search.
    let body = json!({"queries": [
        {"indexUid": "pkgs", "q": "python web", "showRankingScoreDetails": true, "limit": 30},
        {"indexUid": "more", "q": "data", "facets": ["month"], "showRankingScoreDetails": true, "sort": ["rank:asc"]},
        {"indexUid": "pkgs", "q": "", "page": 2, "hitsPerPage": 7, "sort": ["id:asc"], "showRankingScoreDetails": true}]});
    let (got, reference) = (multi(&mesh.client, &body), multi(&single.client, &body));
    let mut wide_body = body.clone();
    for q in wide_body["queries"].as_array_mut().unwrap() {
        let q = q.as_object_mut().unwrap();
        let end = q.get("limit").and_then(Value::as_u64).unwrap_or(20).max(14);
        for k in ["page", "hitsPerPage", "limit"] {
            q.shift_remove(k);
        }
        q.insert("limit".into(), json!(end + 200));
    }
    let reference_wide = multi(&single.client, &wide_body);
    for (i, offset) in [0, 0, 7].into_iter().enumerate() {
        let (g, r) = (&got["results"][i], &reference["results"][i]);
        same_up_to_ties(g, &reference_wide["results"][i], offset, "id").unwrap_or_else(|e| panic!("query {i}: {e}"));
        for field in ["indexUid", "estimatedTotalHits", "totalHits", "totalPages", "facetDistribution", "facetStats"] {
            assert_eq!(g.get(field), r.get(field), "{field} of query {i}");
        }
    }

    // Federated: weights, paging, facets by index and merged, sorts, distinct.
    let two_indexes = |federation: Value| {
        json!({"federation": federation, "queries": [
            {"indexUid": "pkgs", "q": "python"},
            {"indexUid": "more", "q": "python", "federationOptions": {"weight": 0.9}},
            {"indexUid": "pkgs", "q": "web framework", "showRankingScore": true}]})
    };
    for body in [
        two_indexes(json!({})),
        two_indexes(json!({"offset": 30, "limit": 10})),
        two_indexes(json!({"page": 3, "hitsPerPage": 15})),
        two_indexes(json!({"facetsByIndex": {"pkgs": ["month", "rank"], "more": ["month"]}, "limit": 5})),
        two_indexes(json!({"facetsByIndex": {"pkgs": ["month"], "more": ["month"]}, "mergeFacets": {"maxValuesPerFacet": 7}})),
        two_indexes(json!({"distinct": "month", "limit": 30})),
        json!({"federation": {"limit": 25}, "queries": [
            {"indexUid": "pkgs", "q": "", "sort": ["rank:asc"], "filter": "rank EXISTS"},
            {"indexUid": "more", "q": "", "sort": ["rank:asc"], "filter": "rank EXISTS", "federationOptions": {"weight": 2.0}}]}),
        json!({"federation": {"hitsPerPage": 10}, "queries": [{"indexUid": "more", "q": "pyton clint"}, {"indexUid": "more", "q": "http"}]}),
    ] {
        check_federated(&mesh.client, &single.client, &body);
    }

    // What a single node refuses, Miroir refuses the same way.
    for body in [
        json!({"federation": {}, "queries": [{"indexUid": "pkgs", "q": "x", "limit": 5}]}),
        json!({"federation": {}, "queries": [{"indexUid": "nope", "q": "x"}]}),
        json!({"federation": {"facetsByIndex": {"pkgs": ["summary"]}}, "queries": [{"indexUid": "pkgs", "q": "x"}]}),
        json!({"federation": {"limit": -1}, "queries": [{"indexUid": "pkgs", "q": "x"}]}),
        json!({"federation": {}, "queries": [{"indexUid": "pkgs", "q": "x", "federationOptions": {"weight": -2}}]}),
        json!({"federation": {}, "queries": [{"indexUid": "pkgs", "q": "x", "filter": "summary = 1"}]}),
        json!({"queries": [{"indexUid": "pkgs", "q": "x", "federationOptions": {}}]}),
    ] {
        let (m, s) = (mesh.client.json("POST", "/multi-search", &body), single.client.json("POST", "/multi-search", &body));
        assert_eq!((m.status, &m.body), (s.status, &s.body), "{body}");
    }
}
