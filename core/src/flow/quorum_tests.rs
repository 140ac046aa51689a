//! Writes under failures and rebalances: the quorum, missed owners, tombstones, stamps.

use std::sync::Arc;

use serde_json::{json, Value};

use super::tests::{accepted, body_json, calls, registry_answer, reply, request, response};
use super::*;
use crate::placement::IndexPlacement;
use crate::shard_map::{NodeRole, NodeState};
use crate::task::{TaskRecord, Tombstones};
use crate::wire::{SHARD_FIELD, VERSION_FIELD};

const STAMP: u64 = 1_763_800_000_000_042;

fn map_with(nodes: usize, rf: u32, quorum: u32, edit: impl FnOnce(&mut ShardMap)) -> Arc<ShardMap> {
    let mut m = crate::testing::shard_map(nodes, rf, 1);
    m.write_quorum = quorum;
    edit(&mut m);
    Arc::new(m)
}

fn stamped(method: &str, path: &str) -> RequestInfo {
    RequestInfo { version: STAMP, ..request(method, path, Some("application/json")) }
}

fn node_of(call: &Call) -> usize {
    match call.target {
        Target::Node(n) | Target::NodeAsMiroir(n) => n,
        Target::Control => panic!("a node call expected"),
    }
}

fn record_of(call: &Call) -> TaskRecord {
    serde_json::from_slice(call.body.as_ref().unwrap()).unwrap()
}

fn docs_of(call: &Call) -> Vec<Value> {
    serde_json::Deserializer::from_slice(call.body.as_ref().unwrap()).into_iter().map(Result::unwrap).collect()
}

/// Starts a documents write on an existing index and hands in `body`: the write round.
fn write_round(m: &Arc<ShardMap>, body: Value) -> (Box<dyn Flow>, Next) {
    let mut flow = for_request(m.clone(), stamped("POST", "/indexes/movies/documents"));
    calls(flow.start());
    assert_eq!(flow.on_replies(vec![reply(200, json!({"uid": "movies", "primaryKey": "id"}))]), Next::Wait);
    let next = flow.on_body(body.to_string().into_bytes());
    (flow, next)
}

fn docs(n: usize) -> Value {
    Value::Array((0..n).map(|i| json!({"id": i, "title": format!("t{i}")})).collect())
}

#[test]
fn rf_1_with_a_dead_owner_refuses_the_write_and_sends_nothing() {
    let m = map_with(3, 1, 1, |m| m.nodes[1].state = NodeState::Down);
    let (_, next) = write_round(&m, docs(50));
    let r = response(next);
    assert_eq!(r.status, 503);
    let body = body_json(&r);
    assert_eq!(body["code"], "miroir_write_quorum_unavailable");
    let p = IndexPlacement::compute(&m, "movies");
    let dead: Vec<String> = p.shards_on(1).iter().filter(|s| (0..50).any(|i| p.shard_of(&i.to_string()) == **s)).map(u32::to_string).collect();
    assert!(body["message"].as_str().unwrap().contains(&dead.join(", ")), "{body}");
}

#[test]
fn rf_2_with_a_dead_owner_writes_to_the_rest_and_reports_it_missed() {
    let m = map_with(3, 2, 1, |m| m.nodes[2].state = NodeState::Down);
    let (mut flow, next) = write_round(&m, docs(50));
    let writes = calls(next);
    assert!(writes.iter().all(|c| node_of(c) != 2), "nothing goes to a down node");
    for w in &writes {
        assert!(docs_of(w).iter().all(|d| crate::wire::decode_version(&d[VERSION_FIELD]) == Some(STAMP) && crate::wire::decode_shard(&d[SHARD_FIELD]).is_some()));
    }
    let register = calls(flow.on_replies((0..writes.len() as u64).map(accepted).collect()));
    let record = record_of(&register[0]);
    assert_eq!(record.missed, vec!["node2".to_string()]);
    assert_eq!(record.error, None);
    // Shards whose other replica is down have one copy: the task still counts 50.
    let carried: u64 = record.node_tasks.iter().map(|t| t.documents).sum();
    assert!(carried > 50 && carried < 100, "{carried}");
    let views: Vec<Value> = record
        .node_tasks
        .iter()
        .map(|t| json!({"status": "succeeded", "details": {"receivedDocuments": t.documents, "indexedDocuments": t.documents}}))
        .collect();
    assert_eq!(crate::task::combine(&record, &views)["details"]["indexedDocuments"], 50);
    let done = response(flow.on_replies(vec![registry_answer(&register[0], 7)]));
    assert_eq!(done.status, 202);
}

