//! Search latency side by side: the same queries through Miroir (3 nodes, RF 2, 16
//! shards) and directly against one node holding every document, interleaved, in one
//! run. Nodes are real when MIROIR_MEILI_BIN names Meilisearch, else the test double.
//! Run: `cargo bench -p miroir-e2e --bench search_latency [-- DOCS QUERIES ROUNDS]`
//! (defaults 20000 240 3). Prints a Markdown table row for docs/benchmarks.md.
//!
//! Wall times on a shared machine swing with its load, so it also prints the CPU time
//! spent per search by every process serving each side (Envoy, the control plane and
//! the nodes for Miroir; the node for the reference), read from `/proc`: the work a
//! search costs, whatever else runs.

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

/// CPU time (user + system, in clock ticks) of every process descending from this one,
/// split into the reference node's (its scratch directory is named `single`) and the rest.
fn cpu_ticks() -> (u64, u64, std::collections::BTreeMap<String, u64>) {
    let mut parent = std::collections::HashMap::new();
    let mut ticks = std::collections::HashMap::new();
    let mut single = std::collections::HashSet::new();
    let mut names = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // Fields after the command name (which may hold spaces) in parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (Some(ppid), Some(ut), Some(st)) = (f.get(1), f.get(11), f.get(12)) else { continue };
        parent.insert(pid, ppid.parse::<u32>().unwrap_or(0));
        names.insert(pid, stat.split_once('(').and_then(|(_, r)| r.rsplit_once(')')).map_or("?", |(n, _)| n).to_string());
        ticks.insert(pid, ut.parse::<u64>().unwrap_or(0) + st.parse::<u64>().unwrap_or(0));
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("-single-") {
            single.insert(pid);
        }
    }
    let me = std::process::id();
    let descends = |mut pid: u32| {
        while let Some(&p) = parent.get(&pid) {
            if p == me {
                return true;
            }
            if p <= 1 {
                return false;
            }
            pid = p;
        }
        false
    };
    let (mut miroir, mut reference, mut by_name) = (0, 0, std::collections::BTreeMap::new());
    for (&pid, &t) in &ticks {
        if pid != me && descends(pid) {
            if single.contains(&pid) {
                reference += t;
            } else {
                miroir += t;
                *by_name.entry(names.get(&pid).cloned().unwrap_or_default()).or_insert(0) += t;
            }
        }
    }
    (miroir, reference, by_name)
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
    let mut cpu_before = (0, 0, Default::default());
    for round in 0..=rounds {
        if round == 1 {
            cpu_before = cpu_ticks();
        }
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
    let cpu_after = cpu_ticks();
    // Clock ticks are 10 ms on Linux (USER_HZ 100).
    let searches = through.len().max(1) as f64;
    let per_search = |ticks: u64| ticks as f64 * 10.0 / searches;
    let (cpu_miroir, cpu_single) = (per_search(cpu_after.0 - cpu_before.0), per_search(cpu_after.1 - cpu_before.1));
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
    println!(
        "CPU per search: one node {cpu_single:.2} ms, Miroir (Envoy, control plane, nodes) {cpu_miroir:.2} ms, ratio {:.2}×",
        cpu_miroir / cpu_single.max(f64::MIN_POSITIVE)
    );
    let parts: Vec<String> = cpu_after
        .2
        .iter()
        .map(|(name, t)| format!("{name} {:.2} ms", per_search(t - cpu_before.2.get(name).copied().unwrap_or(0))))
        .collect();
    println!("Miroir's CPU per search by process: {}", parts.join(", "));
}
