//! Scatter-gather search through real Envoy: answers equal one node holding every
//! document, and node failures are covered by other replicas or named.

use std::collections::BTreeSet;

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

/// Real documents plus one carrying a keyword nothing else has.
fn documents() -> Vec<Value> {
    let mut docs = corpus::documents(3000);
    docs.push(json!({"id": 999_999, "name": "zyxquorble", "summary": "the only zyxquorble here", "month": "2020-01"}));
    docs
}

fn ids(answer: &Value) -> Vec<String> {
    answer["hits"].as_array().unwrap().iter().map(|h| h["id"].to_string()).collect()
}

fn search(client: &Client, index: &str, body: Value) -> Value {
    let answer = client.json("POST", &format!("/indexes/{index}/search"), &body);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header(DEGRADED), None, "{answer:?}");
    answer.body
}

#[test]
fn searches_answer_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs = documents();
    load(&mesh.client, "pkgs", &docs);
    load(&single.client, "pkgs", &docs);

    // A unique keyword stored once is found once.
    let found = search(&mesh.client, "pkgs", json!({"q": "zyxquorble"}));
    assert_eq!(ids(&found), vec!["999999"]);
    assert_eq!(found["estimatedTotalHits"], 1);

    // Facet counts sum across shards; totals match.
    for body in [
        json!({"q": "", "facets": ["month"], "limit": 0}),
        json!({"q": "python", "facets": ["month", "rank"], "filter": "month >= \"2019-01\""}),
        json!({"q": "", "facets": ["month"], "page": 2, "hitsPerPage": 5, "sort": ["id:asc"]}),
    ] {
        let (m, s) = (search(&mesh.client, "pkgs", body.clone()), search(&single.client, "pkgs", body.clone()));
        assert_eq!(m["facetDistribution"], s["facetDistribution"], "{body}");
        assert_eq!(m["facetStats"], s["facetStats"], "{body}");
        for total in ["estimatedTotalHits", "totalHits", "totalPages"] {
            assert_eq!(m[total], s[total], "{total} for {body}");
        }
    }

    // Paging through 10 pages: no duplicates, no gaps, the single node's order.
    let mut seen = Vec::new();
    for page in 1..=10 {
        let body = json!({"q": "", "sort": ["id:asc"], "page": page, "hitsPerPage": 20});
        let (m, s) = (search(&mesh.client, "pkgs", body.clone()), search(&single.client, "pkgs", body));
        assert_eq!(ids(&m), ids(&s), "page {page}");
        seen.extend(ids(&m));
    }
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 200, "duplicates across pages");

    // GET and POST agree, and sorted keyword searches keep the single node's order up to ties.
    let get = mesh.client.get("/indexes/pkgs/search?q=data&sort=rank:asc&limit=30&showRankingScoreDetails=true");
    assert_eq!(get.status, 200, "{get:?}");
    let wide = search(&single.client, "pkgs", json!({"q": "data", "sort": ["rank:asc"], "limit": 230, "showRankingScoreDetails": true}));
    same_up_to_ties(&get.body, &wide, 0, "id").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&get.body).len(), 30);
    for body in [
        json!({"q": "python web", "limit": 50}),
        json!({"q": "pyton", "limit": 20, "offset": 40}),
        json!({"q": "data", "sort": ["name:desc"], "limit": 20}),
        json!({"q": "http client", "filter": "rank EXISTS", "sort": ["rank:desc"]}),
    ] {
        let mut m = body.clone();
        m["showRankingScoreDetails"] = json!(true);
        let mut r = m.clone();
        r["limit"] = json!(body["limit"].as_u64().unwrap_or(20) + body["offset"].as_u64().unwrap_or(0) + 200);
        r["offset"] = json!(0);
        let got = search(&mesh.client, "pkgs", m);
        let wide = search(&single.client, "pkgs", r);
        let offset = body["offset"].as_u64().unwrap_or(0) as usize;
        same_up_to_ties(&got, &wide, offset, "id").unwrap_or_else(|e| panic!("{body}: {e}"));
    }

    // Count-ordered facets with more values than the cut: counts stay exact, and the
    // settings read back as set.
    let faceting = json!({"maxValuesPerFacet": 15, "sortFacetValuesBy": {"*": "count"}});
    for client in [&mesh.client, &single.client] {
        let answer = client.json("PATCH", "/indexes/pkgs/settings/faceting", &faceting);
        assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().unwrap())["status"], "succeeded");
    }
    let (m, s) = (mesh.client.get("/indexes/pkgs/settings/faceting"), single.client.get("/indexes/pkgs/settings/faceting"));
    assert_eq!(m.body, s.body);
    for body in [json!({"q": "", "facets": ["month"], "limit": 0}), json!({"q": "data", "facets": ["month", "rank"], "limit": 3})] {
        let (m, s) = (search(&mesh.client, "pkgs", body.clone()), search(&single.client, "pkgs", body.clone()));
        assert_eq!(m["facetDistribution"], s["facetDistribution"], "{body}");
    }
    let body = json!({"facetName": "month", "facetQuery": "20"});
    let (m, s) = (mesh.client.json("POST", "/indexes/pkgs/facet-search", &body), single.client.json("POST", "/indexes/pkgs/facet-search", &body));
    assert_eq!((m.status, &m.body["facetHits"]), (s.status, &s.body["facetHits"]));

    // What a single node refuses, Miroir refuses the same way.
    for body in [json!({"q": "x", "filter": "summary = 1"}), json!({"q": "x", "sort": ["summary:asc"]}), json!({"q": "x", "limit": "many"})] {
        let (m, s) = (mesh.client.json("POST", "/indexes/pkgs/search", &body), single.client.json("POST", "/indexes/pkgs/search", &body));
        assert_eq!((m.status, &m.body), (s.status, &s.body), "{body}");
    }
}

