use serde_json::json;

use super::*;
use crate::access::cache::KeyCache;
use crate::access::tenant::tests::{sign, UID};
use crate::flow::{for_route_with, RequestInfo};
use crate::route::classify;

const NOW_MS: u64 = 1_800_000_000_000;

fn map() -> Arc<ShardMap> {
    Arc::new(ShardMap { node_key: Some("master".into()), ..crate::testing::shard_map(2, 1, 1) })
}

fn flow(method: &str, path: &str, bearer: Option<&str>, keys: &SharedKeys) -> Box<dyn Flow> {
    let req = RequestInfo {
        method: method.into(),
        path: path.into(),
        content_type: Some("application/json".into()),
        authorization: bearer.map(|b| format!("Bearer {b}")),
        now_ms: NOW_MS,
        ..Default::default()
    };
    for_route_with(map(), classify(Method::parse(method), path), req, keys)
}

fn ok(body: Value) -> Reply {
    Reply { status: 200, body: body.to_string().into_bytes() }
}

fn refusal(next: Next) -> (u16, String, String) {
    let Next::Respond(r) = next else { panic!("{next:?}") };
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    (r.status, body["code"].as_str().unwrap().into(), body["message"].as_str().unwrap().into())
}

/// The only call is the key lookup, with Miroir's own key.
fn lookup_of(next: Next) -> String {
    let Next::Send(calls) = next else { panic!("{next:?}") };
    assert_eq!(calls.len(), 1);
    assert!(matches!(calls[0].target, Target::NodeAsMiroir(_)), "{calls:?}");
    calls[0].path.clone()
}

fn key(value: &str, actions: Value, indexes: Value) -> Value {
    json!({"uid": UID, "key": value, "actions": actions, "indexes": indexes, "expiresAt": null})
}

#[test]
fn a_read_with_a_bad_key_is_refused_after_the_lookup_alone() {
    let keys = KeyCache::shared();
    let mut search = flow("POST", "/indexes/movies/search", Some("nope"), &keys);
    assert_eq!(lookup_of(search.start()), "/keys/nope");
    let next = search.on_replies(vec![Reply { status: 404, body: Vec::new() }]);
    assert_eq!(refusal(next), (403, "invalid_api_key".into(), "The provided API key is invalid.".into()));
    assert!(keys.borrow().is_empty(), "a refusal is never cached");
    let mut anonymous = flow("GET", "/indexes/movies/documents", None, &keys);
    assert_eq!(refusal(anonymous.start()).1, "missing_authorization_header");
    let mut health = flow("GET", "/health", None, &keys);
    assert!(matches!(health.start(), Next::Respond(r) if r.status == 200));
}

