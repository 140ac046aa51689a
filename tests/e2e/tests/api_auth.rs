//! Every request's key judged before fan-out (issue 4): the same refusals through
//! Miroir as from one node, and nothing reaching a node with the client's key (the
//! filter's `miroir_client_key_calls` counter stays put; Miroir's own key lookups
//! do not count). Tenant tokens: verified against their parent key, rules applied on
//! every shard.

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use miroir_e2e::{assert_same_outcomes, Answer, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

const MOVIES: &str = "auth_movies";
const BOOKS: &str = "auth_books";
const SEARCHER: &str = "0a0a0a0a-1111-4222-8333-000000000001";
const WRITER: &str = "0a0a0a0a-1111-4222-8333-000000000002";
const DOOMED: &str = "0a0a0a0a-1111-4222-8333-000000000003";
const FLEETING: &str = "0a0a0a0a-1111-4222-8333-000000000004";
const PARENT: &str = "0a0a0a0a-1111-4222-8333-000000000005";

fn load(client: &Client) {
    for uid in [MOVIES, BOOKS] {
        let created = client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": "id"}));
        client.wait_task(created.body["taskUid"].as_u64().unwrap());
    }
    let settings = client.json("PATCH", &format!("/indexes/{MOVIES}/settings"), &json!({"filterableAttributes": ["genre"]}));
    client.wait_task(settings.body["taskUid"].as_u64().unwrap());
    let genres = ["a", "b", "c"];
    let docs: Vec<Value> = (0..40).map(|i| json!({"id": i, "title": format!("film {i}"), "genre": genres[i % 3]})).collect();
    let add = client.json("POST", &format!("/indexes/{MOVIES}/documents"), &json!(docs));
    client.wait_task(add.body["taskUid"].as_u64().unwrap());
    let add = client.json("POST", &format!("/indexes/{BOOKS}/documents"), &json!([{"id": 1, "title": "book"}]));
    client.wait_task(add.body["taskUid"].as_u64().unwrap());
}

/// Keys with fixed uids: the same values on both deployments (one master key).
fn create_keys(client: &Client, fleeting_until: &str) -> Vec<String> {
    let keys = [
        json!({"uid": SEARCHER, "actions": ["search", "documents.get"], "indexes": [MOVIES, "prod_*"], "expiresAt": null}),
        json!({"uid": WRITER, "actions": ["documents.add"], "indexes": ["*"], "expiresAt": null}),
        json!({"uid": DOOMED, "actions": ["search"], "indexes": ["*"], "expiresAt": null}),
        json!({"uid": FLEETING, "actions": ["search"], "indexes": ["*"], "expiresAt": fleeting_until}),
        json!({"uid": PARENT, "actions": ["search"], "indexes": [MOVIES], "expiresAt": null}),
    ];
    keys.iter()
        .map(|k| {
            let created = client.json("POST", "/keys", k);
            assert_eq!(created.status, 201, "{created:?}");
            created.body["key"].as_str().unwrap().to_string()
        })
        .collect()
}

/// A tenant token as an SDK signs it.
fn token(claims: &Value, secret: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fn anonymous(base: &str, path: &str) -> Answer {
    let response = match ureq::get(&format!("{base}{path}")).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = response.status();
    Answer { status, body: response.into_json().unwrap_or(Value::Null), headers: Vec::new() }
}

/// What a client sees of a refusal; an expiry message's "now" varies by the second.
fn refusal(answer: &Answer) -> Value {
    let message = answer.body["message"].as_str().unwrap_or_default();
    let message = match message.split_once("and we're now `") {
        Some((head, _)) => format!("{head}and we're now `…`."),
        None => message.to_string(),
    };
    json!([answer.status, answer.body["code"], message])
}

fn in_seconds(s: u64) -> String {
    let at = time::OffsetDateTime::from(SystemTime::now() + Duration::from_secs(s));
    at.format(&time::format_description::well_known::Rfc3339).unwrap()
}

struct Outcome {
    /// Requests refused before fan-out, with what the client saw.
    refused: Vec<(String, Value)>,
    /// Requests answered, or refused by one node (the multi-search's body comes first).
    other: Vec<(String, Value)>,
}

/// The same requests on one deployment. `between` runs between the requests that warm
/// Miroir's key cache and the refusals (Miroir: reads the counter).
fn script(client: &Client, mut between: impl FnMut()) -> Outcome {
    let base = client.base.clone();
    let keys = create_keys(client, &in_seconds(3));
    let as_key = |k: &str| Client::new(&base, k);
    let (searcher, writer, doomed, fleeting) = (as_key(&keys[0]), as_key(&keys[1]), as_key(&keys[2]), as_key(&keys[3]));
    let mut other = Vec::new();
    let search = |c: &Client, index: &str| c.json("POST", &format!("/indexes/{index}/search"), &json!({"q": "film", "limit": 50}));
    let hits = |a: &Answer| {
        let mut ids: Vec<u64> = a.body["hits"].as_array().map(|h| h.iter().filter_map(|d| d["id"].as_u64()).collect()).unwrap_or_default();
        ids.sort_unstable();
        json!([a.status, a.body["estimatedTotalHits"], ids])
    };
    // Keys used while valid (Miroir caches their views).
    other.push(("doomed key, before".into(), hits(&search(&doomed, MOVIES))));
    other.push(("fleeting key, before".into(), hits(&search(&fleeting, MOVIES))));
    // A token with rules: the filter applies on every shard.
    let ruled = token(&json!({"apiKeyUid": PARENT, "searchRules": {MOVIES: {"filter": "genre = a"}}}), &keys[4]);
    other.push(("token with rules".into(), hits(&search(&as_key(&ruled), MOVIES))));
    let unruled = token(&json!({"apiKeyUid": PARENT, "searchRules": ["*"], "exp": null}), &keys[4]);
    other.push(("token without rules".into(), hits(&search(&as_key(&unruled), MOVIES))));
    let deleted = client.send("DELETE", &format!("/keys/{DOOMED}"), None, None);
    other.push(("delete a key".into(), json!(deleted.status)));
    // The fleeting key expires (judged by Miroir from its cached view).
    std::thread::sleep(Duration::from_secs(4));
    between();

    let mut refused = Vec::new();
    let mut refuse = |step: &str, answer: Answer| refused.push((step.to_string(), refusal(&answer)));
    refuse("no key", anonymous(&base, &format!("/indexes/{MOVIES}/search?q=film")));
    refuse("bad key", search(&as_key("not-a-key"), MOVIES));
    refuse("bad key, documents", as_key("not-a-key").get(&format!("/indexes/{MOVIES}/documents")));
    refuse("key without the action", writer.get(&format!("/indexes/{MOVIES}/documents")));
    refuse("key without settings.get", searcher.get(&format!("/indexes/{MOVIES}/settings")));
    refuse("key without stats.get", searcher.get("/stats"));
    refuse("key without version", searcher.get("/version"));
    refuse("key without tasks.get", searcher.get("/tasks"));
    refuse("key for another index, search", search(&searcher, BOOKS));
    refuse("key for another index, document", searcher.get(&format!("/indexes/{BOOKS}/documents/1")));
    refuse("deleted key", search(&doomed, MOVIES));
    refuse("expired key", search(&fleeting, MOVIES));
    let expired = token(&json!({"apiKeyUid": PARENT, "searchRules": ["*"], "exp": 1_000}), &keys[4]);
    refuse("expired token", search(&as_key(&expired), MOVIES));
    let parts: Vec<&str> = unruled.split('.').collect();
    let widened = URL_SAFE_NO_PAD.encode(json!({"apiKeyUid": PARENT, "searchRules": ["*"], "exp": null, "x": 1}).to_string());
    refuse("tampered token", search(&as_key(&format!("{}.{widened}.{}", parts[0], parts[2])), MOVIES));
    refuse("token signed by another key", search(&as_key(&token(&json!({"apiKeyUid": PARENT, "searchRules": ["*"]}), &keys[0])), MOVIES));
    refuse("token for another index", search(&as_key(&ruled), BOOKS));
    refuse("token whose parent may not", search(&as_key(&unruled), BOOKS));
    refuse("token on a documents route", as_key(&ruled).get(&format!("/indexes/{MOVIES}/documents")));
    let mut rest = Vec::new();
    let multi = searcher.json("POST", "/multi-search", &json!({"queries": [{"indexUid": MOVIES}, {"indexUid": BOOKS}]}));
    rest.push(("multi-search beyond the key".into(), refusal(&multi)));
    let tenant_multi = as_key(&ruled).json("POST", "/multi-search", &json!({"queries": [{"indexUid": MOVIES}, {"indexUid": BOOKS}]}));
    rest.push(("multi-search beyond the token".into(), refusal(&tenant_multi)));
    // A token that does not decode: one node judges it with an empty multi-search.
    let undecodable = search(&as_key("not.a.jwt"), MOVIES);
    rest.push(("undecodable token".into(), refusal(&undecodable)));
    other.extend(rest);
    Outcome { refused, other }
}

#[test]
fn refusals_equal_one_nodes_and_reach_no_node() {
    let single = SingleNode::start();
    load(&single.client);
    let expected = script(&single.client, || {});
    drop(single);
    // The reference shows what the comparison relies on.
    let step = |o: &Outcome, s: &str| o.refused.iter().chain(&o.other).find(|(n, _)| n == s).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(step(&expected, "no key")[0], 401);
    assert_eq!(step(&expected, "deleted key")[0], 403);
    assert_eq!(step(&expected, "expired key")[0], 403);
    assert_eq!(step(&expected, "doomed key, before")[1], 40);
    assert!(step(&expected, "token with rules")[1].as_u64().is_some_and(|n| n > 0 && n < 40));
    for (name, outcome) in &expected.refused {
        assert!(outcome[0] == 401 || outcome[0] == 403, "{name}: {outcome}");
    }

    let mesh = Mesh::start(MeshSpec { nodes: 3, rf: 1, shards: 8, groups: 1 });
    load(&mesh.client);
    let client_calls = || mesh.envoy_stat("miroir_client_key_calls").unwrap_or(0);
    let mut before = 0;
    let through_miroir = script(&mesh.client, || before = client_calls());
    let refused_calls = client_calls() - before;
    for (step, outcome) in through_miroir.refused.iter().chain(&through_miroir.other) {
        eprintln!("{step}: {outcome}");
    }

    assert_same_outcomes(expected.refused.iter().chain(&expected.other), through_miroir.refused.iter().chain(&through_miroir.other));
    // Only the two multi-searches and the undecodable token reached a node with the
    // client's key: one node each, which refused it.
    assert_eq!(refused_calls, 3, "refused requests reached the nodes");
    assert!(before > 0, "the counter counts");
}

const SCOPED: &str = "0a0a0a0a-1111-4222-8333-000000000006";
const SCOPE_A: &str = "scope_a";
const SCOPE_B: &str = "scope_b";

/// What a key restricted to `scope_a` sees of the task queue, and what its
/// cancelation and deletion match, on one deployment (uids differ between
/// deployments: types, indexes, counts and codes are compared).
fn task_scope(client: &Client) -> Vec<(String, Value)> {
    let mut b_task = 0;
    for index in [SCOPE_A, SCOPE_B] {
        let created = client.json("POST", "/indexes", &json!({"uid": index, "primaryKey": "id"}));
        client.wait_task(created.body["taskUid"].as_u64().unwrap());
    }
    for (i, index) in [SCOPE_A, SCOPE_B, SCOPE_A, SCOPE_B, SCOPE_A].iter().enumerate() {
        let added = client.json("POST", &format!("/indexes/{index}/documents"), &json!([{"id": i}]));
        let uid = added.body["taskUid"].as_u64().unwrap();
        client.wait_task(uid);
        if *index == SCOPE_B {
            b_task = uid;
        }
    }
    // A cancelation (of a finished task: it cancels nothing), by the master key.
    let canceled = client.send("POST", &format!("/tasks/cancel?uids={b_task}"), None, None);
    client.wait_task(canceled.body["taskUid"].as_u64().unwrap());
    let key = json!({"uid": SCOPED, "actions": ["tasks.get", "tasks.cancel", "tasks.delete"], "indexes": [SCOPE_A], "expiresAt": null});
    let created = client.json("POST", "/keys", &key);
    assert_eq!(created.status, 201, "{created:?}");
    let scoped = Client::new(client.base.clone(), created.body["key"].as_str().unwrap());

    let tasks = |answer: &Answer| -> Value {
        let seen: Vec<Value> = answer.body["results"].as_array().unwrap().iter().map(|t| json!([t["type"], t["indexUid"], t["status"]])).collect();
        json!([answer.status, seen, answer.body["total"], answer.body["next"].is_u64()])
    };
    let batches = |answer: &Answer| -> Value {
        let seen: Vec<Value> = answer.body["results"].as_array().unwrap().iter().map(|b| json!([b["stats"]["types"], b["stats"]["indexUids"]])).collect();
        json!([answer.status, seen, answer.body["total"], answer.body["next"].is_u64()])
    };
    let error = |answer: &Answer| json!([answer.status, answer.body["code"], answer.body["message"].as_str().map(|m| m.replace(&b_task.to_string(), "{uid}"))]);
    let mut seen = vec![
        ("GET /tasks".to_string(), tasks(&scoped.get("/tasks"))),
        ("GET /tasks?limit=2".to_string(), tasks(&scoped.get("/tasks?limit=2"))),
        ("GET /tasks?types=taskCancelation".to_string(), tasks(&scoped.get("/tasks?types=taskCancelation"))),
        ("GET /tasks?statuses=succeeded&limit=3".to_string(), tasks(&scoped.get("/tasks?statuses=succeeded&limit=3"))),
        ("GET /tasks/{b}".to_string(), error(&scoped.get(&format!("/tasks/{b_task}")))),
        ("GET /batches".to_string(), batches(&scoped.get("/batches"))),
    ];
    // A cancelation and a deletion by the key: only `scope_a`'s tasks are matched.
    for (step, method, path) in [("cancel", "POST", "/tasks/cancel?statuses=enqueued,processing,succeeded"), ("delete", "DELETE", "/tasks?statuses=succeeded")] {
        let answer = scoped.send(method, path, None, None);
        assert_eq!(answer.status, 200, "{step}: {answer:?}");
        let uid = answer.body["taskUid"].as_u64().unwrap();
        assert_eq!(scoped.get(&format!("/tasks/{uid}")).status, 404, "the key does not see its own {step}");
        let done = client.wait_task(uid);
        seen.push((format!("{step} by the key"), json!([done["status"], done["details"]])));
    }
    seen.push(("GET /tasks after, master key".into(), tasks(&client.get("/tasks"))));
    seen
}

#[test]
fn a_key_restricted_to_some_indexes_sees_and_touches_only_their_tasks_as_on_one_node() {
    let single = SingleNode::start();
    let expected = task_scope(&single.client);
    drop(single);
    let step = |s: &str| expected.iter().find(|(n, _)| n == s).map(|(_, v)| v.clone()).unwrap();
    // The reference shows what the comparison relies on.
    assert_eq!(step("GET /tasks")[1].as_array().unwrap().len(), 4, "{}", step("GET /tasks"));
    assert_eq!(step("GET /tasks")[2], 8, "total counts what the key may not see");
    assert_eq!(step("GET /tasks/{b}")[1], "task_not_found");
    assert_eq!(step("cancel by the key")[1]["matchedTasks"], 4);

    let mesh = Mesh::start(MeshSpec { nodes: 2, rf: 1, shards: 4, groups: 1 });
    let through_miroir = task_scope(&mesh.client);
    for (step, outcome) in &through_miroir {
        eprintln!("{step}: {outcome}");
    }
    assert_same_outcomes(&expected, &through_miroir);
}
