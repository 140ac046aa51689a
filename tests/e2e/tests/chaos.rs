//! Issue 6's must-show: 3 nodes, RF 2, two gateways sending a continuous mix of
//! additions, partial updates (`PUT`), deletes and searches while a 4th node joins,
//! another is drained, and a third is killed with SIGKILL and restarted. At the end,
//! after a final repair pass that changes nothing:
//! - every replica of every document equals the last acknowledged write of its id;
//! - no acknowledged write is lost and no deleted document came back;
//! - every document sits on exactly RF nodes (the placement's owners);
//! - no search failed (every shard kept a live replica throughout).
//!
//! "Last acknowledged": each worker thread owns its own ids and sends one operation at a
//! time, alternating the two gateways, the next only after the previous one was
//! acknowledged (202). So the acknowledged operations of an id are totally ordered, and
//! the expected document is the result of applying them in that order. An operation that
//! was not acknowledged (any other answer) may or may not have been applied: its id is
//! "unknown" until the next acknowledged full write (addition or delete), and then only
//! its replicas' agreement is checked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use miroir_core::placement::IndexPlacement;
use miroir_core::wire;
use miroir_e2e::{binaries, Client, Mesh, MeshSpec};
use serde_json::{json, Map, Value};

const INDEX: &str = "chaos";
const WORKERS: u64 = 4;
const IDS_PER_WORKER: u64 = 150;
/// Per step; real nodes under this load take much longer to fill (see docs/convergence.md).
fn step_timeout() -> Duration {
    Duration::from_secs(if binaries::is_real_meilisearch() { 400 } else { 120 })
}

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Present(Map<String, Value>),
    Absent,
    /// A write to it was not acknowledged: either outcome is allowed.
    Unknown,
}

/// A small deterministic generator (no dependency needed for this).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn doc(id: u64, k: u64) -> Map<String, Value> {
    json!({"id": id, "title": format!("document {id} version {k}"), "n": k, "tag": if k % 2 == 0 { "even" } else { "odd" }})
        .as_object()
        .cloned()
        .unwrap_or_default()
}

struct Tally {
    model: BTreeMap<u64, Expect>,
    /// Per id, its operations in order: (op number, kind, gateway, status).
    log: BTreeMap<u64, Vec<(u64, &'static str, u64, u16)>>,
    acked: u64,
    refused: Vec<String>,
}

/// One worker: its ids, one operation at a time, alternating gateways.
fn work(worker: u64, gateways: [Client; 2], stop: Arc<AtomicBool>, mut model: BTreeMap<u64, Expect>) -> Tally {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (worker + 1));
    let (mut acked, mut refused) = (0, Vec::new());
    let mut log: BTreeMap<u64, Vec<(u64, &'static str, u64, u16)>> = BTreeMap::new();
    let mut k = 0u64;
    // A real node indexes every small write as its own task: keep the load one it sustains
    // on a small machine (the double takes everything at once).
    let pause = if binaries::is_real_meilisearch() { Duration::from_millis(60) } else { Duration::ZERO };
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(pause);
        k += 1;
        let id = worker * IDS_PER_WORKER + rng.next() % IDS_PER_WORKER;
        let gateway = &gateways[(k % 2) as usize];
        let roll = rng.next() % 10;
        let kind = match roll {
            0..5 => "add",
            5..8 => "put",
            _ => "delete",
        };
        let (answer, next) = if roll < 5 {
            let d = doc(id, k);
            let a = gateway.json("POST", &format!("/indexes/{INDEX}/documents"), &json!([d.clone()]));
            (a, Expect::Present(d))
        } else if roll < 8 {
            let patch = json!({"id": id, "n": k});
            let a = gateway.json("PUT", &format!("/indexes/{INDEX}/documents"), &json!([patch]));
            let next = match &model[&id] {
                Expect::Present(d) => {
                    let mut d = d.clone();
                    d.insert("n".into(), json!(k));
                    Expect::Present(d)
                }
                Expect::Absent => Expect::Present(patch.as_object().cloned().unwrap_or_default()),
                Expect::Unknown => Expect::Unknown,
            };
            (a, next)
        } else {
            (gateway.send("DELETE", &format!("/indexes/{INDEX}/documents/{id}"), None, None), Expect::Absent)
        };
        log.entry(id).or_default().push((k, kind, k % 2, answer.status));
        if answer.status == 202 {
            acked += 1;
            model.insert(id, next);
        } else {
            refused.push(format!("{} {:?}", answer.status, answer.code()));
            model.insert(id, Expect::Unknown);
        }
    }
    Tally { model, log, acked, refused }
}