#[test]
fn a_failed_owner_below_the_quorum_is_registered_then_refused() {
    let m = map_with(3, 2, 2, |_| {});
    let (mut flow, next) = write_round(&m, docs(50));
    let writes = calls(next);
    let replies: Vec<Reply> = writes.iter().map(|c| if node_of(c) == 0 { Reply::default() } else { accepted(9) }).collect();
    let register = calls(flow.on_replies(replies));
    let record = record_of(&register[0]);
    assert_eq!(record.missed, vec!["node0".to_string()]);
    assert_eq!(record.error.as_ref().unwrap()["code"], "miroir_write_quorum_unavailable");
    let r = response(flow.on_replies(vec![registry_answer(&register[0], 8)]));
    assert_eq!((r.status, body_json(&r)["code"].as_str().unwrap()), (503, "miroir_write_quorum_unavailable"));
}

#[test]
fn a_failed_owner_within_the_quorum_is_acknowledged_and_missed() {
    let m = map_with(3, 2, 1, |_| {});
    let (mut flow, next) = write_round(&m, docs(50));
    let writes = calls(next);
    let replies: Vec<Reply> = writes.iter().map(|c| if node_of(c) == 1 { reply(503, json!({})) } else { accepted(9) }).collect();
    let mut other = write_round(&m, docs(50));
    let other_calls = calls(other.1);
    let odd: Vec<Reply> = other_calls.iter().map(|c| if node_of(c) == 2 { reply(202, json!({"no": "task"})) } else { accepted(9) }).collect();
    assert_eq!(record_of(&calls(other.0.on_replies(odd))[0]).missed, vec!["node2".to_string()], "a 202 without a task is missed");
    let register = calls(flow.on_replies(replies));
    let record = record_of(&register[0]);
    assert_eq!(record.missed, vec!["node1".to_string()]);
    assert_eq!(record.error, None);
    assert_eq!(response(flow.on_replies(vec![registry_answer(&register[0], 8)])).status, 202);
}

#[test]
fn a_joining_node_gets_its_future_shards_in_a_hidden_part() {
    let m = map_with(4, 2, 1, |m| m.nodes[3].role = NodeRole::Joining);
    let p = IndexPlacement::compute(&m, "movies");
    let (mut flow, next) = write_round(&m, docs(100));
    let writes = calls(next);
    let to_new: Vec<&Call> = writes.iter().filter(|c| node_of(c) == 3).collect();
    assert_eq!(to_new.len(), 1);
    for d in docs_of(to_new[0]) {
        let shard = crate::wire::decode_shard(&d[SHARD_FIELD]).unwrap();
        assert!(p.write_owners_of(shard).contains(&3) && !p.owners_of(shard).contains(&3));
    }
    let register = calls(flow.on_replies((0..writes.len() as u64).map(accepted).collect()));
    let record = record_of(&register[0]);
    let hidden: Vec<&str> = record.node_tasks.iter().filter(|t| t.hidden).map(|t| t.node.as_str()).collect();
    assert_eq!(hidden, vec!["node3"]);
    assert_eq!(record.copies, 2);
}

