//! `POST /swap-indexes` through Miroir against one Meilisearch: two indexes with different
//! documents and settings swapped, then one renamed, read back alike (task, documents,
//! searches, stats, settings); bodies refused with Meilisearch's own errors; and a
//! writer adding documents to both indexes while they swap, after which every
//! acknowledged document sits, once, on exactly its owners under the served map.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use miroir_core::id::canonical_id;
use miroir_core::placement::IndexPlacement;
use miroir_e2e::{Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

/// A short drain: the test's requests finish in milliseconds (the default is 2 s).
const DRAIN: [&str; 2] = ["--swap-drain-ms", "500"];

fn mesh() -> Mesh {
    Mesh::start_with(MeshSpec::default(), &DRAIN)
}

fn task(client: &Client, answer: miroir_e2e::Answer) -> Value {
    assert_eq!(answer.status, 202, "{answer:?}");
    client.wait_task(answer.body["taskUid"].as_u64().expect("a taskUid"))
}

fn setup(client: &Client) {
    let left: Vec<Value> = (0..30).map(|i| json!({"id": i, "title": format!("left story {i}"), "genre": if i % 2 == 0 { "drama" } else { "comedy" }})).collect();
    let right: Vec<Value> = (0..12).map(|i| json!({"sku": format!("r-{i}"), "title": format!("right gadget {i}"), "price": i * 3})).collect();
    for (uid, pk, docs, settings) in [
        ("left", "id", left, json!({"filterableAttributes": ["genre"], "searchableAttributes": ["title"]})),
        ("right", "sku", right, json!({"sortableAttributes": ["price"], "rankingRules": ["sort", "words", "typo", "proximity", "attribute", "exactness"]})),
    ] {
        assert_eq!(task(client, client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": pk})))["status"], "succeeded");
        assert_eq!(task(client, client.json("PATCH", &format!("/indexes/{uid}/settings"), &settings))["status"], "succeeded");
        assert_eq!(task(client, client.json("POST", &format!("/indexes/{uid}/documents"), &Value::Array(docs)))["status"], "succeeded");
    }
}

/// What a client can read of an index, with fields that differ between deployments left out.
fn view(client: &Client, uid: &str) -> Value {
    let index = client.get(&format!("/indexes/{uid}"));
    if index.status != 200 {
        return json!({"status": index.status, "code": index.code()});
    }
    let pk = index.body["primaryKey"].as_str().unwrap_or_default().to_string();
    let docs = client.get(&format!("/indexes/{uid}/documents?limit=1000"));
    let mut results: Vec<Value> = docs.body["results"].as_array().cloned().unwrap_or_default();
    results.sort_by_key(|d| d[&pk].to_string());
    let stats = client.get(&format!("/indexes/{uid}/stats")).body;
    let search = client.json("POST", &format!("/indexes/{uid}/search"), &json!({"q": "story gadget", "limit": 100})).body;
    let mut hits: Vec<String> = search["hits"].as_array().into_iter().flatten().map(|h| h[&pk].to_string()).collect();
    hits.sort();
    let sorted = client.json("POST", &format!("/indexes/{uid}/search"), &json!({"sort": ["price:desc"], "limit": 5}));
    json!({
        "primaryKey": pk,
        "documents": results,
        "total": docs.body["total"],
        "stats": {"numberOfDocuments": stats["numberOfDocuments"], "fieldDistribution": stats["fieldDistribution"]},
        "settings": client.get(&format!("/indexes/{uid}/settings")).body,
        "hits": hits,
        "totalHits": search["estimatedTotalHits"],
        "sorted": if sorted.status == 200 { sorted.body["hits"].clone() } else { json!(sorted.code()) },
    })
}

/// A finished task without what differs between deployments (uids, times).
fn task_shape(t: &Value) -> Value {
    json!({"status": t["status"], "type": t["type"], "indexUid": t["indexUid"], "details": t["details"], "error": t["error"]["code"]})
}

/// The task list as (type, indexUid, status, details.swaps), newest first.
fn history(client: &Client) -> Vec<Value> {
    let list = client.get("/tasks?limit=1000");
    assert_eq!(list.status, 200, "{list:?}");
    list.body["results"].as_array().into_iter().flatten().map(|t| json!([t["type"], t["indexUid"], t["status"], t["details"]["swaps"]])).collect()
}

fn swap_both(miroir: &Client, single: &Client, body: &Value) {
    let (a, b) = (miroir.json("POST", "/swap-indexes", body), single.json("POST", "/swap-indexes", body));
    assert_eq!((a.status, &a.body["type"], &a.body["indexUid"]), (b.status, &b.body["type"], &b.body["indexUid"]));
    let (a, b) = (task(miroir, a), task(single, b));
    assert_eq!(task_shape(&a), task_shape(&b), "miroir {a} single {b}");
    // Earlier tasks now name the other index, as a node's history does.
    assert_eq!(history(miroir), history(single));
}

#[test]
fn a_swap_and_a_rename_read_back_as_on_one_node() {
    let mesh = mesh();
    let single = SingleNode::start();
    setup(&mesh.client);
    setup(&single.client);
    let names = ["left", "right", "renamed"];
    let before: Vec<Value> = names.iter().map(|n| view(&mesh.client, n)).collect();
    assert_eq!(before, names.iter().map(|n| view(&single.client, n)).collect::<Vec<_>>());

    swap_both(&mesh.client, &single.client, &json!([{"indexes": ["left", "right"]}]));
    let swapped: Vec<Value> = names.iter().map(|n| view(&mesh.client, n)).collect();
    assert_eq!(swapped, names.iter().map(|n| view(&single.client, n)).collect::<Vec<_>>());
    assert_eq!((&swapped[0], &swapped[1]), (&before[1], &before[0]), "the names exchanged their contents");
    let map = mesh.served_map();
    assert_eq!(map.placement_key_of("left"), "right");
    assert!(!map.is_fenced("left") && !map.is_fenced("right"));

    swap_both(&mesh.client, &single.client, &json!([{"indexes": ["left", "renamed"], "rename": true}]));
    let renamed: Vec<Value> = names.iter().map(|n| view(&mesh.client, n)).collect();
    assert_eq!(renamed, names.iter().map(|n| view(&single.client, n)).collect::<Vec<_>>());
    assert_eq!(renamed[2], before[1]);
    assert_eq!(renamed[0]["status"], 404);

    // Writes after the swap land where the new names place them, and read back.
    let more = json!([{"sku": "r-new", "title": "right gadget new", "price": 99}]);
    for client in [&mesh.client, &single.client] {
        assert_eq!(task(client, client.json("POST", "/indexes/renamed/documents", &more))["status"], "succeeded");
    }
    assert_eq!(view(&mesh.client, "renamed"), view(&single.client, "renamed"));

    // A swap naming a missing index fails as its task, and changes nothing.
    swap_both(&mesh.client, &single.client, &json!([{"indexes": ["right", "nowhere"]}]));
    swap_both(&mesh.client, &single.client, &json!([{"indexes": ["right", "renamed"], "rename": true}]));
    assert_eq!(view(&mesh.client, "right"), view(&single.client, "right"));
    assert_eq!(view(&mesh.client, "renamed"), view(&single.client, "renamed"));
}

#[test]
fn bad_bodies_are_refused_as_meilisearch_refuses_them() {
    let mesh = mesh();
    let single = SingleNode::start();
    let bodies = [
        r#"{}"#,
        r#"[{"indexes": ["a"]}]"#,
        r#"[{"indexes": ["a", "b"], "rename": "yes"}]"#,
        r#"[{"indexes": ["a", "b"]}, {"indexes": ["b", "c"]}]"#,
        r#"[{"indexes": ["a b", "c"]}]"#,
        r#"[{"indexez": ["a", "b"]}]"#,
        r#"[{}]"#,
        r#"[{"#,
    ];
    for body in bodies {
        let [a, b] = [&mesh.client, &single.client].map(|c| c.send("POST", "/swap-indexes", Some("application/json"), Some(body.as_bytes())));
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{body}");
    }
    let [a, b] = [&mesh.client, &single.client].map(|c| c.send("POST", "/swap-indexes", Some("text/plain"), Some(b"[]")));
    assert_eq!((a.status, a.code()), (b.status, b.code()));
    // A key that may swap only `a*` indexes: refused on any other, in Meilisearch's order.
    let spec = json!({"uid": "6f1ab0e2-58b8-4a57-9d43-2c4e3b4f2a10", "actions": ["indexes.swap"], "indexes": ["a*"], "expiresAt": null});
    let keys = [&mesh.client, &single.client].map(|c| c.json("POST", "/keys", &spec));
    assert_eq!(keys[0].body["key"], keys[1].body["key"], "{keys:?}");
    let key = keys[0].body["key"].as_str().expect("a key").to_string();
    let limited = [Client::new(mesh.client.base.clone(), &key), Client::new(single.client.base.clone(), &key)];
    for body in [
        r#"[{"indexes": ["a1", "b1"]}]"#,
        r#"[{"indexes": ["b1"]}]"#,
        r#"[{"indexes": ["b1", "a1"]}, {"indexes": ["a3"]}]"#,
        r#"[{"indexes": ["a1", "a2"]}, {"indexes": ["a2", "a3"]}]"#,
        r#"{}"#,
    ] {
        let [a, b] = limited.each_ref().map(|c| c.send("POST", "/swap-indexes", Some("application/json"), Some(body.as_bytes())));
        assert_eq!((a.status, &a.body), (b.status, &b.body), "{body}");
    }
    // Nothing reached a node: their task queues hold no swap.
    for node in &mesh.nodes {
        assert_eq!(node.get("/tasks?types=indexSwap").body["total"], 0, "{}", node.base);
    }
}

/// Every document a node holds in `uid`, by canonical id.
fn stored(node: &Client, uid: &str, pk: &str) -> BTreeSet<String> {
    let answer = node.json("POST", &format!("/indexes/{uid}/documents/fetch"), &json!({"limit": 100_000}));
    assert_eq!(answer.status, 200, "{} {answer:?}", node.base);
    answer.body["results"].as_array().into_iter().flatten().filter_map(|d| canonical_id(&d[pk]).ok()).collect()
}

#[test]
fn writes_racing_a_swap_are_kept_and_sit_on_their_owners() {
    let mesh = mesh();
    let client = mesh.client.clone();
    for uid in ["east", "west"] {
        assert_eq!(task(&client, client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": "id"})))["status"], "succeeded");
        let docs: Vec<Value> = (0..20).map(|i| json!({"id": format!("{uid}-seed-{i}"), "from": uid})).collect();
        assert_eq!(task(&client, client.json("POST", &format!("/indexes/{uid}/documents"), &Value::Array(docs)))["status"], "succeeded");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, stop) = (client.clone(), stop.clone());
        thread::spawn(move || {
            let mut acked: Vec<(String, String, u64)> = Vec::new();
            let mut k = 0u64;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let uid = if k % 2 == 0 { "east" } else { "west" };
                let id = format!("{uid}-w-{k}");
                let answer = client.json("POST", &format!("/indexes/{uid}/documents"), &json!([{"id": id, "from": uid}]));
                if answer.status == 202 {
                    acked.push((uid.to_string(), id, answer.body["taskUid"].as_u64().unwrap_or(u64::MAX)));
                }
            }
            acked
        })
    };
    thread::sleep(std::time::Duration::from_millis(500));
    let swap = task(&client, client.json("POST", "/swap-indexes", &json!([{"indexes": ["east", "west"]}])));
    assert_eq!(swap["status"], "succeeded", "{swap}");
    thread::sleep(std::time::Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let acked = writer.join().expect("the writer");
    assert!(acked.len() > 10, "the writer kept writing: {}", acked.len());
    for (_, _, uid) in &acked {
        assert_eq!(client.wait_task(*uid)["status"], "succeeded");
    }

    let map = mesh.served_map();
    let mut holders: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (i, node) in mesh.nodes.iter().enumerate() {
        for uid in ["east", "west"] {
            for id in stored(node, uid, "id") {
                holders.entry((uid.to_string(), id)).or_default().insert(map.nodes[i].id.clone());
            }
        }
    }
    // Every acknowledged document is in exactly one of the two indexes...
    let mut seen = BTreeMap::new();
    for (uid, id) in holders.keys() {
        assert!(seen.insert(id.clone(), uid.clone()).is_none(), "{id} is in both indexes");
    }
    for (_, id, _) in &acked {
        assert!(seen.contains_key(id), "acknowledged {id} was lost");
    }
    let seeds = (0..20).map(|i| format!("east-seed-{i}"));
    assert!(seeds.into_iter().all(|id| seen[&id] == "west"), "east's seed documents are west's now");
    // ...and on exactly its owners under the map now served.
    for ((uid, id), nodes) in &holders {
        let placement = IndexPlacement::compute(&map, uid);
        let owners: BTreeSet<String> = placement.owners_of(placement.shard_of(id)).iter().map(|&n| map.nodes[n].id.clone()).collect();
        assert_eq!(nodes, &owners, "{uid}/{id}");
    }
    // Through Miroir, every document reads back under its index.
    for (id, uid) in &seen {
        assert_eq!(client.get(&format!("/indexes/{uid}/documents/{id}")).status, 200, "{uid}/{id}");
    }
}

#[test]
fn a_swap_some_nodes_refuse_is_undone_on_the_others() {
    let mesh = mesh();
    let client = mesh.client.clone();
    assert_eq!(task(&client, client.json("POST", "/indexes", &json!({"uid": "kept", "primaryKey": "id"})))["status"], "succeeded");
    let docs: Vec<Value> = (0..20).map(|i| json!({"id": i, "title": format!("kept {i}")})).collect();
    assert_eq!(task(&client, client.json("POST", "/indexes/kept/documents", &Value::Array(docs)))["status"], "succeeded");
    let before = view(&client, "kept");
    // An index only node0 has (made behind Miroir's back): node0 can swap, the others cannot.
    let lone = &mesh.nodes[0];
    assert_eq!(task(lone, lone.json("POST", "/indexes", &json!({"uid": "lone", "primaryKey": "id"})))["status"], "succeeded");
    assert_eq!(task(lone, lone.json("POST", "/indexes/lone/documents", &json!([{"id": "x", "title": "lone"}])))["status"], "succeeded");

    let swap = task(&client, client.json("POST", "/swap-indexes", &json!([{"indexes": ["kept", "lone"]}])));
    assert_eq!((&swap["status"], &swap["error"]["code"]), (&json!("failed"), &json!("index_not_found")), "{swap}");
    // node0 swapped back: every node holds what it held, the map did not change, reads are as before.
    assert_eq!(lone.get("/indexes/lone/documents/x").status, 200);
    assert_eq!(lone.get("/indexes/lone/documents?limit=100").body["total"], 1);
    let map = mesh.served_map();
    assert_eq!(map.placement_key_of("kept"), "kept");
    assert!(!map.is_fenced("kept") && !map.is_fenced("lone"));
    assert_eq!(view(&client, "kept"), before);
    assert_eq!(task(&client, client.json("POST", "/indexes/kept/documents", &json!([{"id": 99, "title": "after"}])))["status"], "succeeded");
    assert_eq!(client.get("/indexes/kept/documents/99").status, 200);

    // A node down: no swap starts (it could not swap, and the repairer will write to it).
    assert_eq!(task(&client, client.json("POST", "/indexes", &json!({"uid": "other", "primaryKey": "id"})))["status"], "succeeded");
    mesh.kill_node(2);
    let timeout = std::time::Duration::from_secs(60);
    mesh.wait_status("node2 is down", timeout, |s| Mesh::node_status(s, "node2").is_some_and(|n| n["state"] == "down"));
    let refused = task(&client, client.json("POST", "/swap-indexes", &json!([{"indexes": ["kept", "other"]}])));
    assert_eq!((&refused["status"], &refused["error"]["code"]), (&json!("failed"), &json!("miroir_node_unavailable")), "{refused}");
    assert_eq!(mesh.nodes[0].get("/tasks?types=indexSwap").body["total"], 2, "only the first swap and its undo reached node0");
}

#[test]
fn a_swap_cut_short_by_a_control_plane_crash_is_settled_on_restart() {
    let mut mesh = Mesh::start_serve(MeshSpec::default(), &["--swap-drain-ms", "5000"]);
    let client = mesh.client.clone();
    for uid in ["first", "second"] {
        assert_eq!(task(&client, client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": "id"})))["status"], "succeeded");
        let docs = json!([{"id": 1, "from": uid}, {"id": 2, "from": uid}]);
        assert_eq!(task(&client, client.json("POST", &format!("/indexes/{uid}/documents"), &docs))["status"], "succeeded");
    }
    let answer = client.json("POST", "/swap-indexes", &json!([{"indexes": ["first", "second"]}]));
    assert_eq!(answer.status, 202, "{answer:?}");
    let uid = answer.body["taskUid"].as_u64().expect("a taskUid");
    // Fenced, draining: the control plane dies before the nodes hear of the swap.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    while !mesh.served_map().is_fenced("first") {
        assert!(std::time::Instant::now() < deadline, "the fence never came");
        thread::sleep(std::time::Duration::from_millis(50));
    }
    mesh.kill_control();
    mesh.restart_control();
    let settled = client.wait_task(uid);
    assert_eq!((&settled["status"], &settled["error"]["code"]), (&json!("failed"), &json!("miroir_node_unavailable")), "{settled}");
    assert!(!mesh.served_map().is_fenced("first"));
    assert_eq!(client.get("/indexes/first/documents/1").body["from"], "first");
    // The same swap, asked again, runs to the end.
    let again = task(&client, client.json("POST", "/swap-indexes", &json!([{"indexes": ["first", "second"]}])));
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(client.get("/indexes/first/documents/1").body["from"], "second");
}
