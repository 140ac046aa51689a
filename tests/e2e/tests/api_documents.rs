//! Browsing, deleting by filter, clearing and editing documents through real Envoy,
//! compared with one Meilisearch node holding every document.

use std::collections::BTreeSet;

use miroir_e2e::{corpus, Answer, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

const SHARD_FIELD: &str = miroir_core::wire::SHARD_FIELD;

fn load(client: &Client, index: &str, docs: &[Value]) {
    let settings = json!({"filterableAttributes": ["month", "rank"], "sortableAttributes": ["id", "rank", "name", "month"]});
    let answer = client.json("PATCH", &format!("/indexes/{index}/settings"), &settings);
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().unwrap())["status"], "succeeded");
    let task = client.write_and_wait("POST", &format!("/indexes/{index}/documents?primaryKey=id"), "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn fetch(client: &Client, index: &str, body: &Value) -> Answer {
    client.json("POST", &format!("/indexes/{index}/documents/fetch"), body)
}

fn ok(answer: Answer) -> Value {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header(miroir_core::wire::DEGRADED_HEADER), None, "{answer:?}");
    answer.body
}

fn ids(page: &Value) -> Vec<String> {
    page["results"].as_array().unwrap().iter().map(|d| d["id"].to_string()).collect()
}

/// Status, code and message: what a client reads of an error.
fn error_of(answer: &Answer) -> (u16, Value, Value) {
    (answer.status, answer.body["code"].clone(), answer.body["message"].clone())
}

#[test]
fn browsing_answers_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs = corpus::documents(2500);
    load(&mesh.client, "pkgs", &docs);
    load(&single.client, "pkgs", &docs);

    // Sorted on a unique key: the same documents in the same order, fields as asked.
    for body in [
        json!({"sort": ["rank:asc", "id:asc"], "limit": 30}),
        json!({"sort": ["rank:desc", "id:desc"], "offset": 95, "limit": 40, "fields": ["name"]}),
        json!({"sort": ["name:asc", "id:asc"], "offset": 7, "limit": 25, "filter": "month >= \"2019-01\"", "fields": ["id", "month"]}),
        json!({"sort": ["month:desc", "id:asc"], "filter": [["rank < 100", "rank > 2000"]], "limit": 50}),
        json!({"sort": ["id:desc"], "ids": [5, "17", 2, 999_999_999, 1200], "limit": 3, "offset": 1}),
        json!({"sort": ["rank:asc", "id:asc"], "offset": 2490, "limit": 30}),
    ] {
        let (m, s) = (ok(fetch(&mesh.client, "pkgs", &body)), ok(fetch(&single.client, "pkgs", &body)));
        assert_eq!(m, s, "{body}");
    }
    let query = "limit=12&offset=3&sort=rank:desc,id:asc&fields=id,rank&filter=rank%20%3E%20500";
    assert_eq!(ok(mesh.client.get(&format!("/indexes/pkgs/documents?{query}"))), ok(single.client.get(&format!("/indexes/pkgs/documents?{query}"))));

    // Ties on the sort value: the same sequence of values, the same total.
    let body = json!({"sort": ["month:asc"], "limit": 200, "fields": ["month"]});
    let (m, s) = (ok(fetch(&mesh.client, "pkgs", &body)), ok(fetch(&single.client, "pkgs", &body)));
    assert_eq!(m["results"], s["results"], "only months are shown: equal up to ties means equal");

    // Without sort: exact totals, and pages walk every matching document exactly once.
    for filter in [Value::Null, json!("month >= \"2020-01\"")] {
        let all: BTreeSet<String> = ids(&ok(fetch(&single.client, "pkgs", &json!({"filter": filter, "limit": 100_000})))).into_iter().collect();
        let mut walked = Vec::new();
        for page in 0.. {
            let p = ok(fetch(&mesh.client, "pkgs", &json!({"filter": filter, "offset": page * 400, "limit": 400})));
            assert_eq!(p["total"], all.len(), "{filter}");
            assert!(p["results"].as_array().unwrap().iter().all(|d| d.get(SHARD_FIELD).is_none()));
            let got = ids(&p);
            if got.is_empty() {
                break;
            }
            walked.extend(got);
        }
        // Shallow pages (one round) follow the same order as deep ones (counts first).
        let shallow: Vec<String> =
            (0..5).flat_map(|page| ids(&ok(fetch(&mesh.client, "pkgs", &json!({"filter": filter, "offset": page * 20, "limit": 20}))))).collect();
        assert_eq!(shallow, walked[..100.min(walked.len())], "{filter}");
        assert_eq!(walked.len(), all.len(), "no document twice");
        assert_eq!(walked.into_iter().collect::<BTreeSet<_>>(), all);
        // One page holding everything: every shard's whole slice in one answer.
        let whole = ok(fetch(&mesh.client, "pkgs", &json!({"filter": filter, "limit": 100_000})));
        assert_eq!(ids(&whole).into_iter().collect::<BTreeSet<_>>(), all);
    }
    let vectors = json!({"sort": ["id:asc"], "limit": 5, "retrieveVectors": true});
    assert_eq!(ok(fetch(&mesh.client, "pkgs", &vectors)), ok(fetch(&single.client, "pkgs", &vectors)));
    let default_get = ok(mesh.client.get("/indexes/pkgs/documents"));
    assert_eq!((default_get["limit"].clone(), default_get["offset"].clone(), default_get["total"].clone()), (json!(20), json!(0), json!(docs.len())));
    assert!(default_get["results"][0].get(SHARD_FIELD).is_none());
}

