//! What checking a search's key costs (issue 4): the same searches, interleaved in one
//! run, sent to one node holding every document (with an API key) and through Miroir
//! (3 nodes, RF 2, 16 shards) with the master key (no check), with an API key whose view
//! the filter has cached (no extra round), and with a fresh API key each time (cold:
//! one `GET /keys/{key}` round before the fan-out). Time to the answer.
//! Nodes are real when MIROIR_MEILI_BIN names Meilisearch, else the test double.
//! Run: `cargo bench -p miroir-e2e --bench search_key_check [-- SEARCHES]` (default 200).
//! Prints a Markdown table row for docs/benchmarks.md.

use std::time::{Duration, Instant};

use miroir_e2e::{binaries, corpus, Client, Mesh, MeshSpec, SingleNode};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn load(client: &Client, docs: &[serde_json::Value]) {
    let task = client.write_and_wait("POST", "/indexes/pkgs/documents?primaryKey=id", "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn search_key(client: &Client) -> String {
    let key = client.json("POST", "/keys", &json!({"actions": ["search"], "indexes": ["pkgs"], "expiresAt": null}));
    key.body["key"].as_str().expect("a key").to_string()
}

fn main() {
    let searches = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(200usize);
    let docs = corpus::documents(5_000);
    let single = SingleNode::start();
    load(&single.client, &docs);
    let one_node = Client::new(&single.client.base, &search_key(&single.client));
    let mesh = Mesh::start(MeshSpec::default());
    load(&mesh.client, &docs);
    let cached = Client::new(&mesh.client.base, &search_key(&mesh.client));
    // One key per cold search: its first use on any worker misses the cache.
    let cold: Vec<Client> = (0..=searches).map(|_| Client::new(&mesh.client.base, &search_key(&mesh.client))).collect();
    let words = ["linux", "python", "lib", "data", "tool", "http", "test", "web"];
    let mut times = vec![Vec::new(); 4];
    // Warm-up: every Envoy worker sees the cached key before measuring.
    for _ in 0..20 {
        cached.json("POST", "/indexes/pkgs/search", &json!({"q": "a"}));
    }
    for (i, cold_client) in cold.iter().enumerate() {
        let body = json!({"q": words[i % words.len()], "limit": 20});
        for (series, client) in [&one_node, &mesh.client, &cached, cold_client].into_iter().enumerate() {
            let start = Instant::now();
            let answer = client.json("POST", "/indexes/pkgs/search", &body);
            let took = start.elapsed();
            assert_eq!(answer.status, 200, "{answer:?}");
            if i > 0 {
                times[series].push(took);
            }
        }
    }
    for t in &mut times {
        t.sort();
    }
    let p50 = |s: usize| percentile(&times[s], 0.5);
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    println!("| nodes | searches each | one node (API key) p50 | Miroir master key p50 | Miroir API key cached p50 | Miroir API key cold p50 | cached / one node | cold / one node | cold / cached |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    println!(
        "| 3 × {kind} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}× | {:.2}× | {:.2}× |",
        times[0].len(),
        p50(0),
        p50(1),
        p50(2),
        p50(3),
        p50(2) / p50(0),
        p50(3) / p50(0),
        p50(3) / p50(2)
    );
}
