//! Varied search queries drawn from a corpus: single and multiple words, prefixes,
//! typos, filters, facets, every kind of sort, deep offsets and page mode.

use serde_json::{json, Value};

/// A small deterministic generator (SplitMix64): the same seed, the same queries.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Words of at least 4 letters from the documents' `summary` fields.
pub fn vocabulary(docs: &[Value]) -> Vec<String> {
    let mut words: Vec<String> = docs
        .iter()
        .filter_map(|d| d["summary"].as_str())
        .flat_map(|s| s.split(|c: char| !c.is_ascii_alphabetic()).map(str::to_lowercase).collect::<Vec<_>>())
        .filter(|w| w.len() >= 4)
        .collect();
    words.sort();
    words.dedup();
    words
}

fn typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() >= 5 {
        let i = 1 + rng.below(chars.len() - 2);
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

/// `count` queries for PyPI-shaped documents (`name`, `summary`, `month`, `rank`).
pub fn pypi_queries(docs: &[Value], count: usize, seed: u64) -> Vec<Value> {
    let words = vocabulary(docs);
    let mut rng = Rng::new(seed);
    let months: Vec<String> = docs.iter().filter_map(|d| d["month"].as_str().map(str::to_string)).collect();
    (0..count)
        .map(|i| {
            let mut w = || rng.pick(&words).clone();
            let q = match i % 6 {
                0 => w(),
                1 => format!("{} {}", w(), w()),
                2 => {
                    let word = w();
                    word[..word.len().min(3 + word.len() / 3)].to_string()
                }
                3 => {
                    let word = w();
                    typo(&word, &mut Rng::new(seed ^ i as u64))
                }
                4 => String::new(),
                _ => format!("{} {} {}", w(), w(), w()),
            };
            let mut body = json!({"q": q});
            match i % 5 {
                0 => body["filter"] = json!("rank EXISTS"),
                1 => body["filter"] = json!(format!("month >= \"{}\"", rng.pick(&months))),
                2 => body["filter"] = json!(["rank < 5000", format!("month < \"{}\"", rng.pick(&months))]),
                _ => {}
            }
            match i % 7 {
                0 => body["sort"] = json!(["rank:asc"]),
                1 => body["sort"] = json!(["rank:desc"]),
                2 => body["sort"] = json!(["name:asc"]),
                3 => body["sort"] = json!(["month:desc", "name:asc"]),
                _ => {}
            }
            if i % 3 == 0 {
                body["facets"] = json!(["month", "rank"]);
            }
            match i % 4 {
                0 => {
                    body["page"] = json!(1 + rng.below(6));
                    body["hitsPerPage"] = json!(5 + rng.below(25));
                }
                1 => {
                    body["offset"] = json!(rng.below(800));
                    body["limit"] = json!(5 + rng.below(40));
                }
                _ => body["limit"] = json!(10 + rng.below(30)),
            }
            body
        })
        .collect()
}
