//! Time for a 10 MB NDJSON batch to be accepted (HTTP 202): through Miroir (Envoy + filter,
//! 3 nodes, RF 2, 16 shards) and directly by one node, alternating, in one run.
//! Nodes are the test double unless MIROIR_MEILI_BIN names a real Meilisearch.
//! Run: `cargo bench -p miroir-e2e --bench batch_through_envoy` (after `tests/run` built
//! the binaries). Prints a Markdown table row for docs/benchmarks.md.

use std::time::{Duration, Instant};

use miroir_e2e::{binaries, corpus, Client, Mesh, MeshSpec, SingleNode};

fn accept(client: &Client, body: &[u8]) -> (Duration, u64) {
    let start = Instant::now();
    let answer = client.send("POST", "/indexes/bench/documents", Some("application/x-ndjson"), Some(body));
    let took = start.elapsed();
    assert_eq!(answer.status, 202, "{answer:?}");
    (took, answer.body["taskUid"].as_u64().expect("taskUid"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("MIROIR_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(9);
    let docs = corpus::documents(200_000);
    let mut body = Vec::new();
    for d in &docs {
        if body.len() >= 10_000_000 {
            break;
        }
        body.extend_from_slice(d.to_string().as_bytes());
        body.push(b'\n');
    }
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    let (mut through, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        // Wait for indexing between runs so background work does not skew either side.
        let (t, uid) = accept(&mesh.client, &body);
        through.push(t);
        mesh.client.wait_task(uid);
        let (t, uid) = accept(&single.client, &body);
        direct.push(t);
        single.client.wait_task(uid);
    }
    let (m, d) = (median(through), median(direct));
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    println!("| {:.1} MB NDJSON, {kind} | {runs} | {:.1} ms | {:.1} ms | {:.2}× |", body.len() as f64 / 1e6, d.as_secs_f64() * 1e3, m.as_secs_f64() * 1e3, m.as_secs_f64() / d.as_secs_f64());
}
