//! Compares the double's federated multi-search with a real Meilisearch on
//! random indexes: the same merged hits in the same order (with their
//! `_federation` and scores), the same totals and facets, or the same error.
//! Ignored by default; run with:
//!
//! ```sh
//! MEILI_BIN=/path/to/meilisearch cargo test -p meili-double --test differential_federated -- --ignored --nocapture
//! ```
//!
//! `SEEDS=a..b` picks the random sets of three indexes (default `1..15`;
//! 30 federated searches each).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::random::{call, index, query, Rng};
use support::Server;

/// A random federated search over `uids`.
fn federated(rng: &mut Rng, uids: &[String]) -> Value {
    let queries: Vec<Value> = (0..1 + rng.below(3))
        .map(|_| {
            let mut q = query(rng);
            let obj = q.as_object_mut().expect("a query is an object");
            obj.remove("limit");
            obj.remove("showRankingScoreDetails");
            obj.insert("indexUid".into(), json!(rng.pick(uids)));
            if rng.chance(40) {
                let weight = *rng.pick(&[0.5, 1.5, 2.0, 0.9]);
                obj.insert("federationOptions".into(), json!({ "weight": weight }));
            }
            q
        })
        .collect();
    let mut federation = json!({});
    match rng.below(4) {
        0 => federation = json!({"offset": rng.below(5), "limit": 1 + rng.below(10)}),
        1 => federation = json!({"page": 1 + rng.below(3), "hitsPerPage": 1 + rng.below(6)}),
        _ => {}
    }
    if rng.chance(30) {
        let by_index: serde_json::Map<String, Value> =
            uids.iter().map(|u| (u.clone(), json!(["s"]))).collect();
        federation["facetsByIndex"] = Value::Object(by_index);
        if rng.chance(50) {
            federation["mergeFacets"] = json!({});
        }
    }
    json!({"federation": federation, "queries": queries})
}

/// The parts compared: everything but timings and request ids.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("processingTimeMs");
        o.remove("requestUid");
    }
    v
}

#[test]
#[ignore = "needs a real Meilisearch binary in MEILI_BIN"]
fn double_federates_like_meilisearch() {
    let real_bin = PathBuf::from(std::env::var("MEILI_BIN").expect("set MEILI_BIN"));
    let seeds = std::env::var("SEEDS").unwrap_or_else(|_| "1..15".into());
    let (from, to) = seeds.split_once("..").expect("SEEDS=a..b");
    let (from, to): (u64, u64) = (from.parse().unwrap(), to.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("meili-federated-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let real = Server::start(&real_bin, &dir.join("real"), &[]);
    let double = Server::start(
        Path::new(env!("CARGO_BIN_EXE_meili-double")),
        &dir.join("double"),
        &[],
    );
    let (mut failures, mut searches, mut errors) = (Vec::new(), 0, 0);
    for seed in from..to {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let uids: Vec<String> = (0..3).map(|i| format!("s{seed}x{i}")).collect();
        for uid in &uids {
            let (docs, settings) = index(&mut rng);
            for server in [&real, &double] {
                call(
                    server,
                    "POST",
                    &format!("/indexes/{uid}/documents"),
                    Some(&docs),
                );
                call(
                    server,
                    "PATCH",
                    &format!("/indexes/{uid}/settings"),
                    Some(&settings),
                );
            }
        }
        real.wait_for_tasks();
        double.wait_for_tasks();
        for _ in 0..30 {
            let body = federated(&mut rng, &uids);
            let (want, got) = (
                comparable(&call(&real, "POST", "/multi-search", Some(&body))),
                comparable(&call(&double, "POST", "/multi-search", Some(&body))),
            );
            searches += 1;
            errors += usize::from(want.get("code").is_some());
            if want == got {
                continue;
            }
            failures.push(format!(
                "seed {seed} search {body}:\n  real   {want}\n  double {got}"
            ));
        }
    }
    drop((real, double));
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{searches} federated searches ({errors} refused by Meilisearch), {} differences",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