/// Searches through both gateways until stopped; returns the failed ones.
fn search(gateways: [Client; 2], stop: Arc<AtomicBool>) -> (u64, Vec<String>) {
    let (mut count, mut failed) = (0u64, Vec::new());
    let started = Instant::now();
    let queries = ["document", "version 1", "odd", ""];
    while !stop.load(Ordering::Relaxed) {
        let gateway = &gateways[(count % 2) as usize];
        let q = queries[(count % queries.len() as u64) as usize];
        let answer = gateway.json("POST", &format!("/indexes/{INDEX}/search"), &json!({"q": q, "limit": 10}));
        if answer.status != 200 || answer.header(wire::DEGRADED_HEADER).is_some() {
            failed.push(format!("{:.1} s: {:?}", started.elapsed().as_secs_f64(), answer.header(wire::DEGRADED_HEADER)));
            failed.push(format!("{:?}: {} {}", Instant::now(), answer.status, answer.body.to_string().chars().take(200).collect::<String>()));
        }
        count += 1;
        thread::sleep(Duration::from_millis(5));
    }
    (count, failed)
}

/// Every document a node holds in the index, by id, as stored (bookkeeping included).
fn stored(node: &Client) -> BTreeMap<u64, Map<String, Value>> {
    let answer = node.json("POST", &format!("/indexes/{INDEX}/documents/fetch"), &json!({"limit": 1_000_000}));
    assert_eq!(answer.status, 200, "{} {answer:?}", node.base);
    answer.body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some((d["id"].as_u64()?, d.as_object()?.clone())))
        .collect()
}