#[test]
fn a_point_delete_leaves_a_tombstone_and_skips_down_owners() {
    let m = map_with(3, 2, 1, |m| m.nodes[0].state = NodeState::Down);
    let p = IndexPlacement::compute(&m, "movies");
    let id = (0..100).map(|i| format!("d{i}")).find(|id| p.owners_of(p.shard_of(id)).contains(&0)).unwrap();
    let mut flow = for_request(m.clone(), stamped("DELETE", &format!("/indexes/movies/documents/{id}")));
    let deletes = calls(flow.start());
    assert_eq!(deletes.len(), 1, "one owner left of two");
    assert!(deletes.iter().all(|c| c.method == Method::Delete && node_of(c) != 0));
    let register = calls(flow.on_replies(vec![accepted(4)]));
    let record = record_of(&register[0]);
    assert_eq!(record.tombstones, Some(Tombstones { version: STAMP, ids: vec![id] }));
    assert_eq!(record.missed, vec!["node0".to_string()]);
    assert_eq!(response(flow.on_replies(vec![registry_answer(&register[0], 5)])).status, 202);
}

#[test]
fn a_point_delete_without_a_quorum_sends_nothing() {
    let m = map_with(3, 1, 1, |m| m.nodes.iter_mut().for_each(|n| n.state = NodeState::Down));
    let mut flow = for_request(m, stamped("DELETE", "/indexes/movies/documents/x"));
    let r = response(flow.start());
    assert_eq!((r.status, body_json(&r)["code"].as_str().unwrap()), (503, "miroir_write_quorum_unavailable"));
}

