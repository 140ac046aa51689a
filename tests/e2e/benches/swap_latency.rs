//! How long an index swap takes, from the request to its task `succeeded`: one node
//! against Miroir (3 nodes, RF 2, 16 shards, the default `--swap-drain-ms`), two indexes
//! of 2,000 PyPI-like documents each, swapped back and forth, one node's and Miroir's
//! swaps interleaved in one run. Miroir's swap waits for every Envoy's ACK twice, the
//! drain once and every node's swap task. Task status is polled every 50 ms on both.
//! Nodes are real when MIROIR_MEILI_BIN names Meilisearch, else the test double.
//! Run: `cargo bench -p miroir-e2e --bench swap_latency [-- SWAPS]` (default 10).
//! Prints a Markdown table row for docs/benchmarks.md.

use std::time::{Duration, Instant};

use miroir_e2e::{binaries, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn load(client: &Client) {
    for uid in ["east", "west"] {
        let created = client.json("POST", "/indexes", &json!({"uid": uid, "primaryKey": "id"}));
        client.wait_task(created.body["taskUid"].as_u64().expect("taskUid"));
        let docs: Vec<Value> = (0..2_000).map(|i| json!({"id": i, "name": format!("{uid}-package-{i}"), "summary": "a package"})).collect();
        let added = client.json("POST", &format!("/indexes/{uid}/documents"), &Value::Array(docs));
        assert_eq!(client.wait_task(added.body["taskUid"].as_u64().expect("taskUid"))["status"], "succeeded");
    }
}

fn swap(client: &Client) -> Duration {
    let start = Instant::now();
    let answer = client.json("POST", "/swap-indexes", &json!([{"indexes": ["east", "west"]}]));
    assert_eq!(answer.status, 202, "{answer:?}");
    let task = client.wait_task(answer.body["taskUid"].as_u64().expect("taskUid"));
    let took = start.elapsed();
    assert_eq!(task["status"], "succeeded", "{task}");
    took
}

fn main() {
    let swaps = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10usize);
    let single = SingleNode::start();
    let mesh = Mesh::start(MeshSpec::default());
    load(&single.client);
    load(&mesh.client);
    let (mut one, mut miroir) = (Vec::new(), Vec::new());
    for _ in 0..swaps {
        one.push(swap(&single.client));
        miroir.push(swap(&mesh.client));
    }
    one.sort();
    miroir.sort();
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    println!("| nodes | swaps each | one node p50 / max | Miroir p50 / max | p50 ratio |");
    println!(
        "| 3 × {kind} | {} | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {:.1}× |",
        one.len(),
        percentile(&one, 0.5),
        percentile(&one, 1.0),
        percentile(&miroir, 0.5),
        percentile(&miroir, 1.0),
        percentile(&miroir, 0.5) / percentile(&one, 0.5)
    );
}
