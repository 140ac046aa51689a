//! Search latency side by side: the same queries through Miroir (3 nodes, RF 2, 16
//! shards) and directly against one node holding every document, interleaved, in one
//! run. Nodes are real when MIROIR_MEILI_BIN names Meilisearch, else the test double.
//! Run: `cargo bench -p miroir-e2e --bench search_latency [-- DOCS QUERIES ROUNDS]`
//! (defaults 20000 240 3). Prints a Markdown table row for docs/benchmarks.md.

use std::time::{Duration, Instant};

use miroir_e2e::queries::pypi_queries;
use miroir_e2e::{binaries, corpus, Client, Mesh, MeshSpec, SingleNode};
use serde_json::json;

fn load(client: &Client, docs: &[serde_json::Value]) {
    let settings = json!({"filterableAttributes": ["month", "rank"], "sortableAttributes": ["rank", "name", "month"]});
    let answer = client.json("PATCH", "/indexes/pkgs/settings", &settings);
    client.wait_task(answer.body["taskUid"].as_u64().expect("taskUid"));
    let task = client.write_and_wait("POST", "/indexes/pkgs/documents?primaryKey=id", "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (doc_count, query_count, rounds) = (args.first().copied().unwrap_or(20_000), args.get(1).copied().unwrap_or(240), args.get(2).copied().unwrap_or(3));
    let docs = corpus::pypi(doc_count).expect("pypi.tsv is needed: set MIROIR_PYPI_TSV");
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    load(&mesh.client, &docs);
    load(&single.client, &docs);
    let queries = pypi_queries(&docs, query_count, 11);
    let (mut through, mut direct) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        for q in &queries {
            for (client, times) in [(&mesh.client, &mut through), (&single.client, &mut direct)] {
                let start = Instant::now();
                let answer = client.json("POST", "/indexes/pkgs/search", q);
                let took = start.elapsed();
                assert_eq!(answer.status, 200, "{q}: {answer:?}");
                if round > 0 {
                    times.push(took); // round 0 warms caches and the wasm VM
                }
            }
        }
    }
    through.sort();
    direct.sort();
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    println!("| corpus | searches each | one node p50 / p90 / p99 | Miroir p50 / p90 / p99 | p50 ratio |");
    println!(
        "| {} PyPI docs, {kind} | {} | {:.2} / {:.2} / {:.2} ms | {:.2} / {:.2} / {:.2} ms | {:.2}× |",
        docs.len(),
        through.len(),
        percentile(&direct, 0.5), percentile(&direct, 0.9), percentile(&direct, 0.99),
        percentile(&through, 0.5), percentile(&through, 0.9), percentile(&through, 0.99),
        percentile(&through, 0.5) / percentile(&direct, 0.5)
    );
}