#[test]
fn a_delete_batch_leaves_tombstones_for_every_id() {
    let m = map_with(3, 2, 1, |m| m.nodes[1].state = NodeState::Recovering);
    let mut flow = for_request(m.clone(), stamped("POST", "/indexes/movies/documents/delete-batch"));
    assert_eq!(flow.start(), Next::Wait);
    let deletes = calls(flow.on_body(br#"["a", 7, "c"]"#.to_vec()));
    assert!(deletes.iter().any(|c| node_of(c) == 1), "a recovering node takes deletes");
    let register = calls(flow.on_replies((0..deletes.len() as u64).map(accepted).collect()));
    let record = record_of(&register[0]);
    assert_eq!(record.tombstones, Some(Tombstones { version: STAMP, ids: vec!["a".into(), "7".into(), "c".into()] }));
    assert!(record.missed.is_empty());
}

#[test]
fn a_delete_batch_below_the_quorum_sends_nothing() {
    let m = map_with(2, 2, 2, |m| m.nodes[0].state = NodeState::Down);
    let mut flow = for_request(m, stamped("POST", "/indexes/movies/documents/delete-batch"));
    flow.start();
    let r = response(flow.on_body(br#"["a"]"#.to_vec()));
    assert_eq!(r.status, 503);
}

#[test]
fn reads_avoid_recovering_and_joining_nodes() {
    let m = map_with(4, 2, 1, |m| {
        m.nodes[0].state = NodeState::Recovering;
        m.nodes[3].role = NodeRole::Joining;
    });
    let p = IndexPlacement::compute(&m, "movies");
    for id in (0..40).map(|i| i.to_string()) {
        let mut flow = for_request(m.clone(), request("GET", &format!("/indexes/movies/documents/{id}"), None));
        let mut tried = Vec::new();
        let mut next = flow.start();
        while let Next::Send(c) = next {
            tried.push(node_of(&c[0]));
            next = flow.on_replies(vec![Reply::default()]);
        }
        assert!(tried.iter().all(|&n| n != 0 && n != 3), "{tried:?}");
        assert_eq!(tried.len(), p.owners_of(p.shard_of(&id)).iter().filter(|&&n| n != 0).count());
    }
}

#[test]
fn documents_read_back_without_bookkeeping() {
    let m = map_with(3, 2, 1, |_| {});
    let mut flow = for_request(m, request("GET", "/indexes/movies/documents/1", None));
    calls(flow.start());
    let r = response(flow.on_replies(vec![reply(200, json!({"id": 1, SHARD_FIELD: 3, VERSION_FIELD: STAMP, "t": "x"}))]));
    assert_eq!(body_json(&r), json!({"id": 1, "t": "x"}));
}

#[test]
fn stats_leave_joining_nodes_out() {
    let m = map_with(4, 2, 1, |m| m.nodes[3].role = NodeRole::Joining);
    let mut flow = for_request(m, request("GET", "/indexes/movies/stats", None));
    let asked: Vec<usize> = calls(flow.start()).iter().map(node_of).collect();
    assert_eq!(asked, vec![0, 1, 2]);
    let node = |n: u64| reply(200, json!({"numberOfDocuments": n, "rawDocumentDbSize": n, "fieldDistribution": {"id": n, VERSION_FIELD: n}}));
    let r = response(flow.on_replies(vec![node(10), node(6), node(4)]));
    assert_eq!(body_json(&r)["numberOfDocuments"], 10);
    assert_eq!(body_json(&r)["fieldDistribution"], json!({"id": 10}));
}

#[test]
fn writes_are_stamped_routes_and_reads_are_not() {
    use crate::route::classify;
    assert!(classify(Method::Put, "/indexes/m/documents").is_stamped());
    assert!(classify(Method::Delete, "/indexes/m/documents/1").is_stamped());
    assert!(classify(Method::Post, "/indexes/m/documents/delete-batch").is_stamped());
    assert!(!classify(Method::Post, "/indexes/m/search").is_stamped());
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Node i: 0 up, 1 down, 2 recovering; roles mostly active, some joining or leaving.
    fn cluster(states: &[u8], roles: &[u8], rf: u32, quorum: u32) -> Arc<ShardMap> {
        map_with(states.len(), rf, quorum, |m| {
            for (i, node) in m.nodes.iter_mut().enumerate() {
                node.state = match states[i] {
                    1 => NodeState::Down,
                    2 => NodeState::Recovering,
                    _ => NodeState::Up,
                };
                node.role = match roles.get(i) {
                    Some(1) => NodeRole::Joining,
                    Some(2) => NodeRole::Leaving,
                    _ => NodeRole::Active,
                };
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// A write either is refused with nothing sent, or reaches, for every touched shard,
        /// at least the quorum of its write owners — and never a down node.
        #[test]
        fn a_write_is_refused_whole_or_reaches_a_quorum_of_every_shard(
            states in proptest::collection::vec(0u8..3, 2..7),
            roles in proptest::collection::vec(0u8..4, 0..7),
            rf in 1u32..3,
            quorum in 1u32..3,
            ids in proptest::collection::btree_set(0u32..500, 1..40),
        ) {
            let m = cluster(&states, &roles, rf, quorum);
            let body = Value::Array(ids.iter().map(|i| json!({"id": i})).collect());
            if m.nodes.iter().all(|n| n.state != NodeState::Up) {
                // No node to probe the index on: refused at once.
                let mut flow = for_request(m.clone(), stamped("POST", "/indexes/movies/documents"));
                let Next::Respond(r) = flow.start() else { return Err(TestCaseError::fail("a refusal expected")) };
                prop_assert_eq!(r.status, 503);
                return Ok(());
            }
            let (_, next) = write_round(&m, body);
            let p = IndexPlacement::compute(&m, "movies");
            match next {
                Next::Respond(r) => {
                    let body = body_json(&r);
                    prop_assert_eq!(body["code"].as_str(), Some("miroir_write_quorum_unavailable"));
                }
                Next::Send(calls) => {
                    prop_assert!(calls.iter().all(|c| m.nodes[node_of(c)].state.takes_writes()));
                    for id in &ids {
                        let shard = p.shard_of(&id.to_string());
                        let reached = p.write_owners_of(shard).iter().filter(|&&n| calls.iter().any(|c| {
                            node_of(c) == n && docs_of(c).iter().any(|d| d["id"] == *id)
                        })).count();
                        prop_assert!(reached >= quorum as usize, "id {} reached {} owners", id, reached);
                        prop_assert!(calls.iter().all(|c| !docs_of(c).iter().any(|d| d["id"] == *id) || p.write_owners_of(shard).contains(&node_of(c))));
                    }
                }
                Next::Wait => prop_assert!(false, "a write round or a refusal expected"),
            }
        }
    }
}
