//! `/batches` through Miroir against one node: the same client tasks, waited one by one
//! (so one node also makes one batch per task), then the batch list with its filters and
//! paging, `GET /batches/{uid}`, `GET /tasks?batchUids=`, and a task canceled while
//! enqueued (`canceledBy`, and the cancelation's batch holding it).
//!
//! Batch uids differ (a node numbers batches apart from tasks, Miroir as the task), as do
//! timestamps: each deployment's uids are looked up on itself, and the comparison is of
//! what the batches hold (counts, statuses, types, indexes, details, strategy) and order.

use miroir_e2e::binaries::is_real_meilisearch;
use miroir_e2e::{assert_same_outcomes, Answer, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

const INDEX: &str = "batch_movies";

fn wait(client: &Client, answer: Answer) -> Value {
    assert!(matches!(answer.status, 200 | 202), "{answer:?}");
    client.wait_task(answer.body["taskUid"].as_u64().unwrap())
}

/// Holds tasks `enqueued` on every node behind `client`: the test double's worker is
/// paused; a real node is kept busy by a long addition (returned, to wait for later).
fn hold(client: &Client, nodes: &[&Client]) -> Option<u64> {
    if !is_real_meilisearch() {
        for node in nodes {
            assert_eq!(node.json("POST", "/_double/worker", &json!({"paused": true})).status, 200);
        }
        return None;
    }
    let docs: Vec<Value> = (0..60_000).map(|i| json!({"id": i, "text": format!("word{i} and some other words {}", i % 97)})).collect();
    let busy = client.json("POST", "/indexes/batch_hold/documents", &json!(docs));
    assert_eq!(busy.status, 202, "{busy:?}");
    let uid = busy.body["taskUid"].as_u64().unwrap();
    // Until it runs, a task sent now could be batched with it.
    while client.get(&format!("/tasks/{uid}")).body["status"] == "enqueued" {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(uid)
}

fn release(client: &Client, nodes: &[&Client], busy: Option<u64>) {
    for node in nodes.iter().filter(|_| busy.is_none()) {
        assert_eq!(node.json("POST", "/_double/worker", &json!({"paused": false})).status, 200);
    }
    if let Some(uid) = busy {
        client.wait_task(uid);
    }
}

/// The same client tasks on both deployments (so the same task uids). Returns the uids
/// of the task canceled while enqueued and of its cancelation, and how the cancelation
/// and a deletion looked before they ran.
fn load(client: &Client, nodes: &[&Client]) -> ((u64, u64), Value) {
    wait(client, client.json("POST", "/indexes", &json!({"uid": INDEX, "primaryKey": "id"})));
    wait(client, client.json("PATCH", &format!("/indexes/{INDEX}/settings"), &json!({"filterableAttributes": ["genre"]})));
    let docs: Vec<Value> = (0..12).map(|i| json!({"id": i, "title": format!("film {i}"), "genre": if i % 2 == 0 { "a" } else { "b" }})).collect();
    wait(client, client.json("POST", &format!("/indexes/{INDEX}/documents"), &json!(docs)));
    wait(client, client.json("POST", &format!("/indexes/{INDEX}/documents"), &json!([{"id": "no spaces allowed"}])));
    wait(client, client.send("DELETE", &format!("/indexes/{INDEX}/documents/3"), None, None));
    let busy = hold(client, nodes);
    let queued = client.json("POST", &format!("/indexes/{INDEX}/documents"), &json!([{"id": 100, "title": "never"}]));
    let queued = queued.body["taskUid"].as_u64().unwrap();
    let cancel = client.send("POST", &format!("/tasks/cancel?uids={queued}"), None, None);
    assert_eq!(cancel.status, 200, "{cancel:?}");
    let cancel = cancel.body["taskUid"].as_u64().unwrap();
    // A deletion of the settings task (and so of its batch), queued behind.
    let deletion = client.send("DELETE", "/tasks?uids=1", None, None);
    assert_eq!(deletion.status, 200, "{deletion:?}");
    let deletion = deletion.body["taskUid"].as_u64().unwrap();
    let queued_view = |uid: u64| {
        let t = client.get(&format!("/tasks/{uid}")).body;
        json!([t["status"], t["batchUid"], t["details"]])
    };
    let in_flight = json!([queued_view(queued), queued_view(cancel), queued_view(deletion)]);
    release(client, nodes, busy);
    assert_eq!(client.wait_task(cancel)["status"], "succeeded");
    assert_eq!(client.wait_task(queued)["status"], "canceled");
    assert_eq!(client.wait_task(deletion)["status"], "succeeded");
    ((queued, cancel), in_flight)
}

/// What a client may rely on in a batch (its uid and times aside).
fn batch(b: &Value) -> Value {
    let mut keys: Vec<&String> = b.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    keys.sort();
    let s = &b["stats"];
    json!({
        "keys": keys, "progress": b["progress"], "details": b["details"], "strategy": b["batchStrategy"],
        "stats": [s["totalNbTasks"], s["status"], s["types"], s["indexUids"]],
        "timed": [b["startedAt"].is_string(), b["finishedAt"].is_string(), b["duration"].is_string()],
    })
}

fn batches(answer: &Answer) -> Value {
    if answer.status != 200 {
        return json!({"status": answer.status, "body": answer.body});
    }
    let b = &answer.body;
    let results: Vec<Value> = b["results"].as_array().unwrap().iter().map(batch).collect();
    json!({"results": results, "total": b["total"], "limit": b["limit"], "next": b["next"].is_u64()})
}

fn uids(answer: &Answer) -> Vec<u64> {
    answer.body["results"].as_array().map(|r| r.iter().filter_map(|t| t["uid"].as_u64()).collect()).unwrap_or_default()
}

/// The outcomes on one deployment, for comparison.
fn script(client: &Client, (queued, cancel): (u64, u64)) -> Vec<(String, Value)> {
    let mut seen = Vec::new();
    let all = client.get("/batches");
    seen.push(("GET /batches".into(), batches(&all)));
    let listed = uids(&all);
    for q in [
        "limit=2", "reverse=true&limit=3", "statuses=failed", "statuses=canceled", "statuses=succeeded&limit=2",
        "types=documentAdditionOrUpdate", "types=taskCancelation,taskDeletion", "indexUids=batch_movies",
        "afterEnqueuedAt=2000-01-01", "beforeStartedAt=2000-01-01", "limit=x", "reverse=maybe", "colour=red",
        "batchUids=x", "statuses=done",
    ] {
        seen.push((format!("GET /batches?{q}"), batches(&client.get(&format!("/batches?{q}")))));
    }
    // Paging on from this deployment's own batch uids.
    let from = listed[2];
    let paged = client.get(&format!("/batches?from={from}&limit=2"));
    assert_eq!(uids(&paged), listed[2..4], "{paged:?}");
    seen.push(("GET /batches?from=<third>&limit=2".into(), batches(&paged)));
    let next = paged.body["next"].as_u64().unwrap();
    assert_eq!(uids(&client.get(&format!("/batches?from={next}&limit=2")))[0], listed[4]);

    // The canceled task: in its cancelation's batch, which names both.
    let task = client.get(&format!("/tasks/{queued}")).body;
    seen.push(("GET /tasks/<canceled>".into(), json!([task["status"], task["canceledBy"], task["details"]])));
    assert_eq!(task["canceledBy"], cancel);
    let batch_uid = task["batchUid"].as_u64().unwrap();
    assert_eq!(client.get(&format!("/tasks/{cancel}")).body["batchUid"], batch_uid);
    let one = client.get(&format!("/batches/{batch_uid}"));
    assert_eq!(one.body["uid"], batch_uid);
    seen.push(("GET /batches/<cancelation's>".into(), json!([one.status, batch(&one.body)])));
    let in_batch = client.get(&format!("/tasks?batchUids={batch_uid}"));
    seen.push(("GET /tasks?batchUids=<cancelation's>".into(), json!([uids(&in_batch), in_batch.body["total"]])));
    for q in [format!("uids={queued}"), format!("canceledBy={cancel}"), format!("batchUids={batch_uid}")] {
        let found = client.get(&format!("/batches?{q}"));
        assert_eq!(uids(&found), [batch_uid], "{q}: {found:?}");
        seen.push((format!("GET /batches?{}", q.split('=').next().unwrap_or_default()), batches(&found)));
    }
    // The first task's batch, by its task.
    let first = client.get("/tasks/0").body["batchUid"].as_u64().unwrap();
    seen.push(("GET /batches/<first>".into(), batch(&client.get(&format!("/batches/{first}")).body)));
    seen.push(("GET /tasks?batchUids=<first>".into(), json!(uids(&client.get(&format!("/tasks?batchUids={first}"))))));
    for path in ["/batches/abc", "/batches/5000000000", "/batches/99999"] {
        let answer = client.get(path);
        seen.push((format!("GET {path}"), json!([answer.status, answer.body])));
    }
    seen
}

#[test]
fn batches_answer_like_one_node() {
    let single = SingleNode::start();
    let (ids, in_flight) = load(&single.client, &[&single.client]);
    let mut expected = script(&single.client, ids);
    expected.push(("tasks before they ran".into(), in_flight));
    drop(single);

    // The reference itself shows what the comparison relies on.
    let expect = |step: &str| expected.iter().find(|(s, _)| s == step).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(expect("GET /batches/<cancelation's>")[1]["stats"][0], 2, "{:?}", expect("GET /batches/<cancelation's>"));
    assert_eq!(expect("GET /batches?statuses=failed")["total"], 1);
    assert_eq!(expect("GET /batches?limit=x")["body"]["code"], "invalid_task_limit");
    assert_eq!(expect("GET /batches/99999")[1]["code"], "batch_not_found");
    // Enqueued: no batch, and the cancelation's and deletion's counts are not known yet.
    let queued = expect("tasks before they ran");
    assert_eq!(queued[1], json!(["enqueued", null, {"matchedTasks": 1, "canceledTasks": null, "originalFilter": format!("?uids={}", ids.0)}]));
    assert_eq!(queued[2][2]["deletedTasks"], Value::Null, "{queued}");

    let mesh = Mesh::start(MeshSpec::default());
    let nodes: Vec<&Client> = mesh.nodes.iter().collect();
    let (ids, in_flight) = load(&mesh.client, &nodes);
    let mut through_miroir = script(&mesh.client, ids);
    through_miroir.push(("tasks before they ran".into(), in_flight));
    assert_same_outcomes(&expected, &through_miroir);
}
