//! Sharded search merge: 8 node answers of 100 hits with facets (a deep page), and of
//! 20 hits (a first page). Hits carry `_rankingScoreDetails` in Meilisearch 1.50's shape
//! for default ranking rules plus `sort: ["year:desc"]`, and `_formatted`.
//! `merge` takes parsed answers; `merge_json` takes the nodes' bodies and fully parses
//! only the hits the client sees, which is what the filter should call.
//! Run: `cargo bench -p miroir-core --bench merge`.
//!
//! Measured 2026-11-22 on the 2-core dev machine under load (load average 5-9, so
//! wall times are inflated), medians: 8x100 with facets: merge 3.8 ms, parse + merge +
//! serialize 12.0 ms, merge_json 5.0 ms; 8x20 with facets: merge 0.67 ms, parse +
//! merge + serialize 2.0 ms, merge_json 1.3 ms.

use criterion::{criterion_group, BatchSize, Criterion};
use serde::de::IgnoredAny;
use miroir_core::search::{merge, merge_json, MergeSettings, SearchQuery};
use serde_json::{json, Map, Value};

const NODES: usize = 8;
const GENRES: [&str; 12] = [
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "War",
];

/// A small deterministic generator, so runs compare.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn details(rng: &mut Lcg, year: u64) -> Value {
    let words = 1 + rng.next(3);
    let typo = rng.next(3);
    let proximity = 1 + rng.next(8);
    let (fid, pos) = (1 + rng.next(3), 1 + rng.next(9));
    json!({
        "words": {"order": 0, "matchingWords": words, "maxMatchingWords": 3, "score": words as f64 / 3.0},
        "typo": {"order": 1, "typoCount": typo, "maxTypoCount": 2, "score": (3 - typo) as f64 / 3.0},
        "proximity": {"order": 2, "score": proximity as f64 / 8.0},
        "attribute": {"order": 3, "attributeRankingOrderScore": fid as f64 / 3.0,
                      "queryWordDistanceScore": pos as f64 / 9.0, "score": ((fid - 1) * 9 + pos) as f64 / 27.0},
        "year:desc": {"order": 4, "value": year as f64},
        "exactness": {"order": 5, "matchType": "noExactMatch", "matchingWords": 1, "maxMatchingWords": 3, "score": 0.16666666666666666}
    })
}

fn hit(rng: &mut Lcg, id: u64, shard: u64) -> Value {
    let year = 1950 + rng.next(75);
    let genres = vec![GENRES[rng.next(12) as usize], GENRES[rng.next(12) as usize]];
    let title = format!("The dark knight returns, part {id}");
    let details = details(rng, year);
    json!({
        "id": id, "title": title, "overview": "A long overview of the film that goes on for a while, as overviews do.",
        "genres": genres, "year": year, "_miroir_shard": shard,
        "_formatted": {"id": id.to_string(), "title": title.replace("dark", "<em>dark</em>"), "genres": genres,
                       "year": year.to_string(), "_miroir_shard": shard.to_string()},
        "_rankingScore": 0.5,
        "_rankingScoreDetails": details
    })
}

/// Sorts one node's hits as the node would (the merge expects sorted lists).
fn node_answer(rng: &mut Lcg, node: usize, hits: usize) -> Value {
    let mut list: Vec<Value> = (0..hits).map(|i| hit(rng, (node * 10_000 + i) as u64, node as u64)).collect();
    let key = |h: &Value| {
        let d = &h["_rankingScoreDetails"];
        (
            d["words"]["matchingWords"].as_u64(),
            std::cmp::Reverse(d["typo"]["typoCount"].as_u64()),
            (d["proximity"]["score"].as_f64().unwrap_or(0.0) * 1e6) as u64,
            (d["attribute"]["score"].as_f64().unwrap_or(0.0) * 1e6) as u64,
            d["year:desc"]["value"].as_f64().map(|v| v as u64),
        )
    };
    list.sort_by_key(|h| std::cmp::Reverse(key(h)));
    let mut genres = Map::new();
    for (i, g) in GENRES.iter().enumerate() {
        genres.insert(g.to_string(), (1 + rng.next(400) + i as u64).into());
    }
    let mut years = Map::new();
    for y in 1950..2025u64 {
        years.insert(y.to_string(), (1 + rng.next(60)).into());
    }
    json!({
        "hits": list, "query": "dark knight", "processingTimeMs": 3 + rng.next(5),
        "limit": hits, "offset": 0, "estimatedTotalHits": 900 + rng.next(100),
        "facetDistribution": {"genres": genres, "year": years},
        "facetStats": {"year": {"min": 1950.0, "max": 2024.0}},
        "requestUid": "0197a2c4-5e4b-7d41-9a10-3c2f1b0e8a11"
    })
}

