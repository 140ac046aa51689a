//! Time for a 10 MB NDJSON batch to be accepted (HTTP 202): through Miroir (Envoy + filter)
//! with 3 nodes, RF 2, 16 shards, and with 1 node, RF 1 (the filter's own cost, with the
//! same work on the node side), and directly by one node; interleaved, in one run.
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
    let one = Mesh::start(MeshSpec { nodes: 1, rf: 1, shards: 16, groups: 1 });
    let single = SingleNode::start();
    let (mut three, mut through_one, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // Wait for indexing between runs so background work does not skew any side.
        for (client, times) in [(&mesh.client, &mut three), (&one.client, &mut through_one), (&single.client, &mut direct)] {
            let (t, uid) = accept(client, &body);
            times.push(t);
            client.wait_task(uid);
        }
    }
    let (m3, m1, d) = (median(three), median(through_one), median(direct));
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    println!("| batch | runs | one node directly | Miroir, 1 node RF 1 | ratio | Miroir, 3 nodes RF 2 | ratio |");
    println!(
        "| {:.1} MB NDJSON, {kind} | {runs} | {:.1} ms | {:.1} ms | {:.2}× | {:.1} ms | {:.2}× |",
        body.len() as f64 / 1e6, ms(d), ms(m1), ms(m1) / ms(d), ms(m3), ms(m3) / ms(d)
    );
}
