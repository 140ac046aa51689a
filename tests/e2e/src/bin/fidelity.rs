//! Fidelity: the same real corpus in Miroir (3 nodes, RF 2, 16 shards) and in one
//! reference node; hundreds of varied queries; how many answers are identical up to
//! ties with equal totals and facets.
//!
//! `cargo run --release -p miroir-e2e --bin fidelity [-- DOCS QUERIES SEED]`
//! (defaults 20000 240 7). Nodes are real when MIROIR_MEILI_BIN names Meilisearch,
//! else the test double. Build the filter, `miroir` and the double first (tests/run does).

use miroir_e2e::fidelity::judge;
use miroir_e2e::queries::pypi_queries;
use miroir_e2e::{binaries, corpus, Client, Mesh, MeshSpec, SingleNode};
use serde_json::json;

fn load(client: &Client, docs: &[serde_json::Value]) {
    let settings = json!({"filterableAttributes": ["month", "rank"], "sortableAttributes": ["rank", "name", "month"]});
    let answer = client.json("PATCH", "/indexes/pkgs/settings", &settings);
    assert_eq!(client.wait_task(answer.body["taskUid"].as_u64().expect("taskUid"))["status"], "succeeded");
    let task = client.write_and_wait("POST", "/indexes/pkgs/documents?primaryKey=id", "application/x-ndjson", &corpus::ndjson(docs));
    assert_eq!(task["status"], "succeeded", "{task}");
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (doc_count, query_count, seed) = (args.first().copied().unwrap_or(20_000), args.get(1).copied().unwrap_or(240), args.get(2).copied().unwrap_or(7));
    let docs = corpus::pypi(doc_count).expect("pypi.tsv is needed: set MIROIR_PYPI_TSV");
    let mesh = Mesh::start(MeshSpec::default());
    let single = SingleNode::start();
    load(&mesh.client, &docs);
    load(&single.client, &docs);
    let queries = pypi_queries(&docs, query_count, seed as u64);
    let verdicts: Vec<_> = queries.iter().map(|q| judge(&mesh.client, &single.client, "pkgs", q)).collect();
    let identical = verdicts.iter().filter(|v| v.problem.is_none()).count();
    for v in verdicts.iter().filter(|v| v.problem.is_some()) {
        println!("DIFFERS {}: {}", v.query, v.problem.as_deref().unwrap_or(""));
    }
    let kind = if binaries::is_real_meilisearch() { "real Meilisearch" } else { "test double" };
    let estimates = verdicts.iter().filter(|v| v.estimate_differs).count();
    println!("{identical}/{} answers identical up to ties, with equal totalHits, totalPages and facets ({} documents, 3 nodes, RF 2, 16 shards, {kind})", verdicts.len(), docs.len());
    println!("estimatedTotalHits (a per-node estimate, summed) differed on {estimates} queries");
    if identical != verdicts.len() {
        std::process::exit(1);
    }
}
