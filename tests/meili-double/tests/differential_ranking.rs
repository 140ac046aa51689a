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

use serde_json::{json, Value};
use support::{Request, Server};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const VOCAB: [&str; 16] = [
    "ring", "rings", "lord", "the", "hobbit", "dark", "dragon", "tolkien", "world", "road",
    "roads", "king", "queen", "stone", "fire", "water",
];

fn text(rng: &mut Rng, max_words: usize) -> String {
    let mut out = String::new();
    for i in 0..1 + rng.below(max_words) {
        if i > 0 {
            let separator: &&str = rng.pick(&[" ", " ", " ", ", ", ". ", "-"]);
            out.push_str(separator);
        }
        let word: &&str = rng.pick(&VOCAB);
        out.push_str(word);
    }
    out
}

fn call(server: &Server, method: &str, path: &str, body: Option<&Value>) -> Value {
    let answer = server.request(&Request {
        method: method.into(),
        path: path.into(),
        content_type: body.map(|_| "application/json".into()),
        body: body.map(Value::to_string),
        auth: "master".into(),
        wait: false,
        shape_only: false,
    });
    answer.json()
}

/// One random index: documents and settings.
fn index(rng: &mut Rng) -> (Value, Value) {
    let docs: Vec<Value> = (0..30)
        .map(|id| {
            let mut doc = json!({"id": id, "title": text(rng, 4)});
            if rng.chance(70) {
                doc["body"] = json!(text(rng, 12));
            }
            match rng.below(10) {
                0..=4 => doc["n"] = json!(rng.below(5)),
                5 | 6 => doc["n"] = json!(rng.pick(&["a", "B", " c"])),
                _ => {}
            }
            if rng.chance(60) {
                doc["s"] = json!(rng.pick(&["Alpha", "beta", "Gamma", "delta"]));
            }
            doc
        })
        .collect();
    let rules = rng
        .pick(&[
            json!([
                "words",
                "typo",
                "proximity",
                "attributeRank",
                "sort",
                "wordPosition",
                "exactness"
            ]),
            json!([
                "words",
                "typo",
                "proximity",
                "attribute",
                "sort",
                "exactness"
            ]),
            json!([
                "sort",
                "exactness",
                "typo",
                "words",
                "proximity",
                "attribute"
            ]),
            json!([
                "n:desc",
                "words",
                "typo",
                "proximity",
                "attribute",
                "sort",
                "exactness",
                "s:asc"
            ]),
        ])
        .clone();
    let mut settings = json!({
        "rankingRules": rules,
        "sortableAttributes": ["n", "s"],
        "filterableAttributes": ["s"],
        "searchableAttributes": rng.pick(&[json!(["*"]), json!(["title", "body"]), json!(["body", "title"])]).clone(),
    });
    if rng.chance(30) {
        settings["typoTolerance"] = rng
            .pick(&[
                json!({"enabled": false}),
                json!({"minWordSizeForTypos": {"oneTypo": 3, "twoTypos": 5}}),
            ])
            .clone();
    }
    (Value::Array(docs), settings)
}

fn query(rng: &mut Rng) -> Value {
    let mut body = json!({
        "showRankingScoreDetails": true,
        "showRankingScore": true,
        "attributesToRetrieve": ["id"],
        "limit": 50,
        "matchingStrategy": rng.pick(&["last", "last", "all", "frequency"]),
    });
    if rng.chance(90) {
        let words: Vec<String> = (0..1 + rng.below(3))
            .map(|_| {
                let w = *rng.pick(&VOCAB);
                match rng.below(6) {
                    0 if w.len() > 4 => format!("{}{}", &w[..1], &w[2..]),
                    1 => w[..3].to_string(),
                    _ => w.to_string(),
                }
            })
            .collect();
        body["q"] = json!(words.join(" "));
    }
    if rng.chance(20) {
        body["filter"] = json!("s = beta OR s = Gamma");
    }
    if rng.chance(40) {
        let sorts: Vec<&str> = (0..1 + rng.below(2))
            .map(|_| *rng.pick(&["n:asc", "n:desc", "s:asc", "s:desc"]))
            .collect();
        body["sort"] = json!(sorts);
    }
    body
}

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
