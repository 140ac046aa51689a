//! Random indexes and searches for the differential tests (the texts stick
//! to what the double models: plain words, soft and hard separators, typos
//! and prefixes in the queries).

use serde_json::{json, Value};

use super::{Request, Server};

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

pub const VOCAB: [&str; 16] = [
    "ring", "rings", "lord", "the", "hobbit", "dark", "dragon", "tolkien", "world", "road",
    "roads", "king", "queen", "stone", "fire", "water",
];

pub fn text(rng: &mut Rng, max_words: usize) -> String {
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

pub fn call(server: &Server, method: &str, path: &str, body: Option<&Value>) -> Value {
    let answer = server.request(&Request {
        method: method.into(),
        path: path.into(),
        content_type: body.map(|_| "application/json".into()),
        body: body.map(Value::to_string),
        auth: "master".into(),
        wait: false,
        shape_only: false,
        headers: Vec::new(),
    });
    answer.json()
}

/// One random index: documents and settings.
pub fn index(rng: &mut Rng) -> (Value, Value) {
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

pub fn query(rng: &mut Rng) -> Value {
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