fn answers(hits: usize) -> Vec<Value> {
    let mut rng = Lcg(42);
    (0..NODES).map(|n| node_answer(&mut rng, n, hits)).collect()
}

/// The benchmark cases: name, query, hits per node.
fn cases() -> Vec<(&'static str, Value, usize)> {
    vec![
        (
            "8x100 hits, offset 80 limit 20, facets",
            json!({"q": "dark knight", "sort": ["year:desc"], "offset": 80, "limit": 20,
            "facets": ["genres", "year"], "attributesToHighlight": ["title"]}),
            100,
        ),
        (
            "8x20 hits, first page, facets",
            json!({"q": "dark knight", "sort": ["year:desc"], "limit": 20,
            "facets": ["genres", "year"], "attributesToHighlight": ["title"]}),
            20,
        ),
        ("8x20 hits, first page, no facets", json!({"q": "dark knight", "sort": ["year:desc"], "limit": 20}), 20),
    ]
}

/// One case's query and node answers (parsed and as bytes).
fn inputs(body: Value, hits: usize) -> (SearchQuery, Vec<Value>, Vec<Vec<u8>>) {
    let query = match SearchQuery::from_value(body) {
        Ok(q) => q,
        Err(e) => panic!("bench query refused: {e}"),
    };
    let mut nodes = answers(hits);
    if hits == 20 && !query.body().contains_key("facets") {
        for n in &mut nodes {
            if let Some(o) = n.as_object_mut() {
                o.shift_remove("facetDistribution");
                o.shift_remove("facetStats");
            }
        }
    }
    let bytes: Vec<Vec<u8>> = nodes.iter().map(|n| n.to_string().into_bytes()).collect();
    (query, nodes, bytes)
}

fn bench(c: &mut Criterion) {
    let settings = MergeSettings { max_values_per_facet: 50, ..MergeSettings::default() };
    for (name, body, hits) in cases() {
        let (query, nodes, bytes) = inputs(body, hits);
        c.bench_function(&format!("merge {name}"), |b| {
            b.iter_batched(|| nodes.clone(), |n| merge(&query, &settings, n), BatchSize::SmallInput)
        });
        c.bench_function(&format!("parse+merge+serialize {name}"), |b| {
            b.iter(|| {
                let parsed: Vec<Value> = bytes.iter().filter_map(|b| serde_json::from_slice(b).ok()).collect();
                merge(&query, &settings, parsed).map(|v| v.to_string().len())
            })
        });
        let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
        c.bench_function(&format!("merge_json (bytes to bytes) {name}"), |b| {
            b.iter(|| merge_json(&query, &settings, &refs).map(|v| v.len()))
        });
        // The floor: reading every byte of the answers once, keeping nothing.
        c.bench_function(&format!("floor: skim the answers {name}"), |b| {
            b.iter(|| bytes.iter().filter(|b| serde_json::from_slice::<IgnoredAny>(b).is_ok()).count())
        });
    }
}

/// `MIROIR_MERGE_ITERS=N`: runs `merge_json` of the 8x20-with-facets case N times and
/// exits, for `perf stat` (CPU time per merge, whatever the machine's load);
/// with `MIROIR_MERGE_SKIM` set, only reads the answers (the floor).
fn fixed_iterations(n: usize) {
    let settings = MergeSettings { max_values_per_facet: 50, ..MergeSettings::default() };
    let Some((_, body, hits)) = cases().into_iter().nth(1) else { return };
    let (query, _, bytes) = inputs(body, hits);
    let refs: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
    let skim = std::env::var("MIROIR_MERGE_SKIM").is_ok();
    let mut total = 0;
    for _ in 0..n {
        total += match skim {
            true => refs.iter().filter(|b| serde_json::from_slice::<IgnoredAny>(b).is_ok()).count(),
            false => merge_json(&query, &settings, &refs).map_or(0, |v| v.len()),
        };
    }
    println!("{n} merges, {total} bytes written");
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("MIROIR_MERGE_ITERS").ok().and_then(|n| n.parse().ok()) {
        return fixed_iterations(n);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