#[test]
fn with_rf_2_and_one_node_down_every_shard_is_still_covered() {
    let mesh = Mesh::start(MeshSpec::default());
    let docs = documents();
    load(&mesh.client, "pkgs", &docs);
    let before = search(&mesh.client, "pkgs", json!({"q": "", "limit": 0}));
    mesh.kill_node(1);
    for _ in 0..5 {
        let after = search(&mesh.client, "pkgs", json!({"q": "", "limit": 0}));
        assert_eq!(after["estimatedTotalHits"], before["estimatedTotalHits"]);
        assert_eq!(ids(&search(&mesh.client, "pkgs", json!({"q": "zyxquorble"}))), vec!["999999"]);
    }
}

#[test]
fn with_a_whole_group_down_the_other_group_answers_in_full() {
    let mesh = Mesh::start(MeshSpec { nodes: 4, rf: 1, shards: 16, groups: 2 });
    let docs = documents();
    load(&mesh.client, "pkgs", &docs);
    mesh.kill_node(0);
    mesh.kill_node(2);
    for _ in 0..5 {
        let all = search(&mesh.client, "pkgs", json!({"q": "", "limit": 0}));
        assert_eq!(all["estimatedTotalHits"], docs.len());
        let exhaustive = search(&mesh.client, "pkgs", json!({"q": "", "hitsPerPage": 1}));
        assert_eq!(exhaustive["totalHits"], docs.len());
        assert_eq!(ids(&search(&mesh.client, "pkgs", json!({"q": "zyxquorble"}))), vec!["999999"]);
    }
}

#[test]
fn with_every_replica_of_some_shards_down_the_answer_names_them() {
    let mesh = Mesh::start(MeshSpec { nodes: 3, rf: 1, shards: 16, groups: 1 });
    let docs = documents();
    load(&mesh.client, "pkgs", &docs);
    mesh.kill_node(1);
    let lost = mesh.placement("pkgs").shards_on(1);
    let expected = format!("shards={}", lost.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
    let answer = mesh.client.json("POST", "/indexes/pkgs/search", &json!({"q": "", "limit": 5}));
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header(DEGRADED), Some(expected.as_str()));
    let strict = {
        let req = ureq::post(&format!("{}/indexes/pkgs/search", mesh.client.base))
            .set("Authorization", &format!("Bearer {}", miroir_e2e::MASTER_KEY))
            .set("Content-Type", "application/json")
            .set("X-Miroir-Degraded-Policy", "fail");
        match req.send_string(r#"{"q": ""}"#) {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(code, _)) => code,
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(strict, 503);
    // The filter's own metrics reach Envoy's stats.
    assert!(mesh.envoy_stat("miroir_degraded_answers").is_some_and(|n| n >= 1), "degraded answers are counted");
    assert!(mesh.envoy_stat("miroir_requests_search").is_some_and(|n| n >= 2), "searches are counted");
    assert!(mesh.envoy_stat("miroir_requests_write_documents").is_some_and(|n| n >= 1), "writes are counted");
}
