//! What checking a client's key before a write costs: the same small writes through
//! Miroir (3 nodes, RF 2, 16 shards) with the master key (no lookup) and with an API key
//! (one `GET /keys/{key}` round first), interleaved, in one run; the time to the 202.
//! Nodes are real when MIROIR_MEILI_BIN names Meilisearch, else the test double.
//! Run: `cargo bench -p miroir-e2e --bench key_check [-- WRITES]` (default 300).
//! Prints a Markdown table row for docs/benchmarks.md.

use std::time::{Duration, Instant};

use miroir_e2e::{binaries, Client, Mesh, MeshSpec};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let writes = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(300usize);
    let mesh = Mesh::start(MeshSpec::default());
    let created = mesh.client.json("POST", "/indexes", &json!({"uid": "bench", "primaryKey": "id"}));
    mesh.client.wait_task(created.body["taskUid"].as_u64().expect("taskUid"));
    let key = mesh.client.json("POST", "/keys", &json!({"actions": ["documents.add"], "indexes": ["bench"], "expiresAt": null}));
    let with_key = Client::new(&mesh.client.base, key.body["key"].as_str().expect("a key"));
    let (mut master, mut api_key) = (Vec::new(), Vec::new());
    for i in 0..=writes {
        for (client, times) in [(&mesh.client, &mut master), (&with_key, &mut api_key)] {
            let start = Instant::now();
            let answer = client.json("POST", "/indexes/bench/documents", &json!([{"id": i, "title": "x"}]));
            let took = start.elapsed();
            assert_eq!(answer.status, 202, "{answer:?}");
            if i > 0 {
                times.push(took); // the first write warms the wasm VM
            }
        }
    }
    master.sort();
    api_key.sort();
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    println!("| nodes | writes each | master key p50 / p90 | API key p50 / p90 | p50 ratio |");
    println!(
        "| 3 × {kind} | {} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2}× |",
        master.len(),
        percentile(&master, 0.5),
        percentile(&master, 0.9),
        percentile(&api_key, 0.5),
        percentile(&api_key, 0.9),
        percentile(&api_key, 0.5) / percentile(&master, 0.5)
    );
}