#[test]
fn browse_errors_are_a_single_nodes() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs = corpus::documents(200);
    load(&mesh.client, "pkgs", &docs);
    load(&single.client, "pkgs", &docs);
    for body in [
        json!({"filter": "summary = x"}),
        json!({"filter": "month >>= 3"}),
        json!({"sort": ["summary:asc"]}),
        json!({"sort": ["rank:up"]}),
        json!({"limit": -1}),
        json!({"fields": "name"}),
        json!({"nope": 1}),
    ] {
        let (m, s) = (fetch(&mesh.client, "pkgs", &body), fetch(&single.client, "pkgs", &body));
        assert_eq!(error_of(&m), error_of(&s), "{body}");
        assert!(!m.body["message"].to_string().contains(SHARD_FIELD), "{m:?}");
    }
    for query in ["filter=summary%20%3D%20x", "limit=abc", "sort=summary:asc", "unknown=1"] {
        let path = format!("/indexes/pkgs/documents?{query}");
        assert_eq!(error_of(&mesh.client.get(&path)), error_of(&single.client.get(&path)), "{query}");
    }
    let missing = json!({"limit": 1});
    assert_eq!(error_of(&fetch(&mesh.client, "nothere", &missing)), error_of(&fetch(&single.client, "nothere", &missing)));
}

/// Node tasks across the mesh: a refused request must leave none.
fn node_tasks(mesh: &Mesh) -> u64 {
    mesh.nodes.iter().map(|n| n.get("/tasks?limit=1").body["total"].as_u64().unwrap_or(0)).sum()
}

fn total(client: &Client, index: &str) -> Value {
    ok(fetch(client, index, &json!({"limit": 0})))["total"].clone()
}

