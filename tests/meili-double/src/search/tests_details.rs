//! Unit tests of `_rankingScoreDetails` and of the order they imply.

use super::matching::{fields_of, positioned_words};
use super::tests::{ids, index, movies, search};
use super::*;
use crate::store::Index;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

fn details(hit: &Value) -> Vec<(String, Value)> {
    hit["_rankingScoreDetails"]
        .as_object()
        .expect("details")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn keys(map: &Value) -> Vec<String> {
    map.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn keyword_query_details_have_meilisearch_shape() {
    let idx = index(
        json!([
            {"id": 1, "title": "The Hobbit", "genre": "fantasy"},
            {"id": 2, "title": "The Lord of the Rings", "genre": "fantasy"},
            {"id": 3, "title": "Hobbits and rings", "genre": "essay"}
        ]),
        json!({"searchableAttributes": ["title", "genre"]}),
    );
    let res = search(
        &idx,
        json!({"q": "the hobit", "showRankingScoreDetails": true, "showRankingScore": true}),
    );
    // "Hobbits and rings" lacks "the", the first query word
    assert_eq!(ids(&res), vec![1, 2]);
    let first = &res["hits"][0];
    // `_rankingScore` comes before `_rankingScoreDetails`, both after the document
    assert_eq!(
        keys(first),
        vec![
            "id",
            "title",
            "genre",
            "_rankingScore",
            "_rankingScoreDetails"
        ]
    );
    let d = &first["_rankingScoreDetails"];
    // the default rules name attributeRank and wordPosition apart
    assert_eq!(
        keys(d),
        vec![
            "words",
            "typo",
            "proximity",
            "attributeRank",
            "wordPosition",
            "exactness"
        ]
    );
    assert_eq!(
        d["words"],
        json!({"order": 0, "matchingWords": 2, "maxMatchingWords": 2, "score": 1.0})
    );
    // "the" (3 letters) may still be split, so it counts 1 typo in the maximum
    assert_eq!(
        d["typo"],
        json!({"order": 1, "typoCount": 1, "maxTypoCount": 2, "score": 2.0 / 3.0})
    );
    assert_eq!(keys(&d["proximity"]), vec!["order", "score"]);
    assert_eq!(d["attributeRank"], json!({"order": 3, "score": 1.0}));
    assert_eq!(d["exactness"]["order"], 5);
    // no document holds "hobit" as typed, so only "the" has an exact form
    // (as in milli), and "The Hobbit" starts with it
    assert_eq!(
        d["exactness"],
        json!({"order": 5, "matchType": "matchesStart", "score": 2.0 / 3.0})
    );
    // "The Lord of the Rings" matches "the" only
    let second = &res["hits"][1]["_rankingScoreDetails"];
    assert_eq!(
        second["words"],
        json!({"order": 0, "matchingWords": 1, "maxMatchingWords": 2, "score": 0.5})
    );
    assert_eq!(second["typo"]["maxTypoCount"], 1);
    assert_eq!(second["exactness"]["matchType"], "matchesStart");
}

#[test]
fn placeholder_details_list_only_sort_rules() {
    let res = search(
        &movies(),
        json!({"showRankingScoreDetails": true, "showRankingScore": true}),
    );
    for hit in res["hits"].as_array().unwrap() {
        assert_eq!(hit["_rankingScoreDetails"], json!({}));
        assert_eq!(hit["_rankingScore"], 1.0);
    }
    let res = search(
        &movies(),
        json!({"sort": ["year:asc"], "showRankingScoreDetails": true, "limit": 2}),
    );
    assert_eq!(ids(&res), vec![1, 5]);
    assert_eq!(
        res["hits"][0]["_rankingScoreDetails"],
        json!({"year:asc": {"order": 0, "value": 1937.0}})
    );
    // no details unless asked
    let res = search(&movies(), json!({"q": "dune"}));
    assert!(res["hits"][0].get("_rankingScoreDetails").is_none());
}

#[test]
fn sorted_query_details_carry_the_sort_values() {
    let idx = index(
        json!([
            {"id": 1, "title": "ring one", "year": 1990},
            {"id": 2, "title": "ring two"},
            {"id": 3, "title": "ring three", "year": "MCMXC"},
            {"id": 4, "title": "ring four", "year": [1980, 2001]}
        ]),
        json!({"sortableAttributes": ["year"]}),
    );
    let res = search(
        &idx,
        json!({"q": "ring", "sort": ["year:desc"], "showRankingScoreDetails": true}),
    );
    // numbers (largest first), then strings, then documents without a value
    assert_eq!(ids(&res), vec![4, 1, 3, 2]);
    let values: Vec<Value> = res["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_rankingScoreDetails"]["year:desc"].clone())
        .collect();
    assert_eq!(
        values,
        vec![
            json!({"order": 4, "value": 2001.0}),
            json!({"order": 4, "value": 1990.0}),
            json!({"order": 4, "value": "mcmxc"}),
            json!({"order": 4, "value": null}),
        ]
    );
    // the sort rule sits where `sort` is in the ranking rules
    assert_eq!(
        keys(&res["hits"][0]["_rankingScoreDetails"]),
        vec![
            "words",
            "typo",
            "proximity",
            "attributeRank",
            "year:desc",
            "wordPosition",
            "exactness"
        ]
    );
    // a sorted field missing from displayedAttributes is redacted
    let mut hidden = idx;
    hidden.settings.apply(
        json!({"displayedAttributes": ["id", "title"]})
            .as_object()
            .unwrap(),
    );
    let res = search(
        &hidden,
        json!({"sort": ["year:asc"], "showRankingScoreDetails": true}),
    );
    assert_eq!(ids(&res), vec![4, 1, 3, 2]);
    assert_eq!(
        res["hits"][0]["_rankingScoreDetails"],
        json!({"<hidden-rule-0>": {"order": 0, "value": "<hidden>"}})
    );
}

#[test]
fn custom_rule_index_details_follow_the_rules_order() {
    let mut idx = movies();
    idx.settings.apply(
        json!({"rankingRules": ["year:desc", "typo", "words", "sort", "attribute", "exactness", "title:asc"]})
            .as_object()
            .unwrap(),
    );
    let res = search(
        &idx,
        json!({"q": "the", "sort": ["year:asc"], "showRankingScoreDetails": true, "showRankingScore": true}),
    );
    // year:desc decides first; the `sort` parameter names year again and is skipped
    assert_eq!(ids(&res), vec![2, 4, 1]);
    let d = &res["hits"][1]["_rankingScoreDetails"];
    assert_eq!(
        keys(d),
        vec![
            "year:desc",
            "words",
            "typo",
            "attribute",
            "exactness",
            "title:asc"
        ]
    );
    assert_eq!(d["year:desc"], json!({"order": 0, "value": 1954.0}));
    // `attribute` is one object: attribute rank, then word position
    assert_eq!(
        keys(&d["attribute"]),
        vec![
            "order",
            "attributeRankingOrderScore",
            "queryWordDistanceScore",
            "score"
        ]
    );
    assert_eq!(d["attribute"]["order"], 3);
    assert_eq!(d["exactness"]["matchType"], "matchesStart");
    assert_eq!(keys(&d["exactness"]), vec!["order", "matchType", "score"]);
    assert_eq!(
        d["title:asc"],
        json!({"order": 5, "value": "the lord of the rings"})
    );
    // `all`: no words rule
    let res = search(
        &idx,
        json!({"q": "the", "matchingStrategy": "all", "showRankingScoreDetails": true}),
    );
    assert!(res["hits"][0]["_rankingScoreDetails"]
        .get("words")
        .is_none());
}

/// A deterministic xorshift generator, so the property test needs no crate.
struct Gen(u64);

impl Gen {
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

const VOCAB: [&str; 12] = [
    "ring", "rings", "lord", "the", "hobbit", "dark", "dragon", "tolkien", "world", "road",
    "roads", "king",
];

fn random_text(g: &mut Gen, max_words: usize) -> String {
    let n = 1 + g.below(max_words);
    (0..n)
        .map(|_| *g.pick(&VOCAB))
        .collect::<Vec<_>>()
        .join(if g.chance(20) { ", " } else { " " })
}

fn random_sort_value(g: &mut Gen) -> Option<Value> {
    match g.below(6) {
        0 => None,
        1 => Some(json!(g.below(5))),
        2 => Some(json!(g.below(5) as f64 + 0.5)),
        3 => Some(json!(*g.pick(&["Alpha", "beta", "Gamma", " delta ", "10"]))),
        4 => Some(json!([g.below(9), *g.pick(&["x", "B"])])),
        _ => Some(json!(null)),
    }
}

fn random_case(g: &mut Gen) -> (Index, Value) {
    let docs: Vec<Value> = (0..5 + g.below(20))
        .map(|id| {
            let mut doc = Map::new();
            doc.insert("id".into(), json!(id));
            doc.insert("title".into(), json!(random_text(g, 5)));
            if g.chance(70) {
                doc.insert("body".into(), json!(random_text(g, 10)));
            }
            for field in ["n", "s"] {
                if let Some(v) = random_sort_value(g) {
                    doc.insert(field.into(), v);
                }
            }
            Value::Object(doc)
        })
        .collect();
    let mut rules: Vec<&str> = vec!["words", "typo", "proximity", "sort", "exactness"];
    if g.chance(50) {
        rules.push("attribute");
    } else {
        rules.extend(["attributeRank", "wordPosition"]);
    }
    if g.chance(40) {
        rules.push(*g.pick(&["n:desc", "n:asc", "s:asc", "s:desc"]));
    }
    // shuffle, then sometimes drop some rules
    for i in (1..rules.len()).rev() {
        let j = g.below(i + 1);
        rules.swap(i, j);
    }
    let keep = 1 + g.below(rules.len());
    rules.truncate(keep.max(rules.len() / 2));
    if !rules.contains(&"sort") {
        rules.push("sort");
    }
    let searchable = g
        .pick(&[
            json!(["*"]),
            json!(["title", "body"]),
            json!(["body", "title"]),
        ])
        .clone();
    let idx = index(
        Value::Array(docs),
        json!({"rankingRules": rules, "sortableAttributes": ["n", "s"], "searchableAttributes": searchable}),
    );
    let mut body = Map::new();
    if g.chance(85) {
        let words: Vec<String> = (0..1 + g.below(3))
            .map(|_| {
                let w = *g.pick(&VOCAB);
                match g.below(4) {
                    // a typo, a prefix, or the word itself
                    0 if w.len() > 4 => format!("{}{}", &w[..1], &w[2..]),
                    1 => w[..w.len().min(3)].to_string(),
                    _ => w.to_string(),
                }
            })
            .collect();
        body.insert("q".into(), json!(words.join(" ")));
    }
    body.insert(
        "matchingStrategy".into(),
        json!(*g.pick(&["last", "all", "frequency"])),
    );
    if g.chance(50) {
        let sorts: Vec<&str> = (0..1 + g.below(2))
            .map(|_| *g.pick(&["n:asc", "n:desc", "s:asc", "s:desc"]))
            .collect();
        body.insert("sort".into(), json!(sorts));
    }
    if g.chance(20) {
        body.insert("attributesToSearchOn".into(), json!(["body"]));
    }
    body.insert("limit".into(), json!(1000));
    body.insert("showRankingScore".into(), json!(true));
    body.insert("showRankingScoreDetails".into(), json!(true));
    (idx, Value::Object(body))
}

/// A consumer's reading of `_rankingScoreDetails`, written apart from
/// `ranking.rs`: `Less` when `a` ranks first.
fn compare_by_details(a: &Value, b: &Value) -> Ordering {
    fn in_order(hit: &Value) -> Vec<(String, Value)> {
        let mut rules = details(hit);
        rules.sort_by_key(|(_, v)| v["order"].as_u64().unwrap());
        rules
    }
    fn f(v: &Value, key: &str) -> f64 {
        v[key].as_f64().unwrap()
    }
    fn u(v: &Value, key: &str) -> u64 {
        v[key].as_u64().unwrap()
    }
    // higher first
    fn desc(x: f64, y: f64) -> Ordering {
        y.partial_cmp(&x).unwrap()
    }
    fn sort_class(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            _ => 2,
        }
    }
    let (ra, rb) = (in_order(a), in_order(b));
    assert_eq!(
        ra.len(),
        rb.len(),
        "hits of one search apply the same rules"
    );
    for ((name, x), (other, y)) in ra.iter().zip(&rb) {
        assert_eq!(name, other);
        let o = match name.as_str() {
            "words" => (u(x, "maxMatchingWords") - u(x, "matchingWords"))
                .cmp(&(u(y, "maxMatchingWords") - u(y, "matchingWords"))),
            "typo" => u(x, "typoCount").cmp(&u(y, "typoCount")),
            "proximity" | "attributeRank" | "wordPosition" => desc(f(x, "score"), f(y, "score")),
            "attribute" => desc(
                f(x, "attributeRankingOrderScore"),
                f(y, "attributeRankingOrderScore"),
            )
            .then(desc(
                f(x, "queryWordDistanceScore"),
                f(y, "queryWordDistanceScore"),
            )),
            "exactness" => {
                let t = |v: &Value| match v["matchType"].as_str().unwrap() {
                    "exactMatch" => 0,
                    "matchesStart" => 1,
                    _ => 2,
                };
                t(x).cmp(&t(y)).then_with(|| {
                    match (x.get("matchingWords"), y.get("matchingWords")) {
                        (Some(_), Some(_)) => (u(x, "maxMatchingWords") - u(x, "matchingWords"))
                            .cmp(&(u(y, "maxMatchingWords") - u(y, "matchingWords"))),
                        _ => desc(f(x, "score"), f(y, "score")),
                    }
                })
            }
            sort_rule => {
                let ascending = sort_rule.ends_with(":asc");
                let (vx, vy) = (&x["value"], &y["value"]);
                let o = sort_class(vx).cmp(&sort_class(vy));
                match (vx, vy) {
                    (Value::Number(p), Value::Number(q)) => {
                        let o = p.as_f64().partial_cmp(&q.as_f64()).unwrap();
                        if ascending {
                            o
                        } else {
                            o.reverse()
                        }
                    }
                    (Value::String(p), Value::String(q)) => {
                        let o = p.as_bytes().cmp(q.as_bytes());
                        if ascending {
                            o
                        } else {
                            o.reverse()
                        }
                    }
                    _ => o,
                }
            }
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

#[test]
fn hits_sorted_by_their_details_keep_the_double_order() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for case in 0..400 {
        let (idx, body) = random_case(&mut g);
        let q = SearchQuery::from_body(body.as_object().unwrap()).unwrap();
        let res = execute(&idx, &q, Instant::now()).unwrap();
        let hits = res["hits"].as_array().unwrap().clone();
        // documents are inserted in id order: ties go to the smaller id
        let mut resorted = hits.clone();
        resorted
            .sort_by(|a, b| compare_by_details(a, b).then(a["id"].as_u64().cmp(&b["id"].as_u64())));
        let got: Vec<&Value> = hits.iter().map(|h| &h["id"]).collect();
        let want: Vec<&Value> = resorted.iter().map(|h| &h["id"]).collect();
        assert_eq!(got, want, "case {case}: {body}");
        // equal details, equal score; scores in [0, 1]
        for w in hits.windows(2) {
            let score = |h: &Value| h["_rankingScore"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&score(&w[0])));
            if w[0]["_rankingScoreDetails"] == w[1]["_rankingScoreDetails"] {
                assert_eq!(score(&w[0]), score(&w[1]), "case {case}: {body}");
            }
        }
        // paging and the score threshold work on that order
        let mut paged = body.clone();
        let (offset, limit) = (g.below(5), 1 + g.below(5));
        paged["offset"] = json!(offset);
        paged["limit"] = json!(limit);
        let threshold = g.below(10) as f64 / 10.0;
        paged["rankingScoreThreshold"] = json!(threshold);
        let q = SearchQuery::from_body(paged.as_object().unwrap()).unwrap();
        let window = execute(&idx, &q, Instant::now()).unwrap();
        let want: Vec<Value> = hits
            .iter()
            .filter(|h| h["_rankingScore"].as_f64().unwrap() >= threshold)
            .skip(offset)
            .take(limit)
            .cloned()
            .collect();
        assert_eq!(window["hits"], Value::Array(want), "case {case}: {paged}");
        checked += hits.len();
    }
    assert!(checked > 1000, "the cases found too few hits: {checked}");
}

#[test]
fn words_after_a_hard_separator_are_8_positions_further() {
    let at =
        |text: &str| -> Vec<usize> { positioned_words(text).into_iter().map(|(_, p)| p).collect() };
    // recorded from Meilisearch 1.50's wordPosition scores
    assert_eq!(at("x. y"), vec![0, 8]);
    assert_eq!(at("x.y"), vec![0, 1]);
    assert_eq!(at("x , y; z - w"), vec![0, 8, 16, 17]);
    assert_eq!(at("J. R. R. Tolkien"), vec![0, 8, 16, 24]);
    assert_eq!(at("  ¿que?"), vec![0]);
    assert_eq!(
        positioned_words("Philosopher's Stone")[1],
        ("s".to_string(), 1)
    );
    // array values: 8 after the previous value's last word
    let idx = index(json!([{"id": 1, "t": ["a b", "", "c"]}]), json!({}));
    let fields = fields_of(&idx.docs.values().next().unwrap().doc, &["t".into()]);
    assert_eq!(fields[0].tokens[2], ("c".to_string(), 17));
}

#[test]
fn skipping_a_word_skips_the_later_words_removed_before_it() {
    // apple in 5 documents, berry in 4, cherry in 2: `frequency` removes
    // apple, then berry, and never cherry
    let idx = index(
        json!([
            {"id": 1, "t": "apple berry cherry"},
            {"id": 2, "t": "apple berry"},
            {"id": 3, "t": "apple cherry"},
            {"id": 4, "t": "berry"},
            {"id": 5, "t": "apple"},
            {"id": 6, "t": "apple"},
            {"id": 7, "t": "berry"}
        ]),
        json!({}),
    );
    let res = search(
        &idx,
        json!({"q": "berry apple cherry", "matchingStrategy": "frequency", "showRankingScoreDetails": true}),
    );
    assert_eq!(ids(&res), vec![1, 3]);
    // document 3 lacks berry; skipping it skips apple too, removed before
    // it though later in the query (milli's words graph)
    let words: Vec<&Value> = res["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| &h["_rankingScoreDetails"]["words"])
        .collect();
    assert_eq!(
        words,
        vec![
            &json!({"order": 0, "matchingWords": 3, "maxMatchingWords": 3, "score": 1.0}),
            &json!({"order": 0, "matchingWords": 1, "maxMatchingWords": 3, "score": 1.0 / 3.0}),
        ]
    );
}