#[test]
fn a_key_for_another_index_or_action_is_refused_before_fan_out() {
    let keys = KeyCache::shared();
    let mut f = flow("GET", "/indexes/books/documents", Some("k1"), &keys);
    lookup_of(f.start());
    let next = f.on_replies(vec![ok(key("k1", json!(["documents.get"]), json!(["movies"])))]);
    assert_eq!(refusal(next).2, r#"The API key cannot acces the index `books`, authorized indexes are ["movies"]."#);
    let mut f = flow("GET", "/indexes/movies/settings", Some("k1"), &keys);
    assert_eq!(refusal(f.start()).2, "The provided API key is invalid.", "the cached view judges without a round");
}

#[test]
fn a_known_key_costs_no_round_and_a_deleted_one_is_forgotten() {
    let keys = KeyCache::shared();
    let mut f = flow("POST", "/indexes/movies/search", Some("k1"), &keys);
    lookup_of(f.start());
    let next = f.on_replies(vec![ok(key("k1", json!(["search"]), json!(["*"])))]);
    assert_eq!(next, Next::Wait, "waits for the body");
    let Next::Send(calls) = f.on_body(br#"{"q": "a"}"#.to_vec()) else { panic!() };
    assert!(calls.iter().all(|c| c.path.starts_with("/indexes/movies/")), "{calls:?}");
    // The same key again: straight to the search.
    let mut again = flow("POST", "/indexes/movies/search", Some("k1"), &keys);
    assert_eq!(again.start(), Next::Wait);
    assert!(matches!(again.on_body(br#"{"q": "a"}"#.to_vec()), Next::Send(c) if c.iter().any(|c| c.target == Target::Node(0) || c.target == Target::Node(1))));
    // Deleted through this instance: looked up again next time.
    let mut delete = flow("DELETE", &format!("/keys/{UID}"), Some("master"), &keys);
    assert_eq!(delete.start(), Next::Wait);
    lookup_of(delete.on_body(Vec::new()));
    let Next::Send(deletes) = delete.on_replies(vec![ok(key("k1", json!(["search"]), json!(["*"])))]) else { panic!() };
    let done = delete.on_replies(deletes.iter().map(|_| Reply { status: 204, body: Vec::new() }).collect());
    assert!(matches!(&done, Next::Respond(r) if r.status == 204), "{done:?}");
    let mut after = flow("POST", "/indexes/movies/search", Some("k1"), &keys);
    assert_eq!(lookup_of(after.start()), "/keys/k1");
}

#[test]
fn a_write_always_looks_its_key_up_afresh() {
    let keys = KeyCache::shared();
    keys.borrow_mut().put("k1", key("k1", json!(["*"]), json!(["*"])), NOW_MS);
    let mut write = flow("POST", "/indexes/movies/documents", Some("k1"), &keys);
    assert_eq!(lookup_of(write.start()), "/keys/k1");
    let mut read = flow("GET", "/indexes/movies/documents/1", Some("k1"), &keys);
    assert_eq!(read.start(), Next::Wait, "judged from the cache, waiting for the body");
    let next = read.on_body(Vec::new());
    assert!(matches!(&next, Next::Send(c) if c.iter().all(|c| matches!(c.target, Target::Node(_)))), "{next:?}");
}

#[test]
fn a_multi_search_query_beyond_the_keys_indexes_is_refused_by_position() {
    let keys = KeyCache::shared();
    let mut f = flow("POST", "/multi-search", Some("k1"), &keys);
    lookup_of(f.start());
    assert_eq!(f.on_replies(vec![ok(key("k1", json!(["search"]), json!(["movies"])))]), Next::Wait);
    let body = json!({"queries": [{"indexUid": "movies"}, {"indexUid": "books"}]}).to_string().into_bytes();
    // One node judges the body as sent (a malformed later query would be refused first).
    let Next::Send(relay) = f.on_body(body.clone()) else { panic!() };
    assert_eq!((relay.len(), relay[0].target, relay[0].path.as_str()), (1, Target::Node(0), "/multi-search"));
    assert_eq!(relay[0].body.as_deref(), Some(body.as_slice()));
    let node = json!({"message": "Inside `.queries[1]`: The provided API key is invalid.", "code": "invalid_api_key", "type": "auth", "link": "l"});
    let next = f.on_replies(vec![Reply { status: 403, body: node.to_string().into_bytes() }]);
    assert_eq!(refusal(next), (403, "invalid_api_key".into(), "Inside `.queries[1]`: The provided API key is invalid.".into()));
    // No node answers: Miroir's own verdict.
    let mut f = flow("POST", "/multi-search", Some("k1"), &keys);
    assert_eq!(f.start(), Next::Wait, "the cached view");
    assert!(matches!(f.on_body(body), Next::Send(_)));
    let next = f.on_replies(vec![Reply::default()]);
    let Next::Send(_) = next else { panic!("the next node: {next:?}") };
    let next = f.on_replies(vec![Reply::default()]);
    assert_eq!(refusal(next).2, "Inside `.queries[1]`: The provided API key is invalid.");
}

#[test]
fn a_tenant_token_is_verified_under_its_parent_key() {
    let keys = KeyCache::shared();
    let parent = key("parent-value", json!(["search"]), json!(["*"]));
    let good = sign(&json!({"apiKeyUid": UID, "searchRules": {"movies": {"filter": "genre = a"}}}), "parent-value");
    let mut f = flow("POST", "/indexes/movies/search", Some(&good), &keys);
    assert_eq!(lookup_of(f.start()), format!("/keys/{UID}"));
    assert_eq!(f.on_replies(vec![ok(parent.clone())]), Next::Wait);
    assert!(matches!(f.on_body(b"{}".to_vec()), Next::Send(_)));
    // Rules name another index: refused from the cached parent, no round.
    let mut other = flow("POST", "/indexes/books/search", Some(&good), &keys);
    assert_eq!(refusal(other.start()).2, r#"The provided tenant token cannot acces the index `books`, allowed indexes are ["movies"]."#);
    let expired = sign(&json!({"apiKeyUid": UID, "searchRules": ["*"], "exp": NOW_MS / 1000 - 10}), "parent-value");
    let mut f = flow("POST", "/indexes/movies/search", Some(&expired), &keys);
    let expected = format!("Tenant token expired. Was valid up to `{}` and we're now `{}`.", NOW_MS / 1000 - 10, NOW_MS / 1000);
    assert_eq!(refusal(f.start()).2, expected);
    let forged = sign(&json!({"apiKeyUid": UID, "searchRules": ["*"]}), "guess");
    let mut f = flow("POST", "/indexes/movies/search", Some(&forged), &keys);
    assert_eq!(refusal(f.start()).2, "Could not decode tenant token, InvalidSignature.");
    // Not a search route: the token is looked up as a key, which it is not.
    let mut f = flow("GET", "/indexes/movies/documents", Some(&good), &keys);
    assert!(lookup_of(f.start()).starts_with("/keys/eyJ"));
}

#[test]
fn a_token_whose_parent_was_deleted_is_judged_with_the_derived_value() {
    let keys = KeyCache::shared();
    let value = crate::access::tenant::derived_key("master", UID);
    let signed = sign(&json!({"apiKeyUid": UID, "searchRules": ["*"]}), &value);
    let mut f = flow("POST", "/indexes/movies/search", Some(&signed), &keys);
    lookup_of(f.start());
    assert_eq!(refusal(f.on_replies(vec![Reply { status: 404, body: Vec::new() }])).2, "The provided API key is invalid.");
    let forged = sign(&json!({"apiKeyUid": UID, "searchRules": ["*"]}), "guess");
    let mut f = flow("POST", "/indexes/movies/search", Some(&forged), &keys);
    lookup_of(f.start());
    assert_eq!(refusal(f.on_replies(vec![Reply { status: 404, body: Vec::new() }])).2, "Could not decode tenant token, InvalidSignature.");
}

#[test]
fn a_token_miroir_cannot_read_is_judged_by_one_node() {
    let keys = KeyCache::shared();
    let mut f = flow("POST", "/indexes/movies/search", Some("not.a.jwt"), &keys);
    let Next::Send(probe) = f.start() else { panic!() };
    assert_eq!((probe[0].target, probe[0].path.as_str()), (Target::Node(0), "/multi-search"));
    let refused = json!({"message": "Could not decode tenant token, Base64 error: x.", "code": "invalid_api_key", "type": "auth", "link": "l"});
    let next = f.on_replies(vec![Reply { status: 403, body: refused.to_string().into_bytes() }]);
    assert_eq!(refusal(next).2, "Could not decode tenant token, Base64 error: x.");
}

struct Inner;
impl Flow for Inner {
    fn start(&mut self) -> Next {
        Next::Wait
    }
    fn on_body(&mut self, _: Vec<u8>) -> Next {
        Next::Respond(Response::json(299, &json!("inner")))
    }
    fn on_replies(&mut self, _: Vec<Reply>) -> Next {
        Next::Wait
    }
}

fn guarded_write(actions: Value) -> (Box<dyn Flow>, Next) {
    let need = crate::access::need_of(&classify(Method::Post, "/indexes/movies/documents"), Method::Post, "/indexes/movies/documents");
    let check = Check { authorization: Some("Bearer k1".into()), content_type: Some("application/json".into()), now_ms: NOW_MS, multi_search: false };
    let mut flow = guard(map(), check, KeyCache::shared(), need, Box::new(Inner));
    let Next::Send(lookup) = flow.start() else { panic!() };
    assert_eq!((lookup[0].target, lookup[0].path.as_str()), (Target::NodeAsMiroir(0), "/keys/k1"));
    assert_eq!(flow.on_body(br#"[{"id": 1}, {"id": 2}]"#.to_vec()), Next::Wait);
    let next = flow.on_replies(vec![ok(key("k1", actions, json!(["*"])))]);
    (flow, next)
}

#[test]
fn a_key_that_may_not_create_the_index_gets_meilisearchs_failed_task() {
    let (mut flow, next) = guarded_write(json!(["documents.add"]));
    let Next::Send(probe) = next else { panic!("{next:?}") };
    assert_eq!((probe[0].target, probe[0].path.as_str()), (Target::NodeAsMiroir(0), "/indexes/movies"));
    let Next::Send(register) = flow.on_replies(vec![Reply { status: 404, body: Vec::new() }]) else { panic!() };
    assert_eq!(register[0].target, Target::Control);
    let record: crate::task::TaskRecord = serde_json::from_slice(register[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(record.error.as_ref().unwrap()["code"], "index_not_found");
    assert_eq!(record.details["receivedDocuments"], 2);
    assert!(record.node_tasks.is_empty());
    // An existing index: the write goes ahead.
    let (mut flow, next) = guarded_write(json!(["documents.add"]));
    assert!(matches!(next, Next::Send(_)));
    assert_eq!(flow.on_replies(vec![Reply { status: 200, body: b"{}".to_vec() }]), Next::Respond(Response::json(299, &json!("inner"))));
}

#[test]
fn a_key_that_may_create_the_index_goes_straight_to_the_write() {
    let (_, next) = guarded_write(json!(["documents.add", "indexes.create"]));
    assert_eq!(next, Next::Respond(Response::json(299, &json!("inner"))));
    let (_, next) = guarded_write(json!(["search"]));
    let Next::Respond(refusal) = next else { panic!() };
    assert_eq!(refusal.status, 403);
}

#[test]
fn a_key_restricted_to_some_indexes_reaches_the_task_flows_as_a_scope() {
    let keys = KeyCache::shared();
    let record = json!({"uid": 3, "indexUid": "books", "type": "documentAdditionOrUpdate", "nodeTasks": [{"node": "node0", "taskUid": 1}]});
    let mut f = flow("GET", "/tasks/3", Some("k1"), &keys);
    lookup_of(f.start());
    f.on_replies(vec![ok(key("k1", json!(["tasks.get"]), json!(["movies"])))]);
    let Next::Send(registry) = f.on_body(Vec::new()) else { panic!() };
    assert_eq!(registry[0].target, Target::Control);
    assert_eq!(refusal(f.on_replies(vec![ok(record.clone())])).1, "task_not_found");
    let mut f = flow("GET", "/tasks/3", Some("k2"), &keys);
    lookup_of(f.start());
    f.on_replies(vec![ok(key("k2", json!(["tasks.get"]), json!(["mov*", "*"])))]);
    f.on_body(Vec::new());
    let Next::Send(node) = f.on_replies(vec![ok(record)]) else { panic!() };
    assert_eq!(node[0].target, Target::NodeAsMiroir(0));
}
