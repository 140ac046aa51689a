use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::placement::IndexPlacement;
use crate::shard_map::NodeState;
use crate::task::TaskRecord;
use crate::wire::SHARD_FIELD;

pub(super) fn map(nodes: usize, rf: u32) -> Arc<ShardMap> {
    Arc::new(crate::testing::shard_map(nodes, rf, 1))
}

pub(super) fn request(method: &str, path: &str, content_type: Option<&str>) -> RequestInfo {
    RequestInfo { method: method.into(), path: path.into(), content_type: content_type.map(str::to_string), ..Default::default() }
}

pub(super) fn reply(status: u16, body: Value) -> Reply {
    Reply { status, body: body.to_string().into_bytes() }
}

pub(super) fn accepted(uid: u64) -> Reply {
    reply(202, json!({"taskUid": uid, "status": "enqueued"}))
}

pub(super) fn calls(next: Next) -> Vec<Call> {
    match next {
        Next::Send(calls) => calls,
        other => panic!("expected calls, got {other:?}"),
    }
}

pub(super) fn response(next: Next) -> Response {
    match next {
        Next::Respond(r) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

pub(super) fn body_json(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

/// The registry's answer to a registration call: the record with a uid.
pub(super) fn registry_answer(call: &Call, uid: u64) -> Reply {
    let mut record: TaskRecord = serde_json::from_slice(call.body.as_ref().unwrap()).unwrap();
    record.uid = uid;
    record.enqueued_at = "2026-11-22T00:00:00Z".into();
    Reply { status: 201, body: serde_json::to_vec(&record).unwrap() }
}

#[test]
fn a_write_to_a_new_index_sets_bookkeeping_then_splits_then_registers() {
    let m = map(3, 2);
    let mut flow = for_request(m.clone(), request("POST", "/indexes/movies/documents", Some("application/json")));
    let probe = calls(flow.start());
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].path, "/indexes/movies");
    // The body arrives before the probe's answer: nothing is sent yet.
    let docs: Vec<Value> = (0..50).map(|i| json!({"id": i})).collect();
    assert_eq!(flow.on_body(Value::Array(docs).to_string().into_bytes()), Next::Wait);
    let settings = calls(flow.on_replies(vec![reply(404, json!({"code": "index_not_found"}))]));
    assert_eq!(settings.len(), 3);
    assert!(settings.iter().all(|c| c.method == Method::Patch && c.path == "/indexes/movies/settings"));
    let writes = calls(flow.on_replies((0..3).map(accepted).collect()));
    assert_eq!(writes.len(), 3, "one request per node");
    let p = IndexPlacement::compute(&m, "movies");
    for w in &writes {
        let Target::Node(n) = w.target else { panic!() };
        assert_eq!(w.path, "/indexes/movies/documents?primaryKey=id");
        let sent: Vec<Value> = serde_json::Deserializer::from_slice(w.body.as_ref().unwrap()).into_iter().map(Result::unwrap).collect();
        assert!(sent.iter().all(|d| p.owners_of(crate::wire::decode_shard(&d[SHARD_FIELD]).unwrap()).contains(&n)));
        assert_eq!(sent.len(), p.shards_on(n).iter().map(|s| (0..50).filter(|i| p.shard_of(&i.to_string()) == *s).count()).sum::<usize>());
    }
    let register = calls(flow.on_replies((10..13).map(accepted).collect()));
    assert_eq!(register[0].target, Target::Control);
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(record.node_tasks.len(), 6);
    assert_eq!(record.node_tasks.iter().filter(|t| t.hidden).count(), 3);
    assert_eq!(record.details["receivedDocuments"], 50);
    assert_eq!(record.copies, 2);
    let done = response(flow.on_replies(vec![registry_answer(&register[0], 41)]));
    assert_eq!(done.status, 202);
    assert_eq!(body_json(&done)["taskUid"], 41);
    assert_eq!(body_json(&done)["type"], "documentAdditionOrUpdate");
}

#[test]
fn a_malformed_batch_is_refused_and_nothing_is_written() {
    let mut flow = for_request(map(3, 2), request("POST", "/indexes/movies/documents", Some("application/json")));
    calls(flow.start());
    let wait = flow.on_replies(vec![reply(200, json!({"uid": "movies", "primaryKey": "id"}))]);
    assert_eq!(wait, Next::Wait);
    let refused = response(flow.on_body(br#"[{"id": 1}, {"id": "#.to_vec()));
    assert_eq!(refused.status, 400);
    assert_eq!(body_json(&refused)["code"], "malformed_payload");
}

#[test]
fn a_missing_id_fails_the_task_without_touching_nodes() {
    let mut flow = for_request(map(3, 2), request("PUT", "/indexes/movies/documents", Some("application/json")));
    calls(flow.start());
    flow.on_replies(vec![reply(200, json!({"uid": "movies", "primaryKey": "id"}))]);
    let register = calls(flow.on_body(br#"[{"id": 1}, {"title": "no id"}]"#.to_vec()));
    assert_eq!(register.len(), 1);
    assert_eq!(register[0].target, Target::Control);
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert!(record.node_tasks.is_empty());
    assert_eq!(record.error.as_ref().unwrap()["code"], "missing_document_id");
    let done = response(flow.on_replies(vec![registry_answer(&register[0], 3)]));
    assert_eq!(done.status, 202);
}

#[test]
fn the_clients_custom_metadata_is_registered_and_answered() {
    let mut flow = for_request(map(3, 2), request("PUT", "/indexes/movies/documents?customMetadata=import%207", Some("application/json")));
    calls(flow.start());
    flow.on_replies(vec![reply(200, json!({"uid": "movies", "primaryKey": "id"}))]);
    let register = calls(flow.on_body(br#"[{"title": "no id"}]"#.to_vec()));
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(record.custom_metadata.as_deref(), Some("import 7"));
    let done = response(flow.on_replies(vec![registry_answer(&register[0], 3)]));
    assert_eq!(body_json(&done)["customMetadata"], "import 7");
}

#[test]
fn deletes_keep_the_clients_custom_metadata() {
    let mut point = for_request(map(3, 2), request("DELETE", "/indexes/movies/documents/7?customMetadata=one", None));
    let sent = calls(point.start());
    let register = calls(point.on_replies((0..sent.len() as u64).map(accepted).collect()));
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(record.custom_metadata.as_deref(), Some("one"));
    let path = "/indexes/movies/documents/delete-batch?customMetadata=some";
    let mut batch = for_request(map(3, 2), request("POST", path, Some("application/json")));
    assert_eq!(batch.start(), Next::Wait);
    let sent = calls(batch.on_body(br#"[1, 2, 3]"#.to_vec()));
    let register = calls(batch.on_replies((0..sent.len() as u64).map(accepted).collect()));
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(record.custom_metadata.as_deref(), Some("some"));
}

#[test]
fn wrong_content_type_and_oversize_bodies_are_refused_like_meilisearch() {
    for (ct, body, status, code) in [
        (None, b"[]".to_vec(), 415, "missing_content_type"),
        (Some("text/plain"), b"[]".to_vec(), 415, "invalid_content_type"),
        (Some("application/json"), vec![b' '; 1_000_001], 413, "payload_too_large"),
        (Some("application/json"), Vec::new(), 400, "missing_payload"),
    ] {
        let mut flow = for_request(map(3, 2), request("POST", "/indexes/m/documents", ct));
        calls(flow.start());
        flow.on_replies(vec![reply(404, json!({}))]);
        let r = response(flow.on_body(body));
        assert_eq!((r.status, body_json(&r)["code"].as_str().unwrap()), (status, code));
    }
    for (query, ct, status, code) in [("?foo=1", Some("text/plain"), 400, "bad_request"), ("?skipCreation=true", None, 415, "missing_content_type")] {
        let mut flow = for_request(map(3, 2), request("POST", &format!("/indexes/m/documents{query}"), ct));
        let body = b"[]".to_vec();
        calls(flow.start());
        flow.on_replies(vec![reply(404, json!({}))]);
        let r = response(flow.on_body(body));
        assert_eq!((r.status, body_json(&r)["code"].as_str().unwrap()), (status, code));
    }
}

#[test]
fn the_probe_relays_auth_errors_and_skips_dead_nodes() {
    let mut flow = for_request(map(3, 2), request("POST", "/indexes/m/documents", Some("application/json")));
    let first = calls(flow.start());
    let second = calls(flow.on_replies(vec![Reply::default()]));
    assert_ne!(first[0].target, second[0].target);
    let r = response(flow.on_replies(vec![reply(403, json!({"code": "invalid_api_key"}))]));
    assert_eq!(r.status, 403);
}

#[test]
fn a_point_read_falls_back_to_another_replica_and_hides_the_shard_field() {
    let m = map(3, 2);
    let mut flow = for_request(m.clone(), request("GET", "/indexes/movies/documents/42?fields=id", None));
    let first = calls(flow.start());
    assert_eq!(first[0].path, "/indexes/movies/documents/42?fields=id");
    let second = calls(flow.on_replies(vec![reply(502, json!({}))]));
    let p = IndexPlacement::compute(&m, "movies");
    let owners = p.owners_of(p.shard_of("42"));
    assert_eq!(vec![first[0].target, second[0].target], owners.iter().map(|&n| Target::Node(n)).collect::<Vec<_>>());
    let r = response(flow.on_replies(vec![reply(200, json!({"id": 42, SHARD_FIELD: 3, "title": "x"}))]));
    assert_eq!(body_json(&r), json!({"id": 42, "title": "x"}));
}

#[test]
fn a_delete_batch_sends_each_id_to_its_owners_only() {
    let m = map(4, 1);
    let p = IndexPlacement::compute(&m, "movies");
    let mut flow = for_request(m.clone(), request("POST", "/indexes/movies/documents/delete-batch", Some("application/json")));
    assert_eq!(flow.start(), Next::Wait);
    let sent = calls(flow.on_body(br#"[1, "2", "abc", 4]"#.to_vec()));
    let mut total = 0;
    for c in &sent {
        let Target::Node(n) = c.target else { panic!() };
        let ids: Vec<Value> = serde_json::from_slice(c.body.as_ref().unwrap()).unwrap();
        for id in &ids {
            let id = id.as_str().map_or_else(|| id.to_string(), str::to_string);
            assert_eq!(p.owners_of(p.shard_of(&id)), &[n]);
        }
        total += ids.len();
    }
    assert_eq!(total, 4);
}

#[test]
fn unsupported_routes_answer_a_named_error() {
    let mut flow = for_request(map(1, 1), request("POST", "/indexes/movies/compact", Some("application/json")));
    let r = response(flow.start());
    assert_eq!(r.status, 501);
    assert!(body_json(&r)["message"].as_str().unwrap().contains("POST /indexes/movies/compact"));
}

#[test]
fn a_task_combines_its_node_tasks() {
    let m = map(2, 1);
    let mut flow = for_request(m, request("GET", "/tasks/5", None));
    let ask = calls(flow.start());
    assert_eq!(ask[0].path, "/_miroir/tasks/5");
    let record = json!({"uid": 5, "indexUid": "movies", "type": "documentAdditionOrUpdate", "enqueuedAt": "t",
        "nodeTasks": [{"node": "node0", "taskUid": 1}, {"node": "node1", "taskUid": 8}], "copies": 1,
        "details": {"receivedDocuments": 3}});
    let node_calls = calls(flow.on_replies(vec![reply(200, record)]));
    assert_eq!(node_calls.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), vec!["/tasks/1", "/tasks/8"]);
    let done = |indexed: u64| reply(200, json!({"status": "succeeded", "details": {"indexedDocuments": indexed}}));
    let r = response(flow.on_replies(vec![done(1), done(2)]));
    assert_eq!(body_json(&r)["status"], "succeeded");
    assert_eq!(body_json(&r)["details"]["indexedDocuments"], 3);
    let mut missing = for_request(map(1, 1), request("GET", "/tasks/9", None));
    calls(missing.start());
    assert_eq!(response(missing.on_replies(vec![reply(404, json!({}))])).status, 404);
}

#[test]
fn a_client_settings_change_keeps_the_shard_field_filterable() {
    let mut flow = for_request(map(3, 2), request("PATCH", "/indexes/movies/settings", Some("application/json")));
    assert_eq!(flow.start(), Next::Wait);
    let probe = calls(flow.on_body(br#"{"filterableAttributes": ["genre"]}"#.to_vec()));
    assert_eq!(probe[0].path, "/indexes/movies");
    let sent = calls(flow.on_replies(vec![reply(200, json!({"uid": "movies"}))]));
    assert_eq!(sent.len(), 3);
    for c in &sent {
        let body: Value = serde_json::from_slice(c.body.as_ref().unwrap()).unwrap();
        assert_eq!(body, json!({"filterableAttributes": ["genre", SHARD_FIELD]}));
    }
    let register = calls(flow.on_replies((0..3).map(accepted).collect()));
    assert_eq!(register[0].target, Target::Control);
}

#[test]
fn resetting_all_settings_sets_the_bookkeeping_again() {
    let mut flow = for_request(map(2, 1), request("DELETE", "/indexes/movies/settings", None));
    flow.start();
    calls(flow.on_body(Vec::new()));
    let reset = calls(flow.on_replies(vec![reply(200, json!({"uid": "movies"}))]));
    assert!(reset.iter().all(|c| c.method == Method::Delete && c.body.is_none()));
    let again = calls(flow.on_replies((0..2).map(accepted).collect()));
    assert!(again.iter().all(|c| c.method == Method::Patch && c.path == "/indexes/movies/settings"));
    let register = calls(flow.on_replies((5..7).map(accepted).collect()));
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(record.node_tasks.iter().filter(|t| t.hidden).count(), 2);
}

#[test]
fn a_settings_change_that_creates_its_index_sets_miroir_settings_first() {
    let mut flow = for_request(map(2, 1), request("PATCH", "/indexes/fresh/settings", Some("application/json")));
    flow.start();
    calls(flow.on_body(br#"{"sortableAttributes": ["year"]}"#.to_vec()));
    let prepare = calls(flow.on_replies(vec![reply(404, json!({"code": "index_not_found"}))]));
    let patch: Value = serde_json::from_slice(prepare[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(patch, serde_json::from_slice::<Value>(&crate::settings::bookkeeping_patch()).unwrap());
    let apply = calls(flow.on_replies((0..2).map(accepted).collect()));
    let body: Value = serde_json::from_slice(apply[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(body, json!({"sortableAttributes": ["year"]}));
    let register = calls(flow.on_replies((2..4).map(accepted).collect()));
    let record: TaskRecord = serde_json::from_slice(register[0].body.as_ref().unwrap()).unwrap();
    assert_eq!(record.node_tasks.iter().filter(|t| t.hidden).count(), 2);
}

#[test]
fn settings_reads_hide_the_shard_field() {
    let mut flow = for_request(map(2, 1), request("GET", "/indexes/movies/settings/filterable-attributes", None));
    calls(flow.start());
    let r = response(flow.on_replies(vec![reply(200, json!(["genre", SHARD_FIELD]))]));
    assert_eq!(body_json(&r), json!(["genre"]));
}

mod search {
    use super::*;
    use crate::search::testkit::{offset_answer, Details};

    fn settings_reply() -> Reply {
        reply(200, json!({"rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
            "filterableAttributes": [SHARD_FIELD], "pagination": {"maxTotalHits": 1000},
            "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "alpha"}}, "distinctAttribute": null}))
    }

    /// A node's answer: one hit per shard it was asked for, ranked by shard id.
    fn answer_for(call: &Call) -> Reply {
        let body: Value = serde_json::from_slice(call.body.as_ref().unwrap()).unwrap();
        let shards: Vec<u32> =
            body["filter"].as_array().unwrap().iter().filter_map(Value::as_str).flat_map(crate::wire::shards_in_filter).collect();
        let hits: Vec<Value> = shards
            .iter()
            .map(|s| Details::new().words(1, 1).typo(u64::from(*s % 3), 2).hit(json!({"id": s, SHARD_FIELD: crate::wire::encode_shard(*s)}).as_object().unwrap().clone()))
            .collect();
        let n = hits.len() as u64;
        reply(200, offset_answer(hits, n, 3))
    }

    fn searched_shards(calls: &[Call]) -> Vec<u32> {
        let mut all: Vec<u32> = calls
            .iter()
            .flat_map(|c| {
                let body: Value = serde_json::from_slice(c.body.as_ref().unwrap()).unwrap();
                body["filter"].as_array().unwrap().iter().filter_map(Value::as_str).flat_map(crate::wire::shards_in_filter).collect::<Vec<u32>>()
            })
            .collect();
        all.sort_unstable();
        all
    }

    fn search_request(seed: u64) -> RequestInfo {
        RequestInfo { seed, ..request("POST", "/indexes/movies/search", Some("application/json")) }
    }

    /// Replies to a round: the settings call first, then each search.
    fn answer_round(round: &[Call]) -> Vec<Reply> {
        round.iter().map(|c| if c.path.ends_with("/settings") { settings_reply() } else { answer_for(c) }).collect()
    }

    fn searches(round: &[Call]) -> Vec<Call> {
        round.iter().filter(|c| !c.path.ends_with("/settings")).cloned().collect()
    }

    #[test]
    fn a_search_covers_every_shard_once_and_merges() {
        let mut flow = for_request(map(3, 2), search_request(1));
        assert_eq!(flow.start(), Next::Wait);
        let round = calls(flow.on_body(br#"{"q": "x", "limit": 100}"#.to_vec()));
        assert_eq!(round[0].path, "/indexes/movies/settings", "settings ride in the first round");
        assert_eq!(searched_shards(&searches(&round)), (0..16).collect::<Vec<_>>());
        let r = response(flow.on_replies(answer_round(&round)));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let hits = body_json(&r)["hits"].as_array().unwrap().clone();
        assert_eq!(hits.len(), 16);
        assert!(hits.iter().all(|h| h.get(SHARD_FIELD).is_none() && h.get("_rankingScoreDetails").is_none()));
        assert!(r.headers.is_empty());
    }

    #[test]
    fn a_node_failing_mid_request_has_its_shards_retried_elsewhere() {
        let mut flow = for_request(map(3, 2), search_request(2));
        flow.start();
        let round = calls(flow.on_body(br#"{"q": "x", "limit": 100}"#.to_vec()));
        let Target::Node(failed) = round[1].target else { panic!() };
        let mut replies = answer_round(&round);
        replies[1] = Reply::default(); // reset: no answer
        let retry = calls(flow.on_replies(replies));
        assert!(retry.iter().all(|c| c.target != Target::Node(failed)));
        assert_eq!(searched_shards(&retry), searched_shards(&round[1..2]));
        let r = response(flow.on_replies(answer_round(&retry)));
        assert_eq!(body_json(&r)["hits"].as_array().unwrap().len(), 16);
        assert!(r.headers.is_empty(), "no shard is missing");
    }

    #[test]
    fn shards_with_no_live_replica_are_named_or_fail_on_request() {
        let mut m = (*map(3, 1)).clone();
        m.nodes[1].state = NodeState::Down;
        let m = Arc::new(m);
        let lost = IndexPlacement::compute(&m, "movies").shards_on(1);
        let expected = format!("shards={}", lost.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
        for fail in [false, true] {
            let mut flow = for_request(m.clone(), RequestInfo { fail_when_degraded: fail, ..search_request(3) });
            flow.start();
            let round = calls(flow.on_body(br#"{"q": "x"}"#.to_vec()));
            let r = response(flow.on_replies(answer_round(&round)));
            if fail {
                assert_eq!(r.status, 503);
                assert_eq!(body_json(&r)["code"], "miroir_shards_unavailable");
            } else {
                assert_eq!(r.status, 200);
                assert_eq!(r.headers, vec![(crate::wire::DEGRADED_HEADER.to_string(), expected.clone())]);
            }
        }
    }

    #[test]
    fn a_query_a_node_refuses_is_answered_by_one_node_as_sent() {
        let mut flow = for_request(map(3, 2), search_request(4));
        flow.start();
        let round = calls(flow.on_body(br#"{"q": "x", "filter": "nope = 1"}"#.to_vec()));
        let refusal = reply(400, json!({"code": "invalid_search_filter"}));
        let replies = round.iter().map(|c| if c.path.ends_with("/settings") { settings_reply() } else { refusal.clone() }).collect();
        let relay = calls(flow.on_replies(replies));
        assert_eq!(relay.len(), 1);
        assert_eq!(relay[0].body.as_deref(), Some(&br#"{"q": "x", "filter": "nope = 1"}"#[..]));
        let r = response(flow.on_replies(vec![refusal]));
        assert_eq!(body_json(&r)["code"], "invalid_search_filter");
    }

    #[test]
    fn a_hidden_distinct_attribute_in_the_settings_sends_the_searches_again() {
        let mut flow = for_request(map(3, 2), search_request(5));
        flow.start();
        let round = calls(flow.on_body(br#"{"q": "x", "attributesToRetrieve": ["title"]}"#.to_vec()));
        let mut settings = settings_reply();
        let mut v: Value = serde_json::from_slice(&settings.body).unwrap();
        v["distinctAttribute"] = json!("sku");
        settings.body = v.to_string().into_bytes();
        let replies = round.iter().map(|c| if c.path.ends_with("/settings") { settings.clone() } else { answer_for(c) }).collect();
        let again = calls(flow.on_replies(replies));
        assert!(again.iter().all(|c| !c.path.ends_with("/settings")));
        let body: Value = serde_json::from_slice(again[0].body.as_ref().unwrap()).unwrap();
        assert_eq!(body["attributesToRetrieve"], json!(["title", SHARD_FIELD, "sku"]));
    }

    #[test]
    fn a_facet_search_sums_counts_over_every_shard() {
        let mut flow = for_request(map(3, 2), RequestInfo { seed: 6, ..request("POST", "/indexes/movies/facet-search", Some("application/json")) });
        flow.start();
        let round = calls(flow.on_body(br#"{"facetName": "genre", "facetQuery": "a"}"#.to_vec()));
        let facet_calls = searches(&round);
        assert!(facet_calls.iter().all(|c| c.path == "/indexes/movies/facet-search"));
        assert_eq!(searched_shards(&facet_calls), (0..16).collect::<Vec<_>>());
        let replies = round
            .iter()
            .map(|c| match c.path.ends_with("/settings") {
                true => settings_reply(),
                false => reply(200, json!({"facetHits": [{"value": "action", "count": 2}, {"value": "animation", "count": 1}], "facetQuery": "a", "processingTimeMs": 1})),
            })
            .collect();
        let r = response(flow.on_replies(replies));
        let nodes = facet_calls.len() as u64;
        assert_eq!(body_json(&r)["facetHits"][0], json!({"value": "action", "count": 2 * nodes}));
        assert_eq!(body_json(&r)["facetHits"][1], json!({"value": "animation", "count": nodes}));
    }

    #[test]
    fn a_multi_search_runs_every_query_sharded_and_lists_results_in_order() {
        let mut flow = for_request(map(3, 2), request("POST", "/multi-search", Some("application/json")));
        assert_eq!(flow.start(), Next::Wait);
        let body = br#"{"queries": [{"indexUid": "movies", "q": "x"}, {"indexUid": "books", "q": "y", "limit": 3}]}"#;
        let round = calls(flow.on_body(body.to_vec()));
        assert_eq!(round.iter().filter(|c| c.path == "/indexes/movies/settings").count(), 1);
        assert_eq!(round.iter().filter(|c| c.path == "/indexes/books/settings").count(), 1);
        let movies: Vec<Call> = round.iter().filter(|c| c.path == "/indexes/movies/search").cloned().collect();
        assert_eq!(searched_shards(&movies), (0..16).collect::<Vec<_>>());
        let r = response(flow.on_replies(answer_round(&round)));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let results = body_json(&r)["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["indexUid"], "movies");
        assert_eq!(results[1]["indexUid"], "books");
        assert_eq!(results[1]["hits"].as_array().unwrap().len(), 3);
        assert_eq!(results[0].as_object().unwrap().keys().next().map(String::as_str), Some("indexUid"));
    }

    #[test]
    fn a_multi_search_error_names_its_query_like_meilisearch() {
        let mut flow = for_request(map(2, 1), request("POST", "/multi-search", Some("application/json")));
        flow.start();
        let round = calls(flow.on_body(br#"{"queries": [{"indexUid": "movies", "q": "x"}, {"indexUid": "nope", "q": "y"}]}"#.to_vec()));
        let missing = reply(404, json!({"message": "Index `nope` not found.", "code": "index_not_found", "type": "invalid_request", "link": "l"}));
        let replies = round.iter().map(|c| if c.path.starts_with("/indexes/nope") { missing.clone() } else if c.path.ends_with("/settings") { settings_reply() } else { answer_for(c) }).collect();
        let r = response(flow.on_replies(replies));
        assert_eq!(r.status, 400, "a missing index is a bad request inside a multi-search");
        assert_eq!(body_json(&r)["message"], "Inside `.queries[1]`: Index `nope` not found.");
        let mut fed = for_request(map(2, 1), request("POST", "/multi-search", Some("application/json")));
        fed.start();
        let round = calls(fed.on_body(br#"{"federation": {}, "queries": [{"indexUid": "nope", "q": "y"}]}"#.to_vec()));
        let replies = round.iter().map(|c| if c.path.ends_with("/settings") { missing.clone() } else { reply(400, json!({"code": "index_not_found"})) }).collect();
        let relay = calls(fed.on_replies(replies));
        assert_eq!((relay.len(), relay[0].path.as_str()), (1, "/multi-search"), "a refused federated search goes to one node as sent");
    }
}


#[test]
fn a_node_that_does_not_implement_a_route_is_not_unavailable() {
    assert!(Reply { status: 0, body: Vec::new() }.is_unavailable());
    assert!(Reply { status: 503, body: Vec::new() }.is_unavailable());
    assert!(!Reply { status: 501, body: Vec::new() }.is_unavailable(), "every node would answer the same 501");
    assert!(!Reply { status: 404, body: Vec::new() }.is_unavailable());
}
