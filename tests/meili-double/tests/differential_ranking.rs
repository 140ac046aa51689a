//! Compares the double's ranking with a real Meilisearch on random indexes
//! and queries: same hits in the same order with the same
//! `_rankingScoreDetails` and `_rankingScore`. Ignored by default; run with:
//!
//! ```sh
//! MEILI_BIN=/path/to/meilisearch cargo test -p meili-double --test differential_ranking -- --ignored --nocapture
//! ```
//!
//! Both servers run on 127.0.0.1 with fresh databases. `SEEDS=a..b` picks the
//! random indexes (default `1..40`; 40 searches each). The texts stick to
//! what the double models (see the README): plain words, soft and hard
//! separators, typos and prefixes in the queries.

mod support;

use std::path::{Path, PathBuf};

use support::random::{call, index, query, Rng};
use support::Server;

#[test]
#[ignore = "needs a real Meilisearch binary in MEILI_BIN"]
fn double_ranks_like_meilisearch() {
    let real_bin = PathBuf::from(std::env::var("MEILI_BIN").expect("set MEILI_BIN"));
    let seeds = std::env::var("SEEDS").unwrap_or_else(|_| "1..40".into());
    let (from, to) = seeds.split_once("..").expect("SEEDS=a..b");
    let (from, to): (u64, u64) = (from.parse().unwrap(), to.parse().unwrap());
    let dir = std::env::temp_dir().join(format!("meili-differential-{}", std::process::id()));
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
        let (docs, settings) = index(&mut rng);
        let uid = format!("i{seed}");
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
        for _ in 0..40 {
            let body = query(&mut rng);
            let path = format!("/indexes/{uid}/search");
            let (want, got) = (
                call(&real, "POST", &path, Some(&body)),
                call(&double, "POST", &path, Some(&body)),
            );
            searches += 1;
            if want["hits"] == got["hits"] && want.get("code") == got.get("code") {
                continue;
            }
            failures.push(format!(
                "index {seed} ({settings}) search {body}:\n  real   {}\n  double {}",
                want["hits"], got["hits"]
            ));
        }
    }
    drop((real, double));
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{searches} searches, {} differences", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
