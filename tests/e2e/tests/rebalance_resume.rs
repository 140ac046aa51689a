//! Issue 6: migration is resumable after a control-plane restart (progress persisted).
//!
//! 3 nodes, RF 2, a few thousand real documents; a 4th node joins through the admin API
//! and the rebalancer fills it, throttled (`--rebalance-rate`) so that it is observably
//! mid-way: some shards done, others not (read from the admin status, not from time).
//! Then `miroir serve` is killed with SIGKILL and started again on the same data dir.
//! - while it is down, the gateway keeps serving searches and reads (Envoy keeps its
//!   last config; the data path needs the control plane only to register writes);
//! - the restarted control plane resumes the same plan with the saved progress, and
//!   makes no anti-entropy pass over a shard the saved progress had finished (its
//!   per-shard pass counter, `miroir_repair_shard_passes`, has none for them) while it
//!   passes over every shard that was left;
//! - the counters carry on: no document was copied twice;
//! - the new node ends `active`, and every document sits on exactly its RF owners with
//!   the content it had before the move.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use miroir_core::placement::IndexPlacement;
use miroir_core::wire;
use miroir_e2e::{binaries, corpus, Client, Mesh, MeshSpec};
use serde_json::{json, Map, Value};

const INDEX: &str = "resume";
const DOCS: usize = 2000;

fn step_timeout() -> Duration {
    Duration::from_secs(if binaries::is_real_meilisearch() { 300 } else { 90 })
}

/// Every document a node holds, by id, bookkeeping fields included.
fn stored(node: &Client) -> BTreeMap<String, Map<String, Value>> {
    let answer = node.json("POST", &format!("/indexes/{INDEX}/documents/fetch"), &json!({"limit": 1_000_000}));
    assert_eq!(answer.status, 200, "{} {answer:?}", node.base);
    answer.body["results"].as_array().into_iter().flatten().filter_map(|d| Some((canonical(&d["id"])?, d.as_object()?.clone()))).collect()
}

/// A document id as the placement hashes it (the corpus has integer or string ids).
fn canonical(id: &Value) -> Option<String> {
    id.as_str().map(str::to_owned).or_else(|| id.as_u64().map(|n| n.to_string()))
}

/// The saved progress's finished shards (`index/shard`).
fn done_set(progress: &Value) -> BTreeSet<String> {
    progress["shardsDone"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect()
}

/// `index/shard` → passes, from `miroir_repair_shard_passes` in the metrics text.
fn shard_passes(metrics: &str) -> BTreeMap<String, u64> {
    metrics
        .lines()
        .filter(|l| l.starts_with("miroir_repair_shard_passes_total{"))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once(' ')?;
            let label = |name: &str| labels.split(&format!("{name}=\"")).nth(1)?.split('"').next().map(str::to_owned);
            Some((format!("{}/{}", label("index")?, label("shard")?), value.parse().ok()?))
        })
        .collect()
}

/// A counter without labels from the metrics text.
fn metric(metrics: &str, name: &str) -> u64 {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()).unwrap_or(0)
}

fn searches_and_reads_work(client: &Client, id: &str, what: &str) {
    let search = client.json("POST", &format!("/indexes/{INDEX}/search"), &json!({"q": "python", "limit": 5}));
    assert_eq!(search.status, 200, "{what}: search: {search:?}");
    assert!(search.body["estimatedTotalHits"].as_u64() > Some(0), "{what}: search finds documents: {search:?}");
    let read = client.get(&format!("/indexes/{INDEX}/documents/{id}"));
    assert_eq!(read.status, 200, "{what}: read {id}: {read:?}");
}

