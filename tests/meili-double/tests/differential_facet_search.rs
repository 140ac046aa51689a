//! Compares the double's facet search with a real Meilisearch on random
//! indexes: same `facetHits` (values, counts, order) for random facet
//! queries (prefixes, typos), search words, strategies and filters.
//! Ignored by default; run with:
//!
//! ```sh
//! MEILI_BIN=/path/to/meilisearch cargo test -p meili-double --test differential_facet_search -- --ignored --nocapture
//! ```
//!
//! `SEEDS=a..b` picks the random indexes (default `1..20`; 30 facet
//! searches each).

mod support;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use support::random::{call, index, query, Rng};
use support::Server;

fn facet_search(rng: &mut Rng) -> Value {
    let search = query(rng);
    let mut body = json!({"facetName": "s"});
    for key in ["q", "matchingStrategy", "filter"] {
        if let Some(v) = search.get(key) {
            body[key] = v.clone();
        }
    }
    if rng.chance(70) {
        body["facetQuery"] = json!(rng.pick(&[
            "a", "al", "alp", "alpah", "alpja", "bet", "bta", "gam", "gamm", "gmma", "delta",
            "dleta", "x", "", "G"
        ]));
    }
    body
}

#[test]
#[ignore = "needs a real Meilisearch binary in MEILI_BIN"]
fn double_facet_searches_like_meilisearch() {
    let real_bin = PathBuf::from(std::env::var("MEILI_BIN").expect("set MEILI_BIN"));
    let seeds = std::env::var("SEEDS").unwrap_or_else(|_| "1..20".into());
    let (from, to) = seeds.split_once("..").expect("SEEDS=a..b");
    let (from, to): (u64, u64) = (from.parse().unwrap(), to.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("meili-facet-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let real = Server::start(&real_bin, &dir.join("real"), &[]);
    let double = Server::start(
        Path::new(env!("CARGO_BIN_EXE_meili-double")),
        &dir.join("double"),
        &[],
    );
    let (mut failures, mut searches) = (Vec::new(), 0);
    for seed in from..to {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (docs, mut settings) = index(&mut rng);
        if rng.chance(30) {
            settings["faceting"] =
                json!({"sortFacetValuesBy": {"*": "count"}, "maxValuesPerFacet": 3});
        }
        let uid = format!("f{seed}");
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
            server.wait_for_tasks();
        }
        for _ in 0..30 {
            let body = facet_search(&mut rng);
            let path = format!("/indexes/{uid}/facet-search");
            let (want, got) = (
                call(&real, "POST", &path, Some(&body)),
                call(&double, "POST", &path, Some(&body)),
            );
            searches += 1;
            if want["facetHits"] == got["facetHits"] && want.get("code") == got.get("code") {
                continue;
            }
            failures.push(format!(
                "index {seed} ({settings}) facet search {body}:\n  real   {want}\n  double {got}"
            ));
        }
    }
    drop((real, double));
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{searches} facet searches, {} differences", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