#[test]
fn delete_by_filter_clear_and_edit_act_on_every_node_as_one_task() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let docs = corpus::documents(1500);
    load(&mesh.client, "pkgs", &docs);
    load(&single.client, "pkgs", &docs);

    // Refused requests: the same error, and nothing enqueued anywhere.
    let before = node_tasks(&mesh);
    for body in [json!({}), json!({"filter": "month >>= 3"}), json!({"filter": 3})] {
        let (m, s) = (
            mesh.client.json("POST", "/indexes/pkgs/documents/delete", &body),
            single.client.json("POST", "/indexes/pkgs/documents/delete", &body),
        );
        assert_eq!(error_of(&m), error_of(&s), "{body}");
    }
    let edit = json!({"function": "doc.name = \"x\""});
    let (m, s) = (mesh.client.json("POST", "/indexes/pkgs/documents/edit", &edit), single.client.json("POST", "/indexes/pkgs/documents/edit", &edit));
    assert_eq!(error_of(&m), error_of(&s), "edit without the experimental feature");
    assert_eq!(node_tasks(&mesh), before, "a refused request reaches no node");

    // Delete by filter: one task, the same documents left.
    let body = json!({"filter": "month < \"2018-06\" OR rank > 1000"});
    let (m, s) = (
        mesh.client.json("POST", "/indexes/pkgs/documents/delete", &body),
        single.client.json("POST", "/indexes/pkgs/documents/delete", &body),
    );
    assert_eq!((m.status, m.body["type"].clone()), (s.status, s.body["type"].clone()));
    let task = mesh.client.wait_task(m.body["taskUid"].as_u64().unwrap());
    assert_eq!(task["status"], "succeeded", "{task}");
    let reference = single.client.wait_task(s.body["taskUid"].as_u64().unwrap());
    assert_eq!(reference["status"], "succeeded");
    assert_eq!((&task["type"], &task["details"]), (&reference["type"], &reference["details"]), "each document counted once");
    assert_eq!(total(&mesh.client, "pkgs"), total(&single.client, "pkgs"));
    let sorted = json!({"sort": ["id:asc"], "limit": 2000, "fields": ["id"]});
    assert_eq!(ok(fetch(&mesh.client, "pkgs", &sorted)), ok(fetch(&single.client, "pkgs", &sorted)));

    // Clear: one task, nothing left anywhere.
    let (m, s) = (mesh.client.send("DELETE", "/indexes/pkgs/documents", None, None), single.client.send("DELETE", "/indexes/pkgs/documents", None, None));
    assert_eq!((m.status, m.body["type"].clone()), (s.status, s.body["type"].clone()));
    let task = mesh.client.wait_task(m.body["taskUid"].as_u64().unwrap());
    let reference = single.client.wait_task(s.body["taskUid"].as_u64().unwrap());
    assert_eq!((&task["status"], &task["details"]), (&reference["status"], &reference["details"]));
    assert_eq!(total(&mesh.client, "pkgs"), json!(0));
    for node in &mesh.nodes {
        assert_eq!(total(node, "pkgs"), json!(0));
    }
}

#[test]
fn fields_are_every_nodes_fields_united() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    // Few documents, one field on a single document: most nodes do not know it.
    let mut docs = corpus::documents(40);
    docs.push(json!({"id": 1_000_001, "name": "lonely", "onlyHere": true}));
    load(&mesh.client, "pkgs", &docs);
    load(&single.client, "pkgs", &docs);
    for body in [json!({}), json!({"offset": 1, "limit": 3}), json!({"filter": {"filterable": true}}), json!({"offset": 5})] {
        let (m, s) = (ok(mesh.client.json("POST", "/indexes/pkgs/fields", &body)), ok(single.client.json("POST", "/indexes/pkgs/fields", &body)));
        assert_eq!(m, s, "{body}");
    }
    for body in [json!({"limit": -2}), json!({"nope": true})] {
        let (m, s) = (mesh.client.json("POST", "/indexes/pkgs/fields", &body), single.client.json("POST", "/indexes/pkgs/fields", &body));
        assert_eq!(error_of(&m), error_of(&s), "{body}");
    }
}

#[test]
fn index_listing_pages_like_a_single_node() {
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    for (uid, key) in [("alpha", Some("id")), ("beta", None), ("gamma", Some("sku")), ("delta", Some("id"))] {
        for client in [&mesh.client, &single.client] {
            let answer = client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": key}));
            assert_eq!(answer.status, 202, "{answer:?}");
            assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().unwrap())["status"], "succeeded");
        }
    }
    // Dates differ between two installations: compare what else a listing says.
    let summary = |page: Value| {
        let indexes: Vec<Value> = page["results"].as_array().unwrap().iter().map(|i| json!([i["uid"], i["primaryKey"]])).collect();
        json!([indexes, page["offset"], page["limit"], page["total"]])
    };
    for query in ["", "?limit=2", "?offset=1&limit=2", "?offset=3"] {
        let path = format!("/indexes{query}");
        assert_eq!(summary(ok(mesh.client.get(&path))), summary(ok(single.client.get(&path))), "{query}");
    }
    let bad = "/indexes?limit=x";
    assert_eq!(error_of(&mesh.client.get(bad)), error_of(&single.client.get(bad)));
}