fn wait_queues_empty(nodes: &[&Client]) {
    let deadline = Instant::now() + step_timeout();
    for node in nodes {
        loop {
            let answer = node.get("/tasks?statuses=enqueued,processing&limit=1");
            if answer.status == 200 && answer.body["total"] == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{}: tasks still queued: {answer:?}", node.base);
            thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Asks for a full repair and waits until it is done; returns its progress.
fn repair(mesh: &Mesh) -> Value {
    let admin = mesh.admin();
    let answer = admin.json("POST", "/_miroir/admin/rebalance", &json!({"repair": true}));
    assert_eq!(answer.status, 200, "{answer:?}");
    let status = mesh.wait_status("a full repair", step_timeout(), |s| s["rebalance"]["settled"] == true);
    status["rebalance"].clone()
}

#[test]
fn replicas_converge_to_the_last_acknowledged_write_through_join_drain_and_kill() {
    let args = ["--repair-settle-ms", "1500", "--retire-grace-ms", "1000", "--reassign-after", "3600"];
    let mesh = Mesh::start_with(MeshSpec { nodes: 3, rf: 2, shards: 8, groups: 1 }, &args);
    let gw2 = mesh.start_gateway("gw2");
    let gateways = [mesh.client.clone(), gw2.client.clone()];

    let answer = mesh.client.json("POST", "/indexes", &json!({"uid": INDEX, "primaryKey": "id"}));
    assert_eq!(mesh.client.wait_task(answer.body["taskUid"].as_u64().expect("a task"))["status"], "succeeded");
    let seed: Vec<Value> = (0..WORKERS * IDS_PER_WORKER).map(|id| Value::Object(doc(id, 0))).collect();
    let task = mesh.client.write_and_wait("POST", &format!("/indexes/{INDEX}/documents"), "application/json", Value::Array(seed).to_string().as_bytes());
    assert_eq!(task["status"], "succeeded", "{task}");

    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let model = (w * IDS_PER_WORKER..(w + 1) * IDS_PER_WORKER).map(|id| (id, Expect::Present(doc(id, 0)))).collect();
            let (gateways, stop) = (gateways.clone(), stop.clone());
            thread::spawn(move || work(w, gateways, stop, model))
        })
        .collect();
    let searcher = {
        let (gateways, stop) = (gateways.clone(), stop.clone());
        thread::spawn(move || search(gateways, stop))
    };
    let started = Instant::now();
    thread::sleep(Duration::from_secs(2));

    // 1. A 4th node joins; the rebalancer fills it, then it serves.
    let step = |what: &str| println!("{:>6.1} s  {what}", started.elapsed().as_secs_f64());
    step("adding node3");
    let node3 = mesh.add_node(3);
    mesh.wait_status("node3 becomes active", step_timeout(), |s| {
        Mesh::node_status(s, "node3").is_some_and(|n| n["role"] == "active" && n["state"] == "up")
    });
    step("node3 active; draining node1");
    // 2. node1 is drained: its shards move to the others, then it leaves the map.
    let answer = mesh.admin().send("POST", "/_miroir/admin/nodes/node1/drain", None, None);
    assert_eq!(answer.status, 200, "{answer:?}");
    mesh.wait_status("node1 leaves", step_timeout(), |s| Mesh::node_status(s, "node1").is_none());
    step("node1 gone; killing node2");
    // 3. node2 is killed, writes go on without it, then it comes back and is repaired.
    mesh.kill_node(2);
    thread::sleep(Duration::from_secs(2));
    step("restarting node2");
    let node2 = mesh.start_node(2);
    mesh.wait_status("node2 is repaired", step_timeout(), |s| Mesh::node_status(s, "node2").is_some_and(|n| n["state"] == "up"));
    step("node2 up");
    thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let chaos_secs = started.elapsed().as_secs_f64();

    let mut model = BTreeMap::new();
    let mut log = BTreeMap::new();
    let (mut acked, mut refused) = (0, Vec::new());
    for w in workers {
        let tally = w.join().expect("a worker panicked");
        model.extend(tally.model);
        log.extend(tally.log);
        acked += tally.acked;
        refused.extend(tally.refused);
    }
    let (searches, failed_searches) = searcher.join().expect("the searcher panicked");
    println!("chaos: {chaos_secs:.1} s, {acked} writes acknowledged, {} refused, {searches} searches", refused.len());
    assert!(acked > 200, "the workers kept writing through the chaos: {acked}");
    assert!(
        failed_searches.is_empty(),
        "{} of {searches} searches failed while every shard had a live replica; first: {:#?}",
        failed_searches.len(),
        &failed_searches[..failed_searches.len().min(3)]
    );

    // Final map: node0, node2, node3. Let every node finish its queue, then repair twice:
    // the second pass must find nothing to do.
    let final_nodes: Vec<(&str, &Client)> = vec![("node0", &mesh.nodes[0]), ("node2", &node2), ("node3", &node3)];
    wait_queues_empty(&final_nodes.iter().map(|(_, c)| *c).collect::<Vec<_>>());
    thread::sleep(Duration::from_millis(1600)); // past --repair-settle-ms: every write is settled
    let first = repair(&mesh);
    let last = repair(&mesh);
    println!("first repair: {first}");
    assert_eq!(
        (last["documentsCopied"].as_u64(), last["documentsDeleted"].as_u64(), last["documentsUnsettled"].as_u64()),
        (Some(0), Some(0), Some(0)),
        "the final repair pass changed nothing: {last:#}"
    );

    let events: Vec<String> = mesh
        .logs()
        .lines()
        .filter(|l| ["missed a write", "node health changed", "flipping", "reassign", "rebalance:"].iter().any(|k| l.contains(k)))
        .map(|l| l.chars().take(300).collect())
        .collect();
    println!("control plane events:\n{}", events.join("\n"));
    let _ = std::fs::write(std::env::temp_dir().join("miroir-chaos-last.log"), mesh.logs());
    let map = mesh.served_map();
    assert_eq!(map.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["node0", "node2", "node3"]);
    let placement = IndexPlacement::compute(&map, INDEX);
    // Old copies go once every Envoy holds the final map and the grace passed.
    let deadline = Instant::now() + step_timeout();
    let copies = loop {
        let copies: Vec<BTreeMap<u64, Map<String, Value>>> = final_nodes.iter().map(|(_, c)| stored(c)).collect();
        let total: usize = copies.iter().map(BTreeMap::len).sum();
        let ids: BTreeSet<u64> = copies.iter().flat_map(|c| c.keys().copied()).collect();
        if total == ids.len() * 2 || Instant::now() > deadline {
            break copies;
        }
        thread::sleep(Duration::from_millis(200));
    };

    let mut unknown = 0;
    for (id, expect) in &model {
        let canonical = id.to_string();
        let shard = placement.shard_of(&canonical);
        let owners: BTreeSet<&str> = placement.owners_of(shard).iter().map(|i| map.nodes[*i].id.as_str()).collect();
        let holders: BTreeSet<&str> = final_nodes.iter().zip(&copies).filter(|(_, c)| c.contains_key(id)).map(|((n, _), _)| *n).collect();
        let versions: Vec<&Map<String, Value>> = copies.iter().filter_map(|c| c.get(id)).collect();
        assert!(versions.windows(2).all(|w| w[0] == w[1]), "id {id}: replicas differ: {versions:#?}");
        for copy in &versions {
            assert_eq!(wire::decode_shard(&copy[wire::SHARD_FIELD]), Some(shard), "id {id} tagged with its shard");
        }
        match expect {
            Expect::Present(expected) => {
                assert_eq!(holders, owners, "id {id}: held by exactly its owners (RF 2)");
                let mut got = versions[0].clone();
                wire::strip_bookkeeping(&mut got);
                assert_eq!(&got, expected, "id {id}: the last acknowledged write; stored: {versions:?}; operations: {:?}", log.get(id));
            }
            Expect::Absent => assert!(holders.is_empty(), "id {id} was deleted (acknowledged) but is back on {holders:?}"),
            Expect::Unknown => {
                unknown += 1;
                assert!(holders.is_empty() || holders == owners, "id {id}: on {holders:?}, owners {owners:?}");
            }
        }
    }
    println!("checked {} ids ({unknown} with an unacknowledged last write: {refused:?})", model.len());
}

/// A node away past `--reassign-after` is replaced: its shards are filled on the others from
/// the surviving replicas, it leaves the map, and every document is on RF nodes again.
#[test]
fn a_node_down_past_reassign_after_has_its_shards_re_replicated() {
    let args = ["--repair-settle-ms", "500", "--retire-grace-ms", "500", "--reassign-after", "2"];
    let mesh = Mesh::start_with(MeshSpec { nodes: 3, rf: 2, shards: 8, groups: 1 }, &args);
    let answer = mesh.client.json("POST", "/indexes", &json!({"uid": INDEX, "primaryKey": "id"}));
    assert_eq!(mesh.client.wait_task(answer.body["taskUid"].as_u64().expect("a task"))["status"], "succeeded");
    let docs: Vec<Value> = (0..300).map(|id| Value::Object(doc(id, 0))).collect();
    let task = mesh.client.write_and_wait("POST", &format!("/indexes/{INDEX}/documents"), "application/json", Value::Array(docs).to_string().as_bytes());
    assert_eq!(task["status"], "succeeded", "{task}");

    mesh.kill_node(2);
    // Writes while it is away: they must end up on the new owners too.
    let more: Vec<Value> = (300..400).map(|id| Value::Object(doc(id, 1))).collect();
    let answer = mesh.client.json("POST", &format!("/indexes/{INDEX}/documents"), &Value::Array(more));
    assert_eq!(answer.status, 202, "RF 2 with one node away still takes writes: {answer:?}");
    mesh.wait_status("node2 is reassigned and leaves", step_timeout(), |s| Mesh::node_status(s, "node2").is_none());

    let map = mesh.served_map();
    let placement = IndexPlacement::compute(&map, INDEX);
    let deadline = Instant::now() + step_timeout();
    let copies = loop {
        let copies = [stored(&mesh.nodes[0]), stored(&mesh.nodes[1])];
        if copies.iter().all(|c| c.len() == 400) || Instant::now() > deadline {
            break copies;
        }
        thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(placement.owners_of(0).len(), 2);
    for id in 0..400u64 {
        for (n, held) in copies.iter().enumerate() {
            let mut got = held.get(&id).cloned().unwrap_or_else(|| panic!("id {id} missing on node{n}"));
            wire::strip_bookkeeping(&mut got);
            assert_eq!(got, doc(id, u64::from(id >= 300)), "id {id} on node{n}");
        }
    }
}
