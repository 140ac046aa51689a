//! Document browsing latency side by side: the same browse requests through Miroir
//! (3 nodes, RF 2, 16 shards) and directly against one node holding every document,
//! interleaved, in one run. Nodes are real when MIROIR_MEILI_BIN names Meilisearch.
//! Run: `cargo bench -p miroir-e2e --bench browse_latency [-- DOCS ROUNDS]` (defaults
//! 20000 40). Prints Markdown table rows for docs/benchmarks.md.

use std::time::{Duration, Instant};

use miroir_e2e::{binaries, corpus, Client, Mesh, MeshSpec, SingleNode};
use serde_json::{json, Value};

fn load(client: &Client, docs: &[Value]) {
    let settings = json!({"filterableAttributes": ["month", "rank"], "sortableAttributes": ["rank", "name", "month"]});
    let answer = client.json("PATCH", "/indexes/pkgs/settings", &settings);
    client.wait_task(answer.body["taskUid"].as_u64().expect("taskUid"));
    let task = client.write_and_wait("POST", "/indexes/pkgs/documents?primaryKey=id", "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn p50(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (doc_count, rounds) = (args.first().copied().unwrap_or(20_000), args.get(1).copied().unwrap_or(40));
    let docs = corpus::documents(doc_count);
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    load(&mesh.client, &docs);
    load(&single.client, &docs);
    let requests = [
        ("first page, no sort", json!({"limit": 20})),
        ("page at offset 10000, no sort", json!({"offset": 10_000, "limit": 100})),
        ("filtered, no sort", json!({"filter": "month >= \"2020-01\"", "limit": 20})),
        ("sorted, first page", json!({"sort": ["rank:asc"], "limit": 20})),
        ("sorted, filtered, fields", json!({"sort": ["name:desc"], "filter": "rank < 5000", "fields": ["name"], "limit": 20})),
        ("sorted, offset 1000", json!({"sort": ["rank:desc"], "offset": 1000, "limit": 20})),
    ];
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    println!("{} PyPI docs, {kind}, {rounds} requests each after a warm-up", docs.len());
    println!("| request | one node p50 | Miroir p50 | ratio |");
    println!("| --- | --- | --- | --- |");
    for (name, body) in requests {
        let (mut through, mut direct) = (Vec::new(), Vec::new());
        for round in 0..=rounds {
            for (client, times) in [(&mesh.client, &mut through), (&single.client, &mut direct)] {
                let start = Instant::now();
                let answer = client.json("POST", "/indexes/pkgs/documents/fetch", &body);
                let took = start.elapsed();
                assert_eq!(answer.status, 200, "{body}: {answer:?}");
                if round > 0 {
                    times.push(took);
                }
            }
        }
        let (d, t) = (p50(&mut direct), p50(&mut through));
        println!("| {name} | {d:.2} ms | {t:.2} ms | {:.2}× |", t / d);
    }
}
