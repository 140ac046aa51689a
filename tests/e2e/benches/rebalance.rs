//! Issue 6's figures: when a 4th node joins a 3-node RF 2 cluster, the fraction of the
//! document copies that move (ideal 1/4: the new node ends up with a quarter of them)
//! and the migration rate (copies written per second while it is filled).
//!
//! cargo bench -p miroir-e2e --bench rebalance            (test-double nodes)
//! MIROIR_MEILI_BIN=/opt/meili/target/release/meilisearch cargo bench -p miroir-e2e --bench rebalance
//! MIROIR_BENCH_DOCS=20000 sets the corpus size (default 20000; 5000 on real nodes).

use std::time::{Duration, Instant};

use miroir_e2e::{binaries, Client, Mesh, MeshSpec};
use serde_json::{json, Value};

const INDEX: &str = "bench";

fn metric(mesh: &Mesh, name: &str) -> f64 {
    let text = ureq::get(&format!("{}/metrics", mesh.control)).call().ok().and_then(|r| r.into_string().ok()).unwrap_or_default();
    text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0.0)
}

fn count(node: &Client) -> u64 {
    node.get(&format!("/indexes/{INDEX}/stats")).body["numberOfDocuments"].as_u64().unwrap_or(0)
}

/// The share of shard copies a 4th node takes from 3 at RF 2, by placement alone: what
/// the measured fraction should equal, and how it nears 1/4 as shards get more numerous.
fn placement_fraction(shards: u32) -> f64 {
    use miroir_core::placement::IndexPlacement;
    use miroir_core::shard_map::{Node, NodeRole, NodeState, ShardMap};
    let map = ShardMap {
        version: 1,
        replication_factor: 2,
        default_shards: shards,
        nodes: (0..4)
            .map(|i| Node { id: format!("node{i}"), cluster: format!("meili_node{i}"), group: 0, state: NodeState::Up, role: NodeRole::Active })
            .collect(),
        indexes: Default::default(),
        control_cluster: "miroir_control".into(),
        timeout_ms: 30_000,
        payload_limit_bytes: miroir_core::wire::DEFAULT_PAYLOAD_LIMIT_BYTES,
        node_key: None,
        write_quorum: 1,
    };
    let placement = IndexPlacement::compute(&map, INDEX);
    placement.shards_on(3).len() as f64 / f64::from(shards * 2)
}

fn main() {
    let real = binaries::is_real_meilisearch();
    let docs: u64 = std::env::var("MIROIR_BENCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(if real { 5000 } else { 20000 });
    let mesh = Mesh::start_with(MeshSpec { nodes: 3, rf: 2, shards: 16, groups: 1 }, &["--retire-grace-ms", "1000"]);
    let answer = mesh.client.json("POST", "/indexes", &json!({"uid": INDEX, "primaryKey": "id"}));
    mesh.client.wait_task(answer.body["taskUid"].as_u64().expect("a task"));
    for start in (0..docs).step_by(5000) {
        let batch: Vec<Value> = (start..(start + 5000).min(docs))
            .map(|id| json!({"id": id, "title": format!("document {id}"), "body": "lorem ipsum dolor sit amet ".repeat(4)}))
            .collect();
        let task = mesh.client.write_and_wait("POST", &format!("/indexes/{INDEX}/documents"), "application/json", Value::Array(batch).to_string().as_bytes());
        assert_eq!(task["status"], "succeeded", "{task}");
    }
    let copies_before: u64 = mesh.nodes.iter().map(count).sum();
    assert_eq!(copies_before, docs * 2, "RF 2: every document on two nodes");

    let copied_before = metric(&mesh, "miroir_repair_documents_copied_total");
    let started = Instant::now();
    let node3 = mesh.add_node(3);
    mesh.wait_status("node3 becomes active", Duration::from_secs(600), |s| {
        Mesh::node_status(s, "node3").is_some_and(|n| n["role"] == "active")
    });
    let fill = started.elapsed().as_secs_f64();
    let copied = metric(&mesh, "miroir_repair_documents_copied_total") - copied_before;
    // Old copies go once both gateways... here the one Envoy holds the map, plus the grace.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut all: Vec<Client> = mesh.nodes.clone();
    all.push(node3.clone());
    while all.iter().map(count).sum::<u64>() != docs * 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let on_new = count(&node3);
    let per_node: Vec<u64> = all.iter().map(count).collect();
    println!(
        "{}",
        json!({
            "nodes": if real { "meilisearch 1.50" } else { "test double" },
            "documents": docs,
            "copies": docs * 2,
            "copiedToNewNode": copied,
            "fractionMoved": copied / (docs * 2) as f64,
            "newNodeHolds": on_new,
            "copiesPerNodeAfter": per_node,
            "fillSeconds": fill,
            "migrationDocsPerSecond": copied / fill,
            "placementFraction": {"16": placement_fraction(16), "64": placement_fraction(64), "256": placement_fraction(256), "1024": placement_fraction(1024)},
        })
    );
}