#[test]
fn a_rebalance_resumes_after_the_control_plane_is_killed() {
    let rate = if binaries::is_real_meilisearch() { "150" } else { "100" };
    let args = ["--rebalance-rate", rate, "--repair-settle-ms", "300", "--retire-grace-ms", "500"];
    let mut mesh = Mesh::start_serve(MeshSpec { nodes: 3, rf: 2, shards: 16, groups: 1 }, &args);

    let docs = corpus::documents(DOCS);
    let answer = mesh.client.json("POST", "/indexes", &json!({"uid": INDEX, "primaryKey": "id"}));
    assert_eq!(mesh.client.wait_task(answer.body["taskUid"].as_u64().expect("a task"))["status"], "succeeded");
    let task = mesh.client.write_and_wait("POST", &format!("/indexes/{INDEX}/documents"), "application/x-ndjson", &corpus::ndjson(&docs));
    assert_eq!(task["status"], "succeeded", "{task}");
    // What every document is before the move (bookkeeping hidden by the gateway).
    let before: BTreeMap<String, Map<String, Value>> = {
        let answer = mesh.client.json("POST", &format!("/indexes/{INDEX}/documents/fetch"), &json!({"limit": DOCS * 2}));
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.body["results"].as_array().into_iter().flatten().filter_map(|d| Some((canonical(&d["id"])?, d.as_object()?.clone()))).collect()
    };
    assert_eq!(before.len(), docs.len(), "every document reads back through the gateway");
    let probe_id = before.keys().next().cloned().expect("documents");
    std::thread::sleep(Duration::from_millis(400)); // past --repair-settle-ms: every write is settled

    let node3 = mesh.add_node(3);
    let plan_version = mesh.served_map().version;
    let mid = mesh.wait_status("the rebalance is mid-way", step_timeout(), |s| {
        let r = &s["rebalance"];
        let (done, total) = (done_set(r).len(), r["shardsTotal"].as_u64().unwrap_or(0) as usize);
        r["planVersion"].as_u64() == Some(plan_version) && done >= 2 && done + 2 <= total
    });
    println!("mid-way: {:#}", mid["rebalance"]);
    assert_ne!(Mesh::node_status(&mid, "node3").map(|n| n["role"].clone()), Some(json!("active")), "node3 still joins");

    mesh.kill_control();
    let saved: Value = serde_json::from_slice(&std::fs::read(mesh.data_dir().join("control/rebalance.json")).expect("the progress file"))
        .expect("the progress file is JSON");
    let saved_done = done_set(&saved);
    let total = saved["shardsTotal"].as_u64().unwrap_or(0) as usize;
    println!("saved at the kill: {} of {total} shards done, {} copied", saved_done.len(), saved["documentsCopied"]);
    assert_eq!(saved["planVersion"].as_u64(), Some(plan_version));
    assert!(saved_done.len() >= 2 && saved_done.len() < total, "the kill fell mid-way: {saved:#}");

    // The control plane is down: the gateway serves on its last config.
    for _ in 0..3 {
        searches_and_reads_work(&mesh.client, &probe_id, "control plane down");
    }

    mesh.restart_control();
    let resumed = mesh.status();
    assert_eq!(resumed["rebalance"]["planVersion"].as_u64(), Some(plan_version), "the same plan: {:#}", resumed["rebalance"]);
    assert!(done_set(&resumed["rebalance"]).is_superset(&saved_done), "the saved shards are still done: {:#}", resumed["rebalance"]);
    searches_and_reads_work(&mesh.client, &probe_id, "after the restart");

    let end = mesh.wait_status("node3 is active and the rebalance settled", step_timeout(), |s| {
        Mesh::node_status(s, "node3").is_some_and(|n| n["role"] == "active" && n["state"] == "up") && s["rebalance"]["settled"] == true
    });
    println!("end: {:#}", end["rebalance"]);

    // The restarted process passed over every shard left, and over none the saved progress had done.
    let metrics = mesh.control_metrics();
    let passes = shard_passes(&metrics);
    println!("passes after the restart: {passes:?}");
    let redone: Vec<&String> = saved_done.iter().filter(|s| passes.contains_key(*s)).collect();
    assert!(redone.is_empty(), "shards done before the kill were passed over again: {redone:?} (passes {passes:?})");
    let map = mesh.served_map();
    assert_eq!(map.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["node0", "node1", "node2", "node3"]);
    let placement = IndexPlacement::compute(&map, INDEX);
    let node3_index = map.nodes.iter().position(|n| n.id == "node3").expect("node3 in the map");
    let moved: BTreeSet<String> =
        (0..placement.shards).filter(|s| placement.owners_of(*s).contains(&node3_index)).map(|s| format!("{INDEX}/{s}")).collect();
    let left: Vec<&String> = moved.iter().filter(|s| !saved_done.contains(*s)).collect();
    assert!(!left.is_empty() && left.iter().all(|s| passes.contains_key(*s)), "every shard left was resumed: left {left:?}, passes {passes:?}");

    // Old copies go once the gateway holds the final map and the grace passed.
    let nodes: Vec<&Client> = mesh.nodes.iter().chain([&node3]).collect();
    let deadline = Instant::now() + step_timeout();
    let copies = loop {
        let copies: Vec<BTreeMap<String, Map<String, Value>>> = nodes.iter().map(|c| stored(c)).collect();
        if copies.iter().map(BTreeMap::len).sum::<usize>() == before.len() * 2 || Instant::now() > deadline {
            break copies;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // The plan's own counters reset at the flip (a new state version); the restarted
    // process's copy counter plus the saved one count every copy of the move.
    let copied_after = metric(&metrics, "miroir_repair_documents_copied_total");
    let copied = saved["documentsCopied"].as_u64().unwrap_or(0) + copied_after;
    println!("copied: {} before the kill, {copied_after} after; node3 holds {}", saved["documentsCopied"], copies[3].len());
    assert!(copied_after > 0, "the restarted control plane copied the rest");
    assert!(copied <= copies[3].len() as u64, "no document was copied twice: {copied} copies, node3 holds {}", copies[3].len());
    for (id, expected) in &before {
        let shard = placement.shard_of(id);
        let owners: BTreeSet<&str> = placement.owners_of(shard).iter().map(|i| map.nodes[*i].id.as_str()).collect();
        let holders: BTreeSet<&str> = map.nodes.iter().zip(&copies).filter(|(_, c)| c.contains_key(id)).map(|(n, _)| n.id.as_str()).collect();
        assert_eq!(holders, owners, "id {id} (shard {shard}) held by exactly its RF owners");
        for copy in copies.iter().filter_map(|c| c.get(id)) {
            let mut got = copy.clone();
            wire::strip_bookkeeping(&mut got);
            assert_eq!(&got, expected, "id {id}: the same content as before the move");
        }
    }
    searches_and_reads_work(&mesh.client, &probe_id, "at the end");
}
