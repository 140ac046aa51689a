//! The instance-wide API through Miroir against one node: the task list with its
//! filters and paging, keys, auth refused before any node is touched, global stats,
//! version and experimental features.

use miroir_e2e::{assert_same_outcomes, Answer, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

const INDEX: &str = "api_movies";

/// The same client tasks, in the same order, on both deployments (so the same uids).
fn load(client: &Client) {
    let created = client.json("POST", "/indexes", &json!({"uid": INDEX, "primaryKey": "id"}));
    client.wait_task(created.body["taskUid"].as_u64().unwrap());
    let settings = client.json("PATCH", &format!("/indexes/{INDEX}/settings"), &json!({"filterableAttributes": ["genre"]}));
    client.wait_task(settings.body["taskUid"].as_u64().unwrap());
    let docs: Vec<Value> = (0..30).map(|i| json!({"id": i, "title": format!("film {i}"), "genre": if i % 2 == 0 { "a" } else { "b" }})).collect();
    let add = client.json("POST", &format!("/indexes/{INDEX}/documents"), &json!(docs));
    client.wait_task(add.body["taskUid"].as_u64().unwrap());
    // A task that fails: a document id Meilisearch refuses.
    let bad = client.json("POST", &format!("/indexes/{INDEX}/documents"), &json!([{"id": "no spaces allowed"}]));
    client.wait_task(bad.body["taskUid"].as_u64().unwrap());
    let other = client.json("POST", "/indexes", &json!({"uid": "api_other"}));
    client.wait_task(other.body["taskUid"].as_u64().unwrap());
}

/// What a client may rely on in a task list.
fn tasks_view(answer: &Answer) -> Value {
    if answer.status != 200 {
        return json!({"status": answer.status, "body": answer.body});
    }
    let b = &answer.body;
    let tasks: Vec<Value> = b["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| json!([t["uid"], t["type"], t["status"], t["indexUid"], t["error"]["code"]]))
        .collect();
    json!({"results": tasks, "total": b["total"], "limit": b["limit"], "from": b["from"], "next": b["next"]})
}

const TASK_QUERIES: [&str; 15] = [
    "",
    "limit=2",
    "limit=2&from=3",
    "reverse=true&limit=3",
    "statuses=failed",
    "statuses=succeeded&limit=2",
    "statuses=succeeded,failed&reverse=true",
    "types=settingsUpdate,indexCreation",
    "indexUids=api_other",
    "uids=0,2,4",
    "afterEnqueuedAt=2000-01-01",
    "beforeStartedAt=2000-01-01",
    "statuses=done",
    "colour=red",
    "indexUids=not%20valid",
];

/// Anonymous requests (no `Authorization` at all).
fn anonymous(base: &str, method: &str, path: &str, body: Option<&str>) -> Answer {
    let req = ureq::request(method, &format!("{base}{path}")).set("Content-Type", "application/json");
    let result = match body {
        Some(b) => req.send_string(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    let body = response.into_string().ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(Value::Null);
    Answer { status, body, headers: Vec::new() }
}

/// Every node's own task count: proves a refused request reached none.
fn node_task_counts(mesh: &Mesh) -> Vec<Value> {
    mesh.nodes.iter().map(|n| n.get("/tasks?limit=1").body["total"].clone()).collect()
}

/// Each node's newest task uid (a count would drop with `DELETE /tasks`).
fn node_newest_tasks(mesh: &Mesh) -> Vec<u64> {
    mesh.nodes.iter().map(|n| n.get("/tasks?limit=1").body["results"][0]["uid"].as_u64().unwrap()).collect()
}

/// The outcomes on one deployment, for comparison.
fn script(client: &Client, base: &str) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    for q in TASK_QUERIES {
        seen.push((format!("GET /tasks?{q}"), tasks_view(&client.get(&format!("/tasks?{q}")))));
    }
    let key = client.json("POST", "/keys", &json!({"uid": "7c4e2b1a-1111-4222-8333-444455556666", "actions": ["search"], "indexes": [INDEX], "expiresAt": null}));
    seen.push(("POST /keys".into(), json!([key.status, key.body["uid"], key.body["key"], key.body["actions"]])));
    let searcher = Client::new(base, key.body["key"].as_str().unwrap());
    let search = searcher.json("POST", &format!("/indexes/{INDEX}/search"), &json!({"filter": "genre = a", "limit": 3, "sort": []}));
    seen.push(("search with a search key".into(), json!([search.status, search.body["estimatedTotalHits"]])));
    let other = searcher.json("POST", "/multi-search", &json!({"queries": [{"indexUid": INDEX}, {"indexUid": "api_other"}]}));
    seen.push(("multi-search beyond the key's indexes".into(), json!([other.status, other.body])));
    let refused = searcher.json("POST", &format!("/indexes/{INDEX}/documents"), &json!([{"id": 100}]));
    seen.push(("write with a search key".into(), json!([refused.status, refused.body])));
    let refused = searcher.json("PATCH", &format!("/indexes/{INDEX}/settings"), &json!({"searchableAttributes": ["title"]}));
    seen.push(("settings with a search key".into(), json!([refused.status, refused.body])));
    let anon = anonymous(base, "POST", &format!("/indexes/{INDEX}/documents"), Some(r#"[{"id": 101}]"#));
    seen.push(("write without a key".into(), json!([anon.status, anon.body])));
    let anon = anonymous(base, "DELETE", &format!("/indexes/{INDEX}"), None);
    seen.push(("index deletion without a key".into(), json!([anon.status, anon.body])));
    let anon = anonymous(base, "GET", "/tasks", None);
    seen.push(("tasks without a key".into(), json!([anon.status, anon.body])));
    let anon = anonymous(base, "POST", &format!("/indexes/{INDEX}/search"), Some("{}"));
    seen.push(("search without a key".into(), json!([anon.status, anon.body])));
    let wrong = Client::new(base, "not-a-key").json("POST", &format!("/indexes/{INDEX}/search"), &json!({"q": "film"}));
    seen.push(("search with a wrong key".into(), json!([wrong.status, wrong.body])));
    let wrong = Client::new(base, "not-a-key").json("POST", "/multi-search", &json!({"queries": [{"indexUid": INDEX}]}));
    seen.push(("multi-search with a wrong key".into(), json!([wrong.status, wrong.body])));
    let anon = anonymous(base, "GET", "/tasks/2", None);
    seen.push(("a task without a key".into(), json!([anon.status, anon.body])));
    let anon = anonymous(base, "GET", "/stats", None);
    seen.push(("stats without a key".into(), json!([anon.status, anon.body])));
    let renamed = client.json("PATCH", &format!("/keys/{}", key.body["uid"].as_str().unwrap()), &json!({"name": "reader"}));
    seen.push(("PATCH /keys".into(), json!([renamed.status, renamed.body["name"]])));
    let keys = client.get("/keys?limit=2&offset=1");
    seen.push(("GET /keys".into(), json!([keys.status, keys.body["limit"], keys.body["offset"], keys.body["total"]])));

    let stats = client.get("/stats");
    let index = &stats.body["indexes"][INDEX];
    seen.push(("GET /stats".into(), json!([stats.status, index["numberOfDocuments"], index["fieldDistribution"], stats.body["indexes"]["api_other"]])));
    let version = client.get("/version");
    seen.push(("GET /version".into(), json!([version.status, version.body["pkgVersion"]])));
    let features = client.get("/experimental-features");
    seen.push(("GET /experimental-features".into(), json!([features.status, features.body])));
    let changed = client.json("PATCH", "/experimental-features", &json!({"metrics": true}));
    seen.push(("PATCH /experimental-features".into(), json!([changed.status, changed.body])));
    let deleted = client.send("DELETE", &format!("/keys/{}", key.body["uid"].as_str().unwrap()), None, None);
    seen.push(("DELETE /keys".into(), json!(deleted.status)));
    let gone = searcher.json("POST", &format!("/indexes/{INDEX}/search"), &json!({}));
    seen.push(("search with a deleted key".into(), json!([gone.status, gone.body["code"]])));

    let unfiltered = client.send("POST", "/tasks/cancel", None, None);
    seen.push(("cancel without filters".into(), json!([unfiltered.status, unfiltered.body])));
    let cancel = client.send("POST", "/tasks/cancel?uids=0,3&types=indexCreation", None, None);
    let summary = json!([cancel.status, cancel.body["taskUid"], cancel.body["type"], cancel.body["status"]]);
    let done = client.wait_task(cancel.body["taskUid"].as_u64().unwrap());
    seen.push(("cancel finished tasks".into(), json!([summary, done["status"], done["details"]])));

    let unfiltered = client.send("DELETE", "/tasks", None, None);
    seen.push(("delete without filters".into(), json!([unfiltered.status, unfiltered.body])));
    let unknown = client.send("DELETE", "/tasks?limit=2", None, None);
    seen.push(("delete with a list parameter".into(), json!([unknown.status, unknown.body["code"]])));
    let deletion = client.send("DELETE", "/tasks?uids=1,3,4&types=settingsUpdate,documentAdditionOrUpdate", None, None);
    let summary = json!([deletion.status, deletion.body["taskUid"], deletion.body["type"], deletion.body["status"], deletion.body["indexUid"]]);
    let done = client.wait_task(deletion.body["taskUid"].as_u64().unwrap());
    seen.push(("delete finished tasks".into(), json!([summary, done["status"], done["type"], done["details"]])));
    for uid in [1, 3] {
        let gone = client.get(&format!("/tasks/{uid}"));
        seen.push((format!("GET /tasks/{uid} once deleted"), json!([gone.status, gone.body])));
    }
    seen.push(("GET /tasks once deleted".into(), tasks_view(&client.get("/tasks"))));
    seen.push(("GET /tasks?uids=0,1,2,3 once deleted".into(), tasks_view(&client.get("/tasks?uids=0,1,2,3"))));

    seen
}

#[test]
fn the_instance_api_answers_like_one_node() {
    let single = SingleNode::start();
    load(&single.client);
    let expected = script(&single.client, &single.client.base);
    drop(single);

    // The reference itself shows what the comparison relies on.
    let expect = |step: &str| expected.iter().find(|(s, _)| s == step).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(expect("GET /tasks?statuses=failed")["results"].as_array().unwrap().len(), 1);
    assert_eq!(expect("write without a key")[0], 401);
    assert_eq!(expect("write with a search key")[0], 403);
    assert_eq!(expect("search with a search key"), json!([200, 15]));
    assert_eq!(expect("delete finished tasks")[3]["deletedTasks"], 2, "{:?}", expect("delete finished tasks"));
    assert_eq!(expect("GET /tasks/1 once deleted")[1]["code"], "task_not_found");

    let mesh = Mesh::start(MeshSpec::default());
    load(&mesh.client);
    let before = node_newest_tasks(&mesh);
    let through_miroir = script(&mesh.client, &mesh.client.base);
    assert_same_outcomes(&expected, &through_miroir);
    // Refused writes reached no node: the only new node task is each node's deletion
    // of the deleted client tasks' node tasks (all of them have one: settings go everywhere).
    let after: Vec<u64> = before.iter().map(|uid| uid + 1).collect();
    assert_eq!(node_newest_tasks(&mesh), after, "refused writes reached no node");
    for node in &mesh.nodes {
        let deletion = node.get("/tasks?limit=1");
        assert_eq!(deletion.body["results"][0]["type"], "taskDeletion", "{deletion:?}");
    }
    // Synchronous changes reached every node (the test double has no experimental features).
    let features_changed = expect("PATCH /experimental-features")[0] == 200;
    for node in &mesh.nodes {
        if features_changed {
            assert_eq!(node.get("/experimental-features").body["metrics"], true);
        }
        assert_eq!(node.get("/keys/7c4e2b1a-1111-4222-8333-444455556666").status, 404);
    }
}

#[test]
fn a_key_created_through_miroir_is_the_same_key_on_every_node() {
    let mesh = Mesh::start(MeshSpec { nodes: 2, rf: 1, shards: 4, groups: 1 });
    let created = mesh.client.json("POST", "/keys", &json!({"actions": ["*"], "indexes": ["*"], "expiresAt": null, "name": "all"}));
    assert_eq!(created.status, 201, "{created:?}");
    let uid = created.body["uid"].as_str().unwrap();
    for node in &mesh.nodes {
        let key = node.get(&format!("/keys/{uid}"));
        assert_eq!(key.status, 200);
        assert_eq!(key.body["key"], created.body["key"]);
        assert_eq!(key.body["name"], "all");
    }
    // A key Miroir cannot create everywhere (a uid one node already has) is created nowhere.
    let uid = "0d7e1f2a-3b4c-4d5e-8f60-718293a4b5c6";
    let direct = mesh.nodes[1].json("POST", "/keys", &json!({"uid": uid, "actions": ["search"], "indexes": ["*"], "expiresAt": null}));
    assert_eq!(direct.status, 201);
    let clash = mesh.client.json("POST", "/keys", &json!({"uid": uid, "actions": ["*"], "indexes": ["*"], "expiresAt": null}));
    assert_eq!((clash.status, clash.code()), (409, Some("api_key_already_exists")), "{clash:?}");
    assert_eq!(mesh.nodes[0].get(&format!("/keys/{uid}")).status, 404, "undone on the node that accepted it");
    assert_eq!(mesh.nodes[1].get(&format!("/keys/{uid}")).body["actions"], json!(["search"]), "the other node's own key untouched");
}

/// A key that may add documents and change settings but not create indexes: on a
/// missing index Meilisearch 1.50 accepts the write and fails its task with
/// `index_not_found` (checked against the real binary); Miroir must not let its own
/// settings create the index for it. (The test double lets such a key create the
/// index, so this compares with Meilisearch's documented answer, not the reference.)
#[test]
fn a_key_without_index_creation_creates_no_index() {
    let mesh = Mesh::start(MeshSpec { nodes: 2, rf: 1, shards: 4, groups: 1 });
    let key = mesh.client.json("POST", "/keys", &json!({"actions": ["documents.add", "settings.update", "tasks.get", "indexes.get"], "indexes": ["*"], "expiresAt": null}));
    let writer = Client::new(&mesh.client.base, key.body["key"].as_str().unwrap());
    let before = node_task_counts(&mesh);

    let add = writer.json("POST", "/indexes/fresh/documents", &json!([{"id": 1}, {"id": 2}]));
    assert_eq!(add.status, 202, "{add:?}");
    let task = writer.wait_task(add.body["taskUid"].as_u64().unwrap());
    assert_eq!((task["status"].as_str(), task["error"]["code"].as_str()), (Some("failed"), Some("index_not_found")), "{task}");
    assert_eq!(task["error"]["message"], "Index `fresh` not found.");
    assert_eq!(task["details"], json!({"receivedDocuments": 2, "indexedDocuments": 0}));
    let settings = writer.json("PATCH", "/indexes/fresh/settings", &json!({"filterableAttributes": ["a"]}));
    let task = writer.wait_task(settings.body["taskUid"].as_u64().unwrap());
    assert_eq!((task["status"].as_str(), task["error"]["code"].as_str()), (Some("failed"), Some("index_not_found")), "{task}");
    assert_eq!(task["details"], json!({"filterableAttributes": ["a"]}));
    assert_eq!(node_task_counts(&mesh), before, "nothing reached a node");
    for node in &mesh.nodes {
        assert_eq!(node.get("/indexes/fresh").status, 404);
    }

    // Once the index exists, the same key writes to it.
    let created = mesh.client.json("POST", "/indexes", &json!({"uid": "fresh"}));
    mesh.client.wait_task(created.body["taskUid"].as_u64().unwrap());
    let add = writer.json("POST", "/indexes/fresh/documents", &json!([{"id": 1}, {"id": 2}]));
    let task = writer.wait_task(add.body["taskUid"].as_u64().unwrap());
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["details"], json!({"receivedDocuments": 2, "indexedDocuments": 2}));
}
