//! Comparing two hits from different nodes as one Meilisearch would have ranked them.
//!
//! A node sorts its hits by bucket sort: ranking rule by rule, each rule splitting the
//! previous rule's bucket by a cost. `_rankingScoreDetails` reports each rule's outcome
//! in `order`, so comparing hits rule by rule, in that order, reproduces one node's
//! order. Per rule, the key is the most faithful one the details carry:
//!
//! - `words`, `typo`, `exactness`: the bucket cost itself (words dropped, typos,
//!   words not matched exactly). It does not depend on the rule's maximum rank, which
//!   a node derives from the documents it holds.
//! - `proximity`, `attribute`, `attributeRank`, `wordPosition`, `vectorSort`: only a
//!   normalized score `rank / maxRank` is reported; higher first. Exact when nodes
//!   derive the same maximum rank, which holds for the rule right after `words` and in
//!   practice beyond (Meilisearch's own network search relies on the same scores).
//! - `attr:asc|desc`: the sort value as Meilisearch orders it: numbers before strings,
//!   strings by their normalized bytes, a missing value last, in either direction.
//! - `_geoPoint(lat, lng):asc|desc`: the distance; a missing point last.
//! - `skipped` (a node ran out of search time): worse than any real outcome.
//!
//! Hybrid search orders differently: Meilisearch mixes its keyword and semantic lists
//! by weighted score ([`compare_hybrid`]).

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::details::{Detail, DetailList};

/// One ranking rule's outcome for one hit.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Words {
        matching: u64,
        max: u64,
    },
    Typo {
        count: u64,
        max: u64,
    },
    /// A rule reported by its normalized score only (proximity, attributeRank, ...).
    Score(f64),
    /// `attribute`: the attribute rank first, then the word position.
    Attribute {
        rank: f64,
        position: f64,
        score: f64,
    },
    /// `exactness`: match type (3 exact, 2 starts with, 1 none), then for no exact
    /// match the words matched exactly.
    Exactness {
        match_type: u8,
        cost: Option<u64>,
        score: f64,
    },
    Sort {
        asc: bool,
        value: SortValue,
    },
    Geo {
        asc: bool,
        distance: Option<f64>,
    },
    Vector(f64),
    Skipped,
    /// A rule this version does not know: neutral in comparisons.
    Unknown(Option<f64>),
}

/// A sort value as Meilisearch's facet databases hold it.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Number(f64),
    Text(String),
    /// No value for the field (or one of another type, which Meilisearch treats as equal).
    Missing,
}

/// A hit's position among its node's ranked hits: what the merge compares.
#[derive(Debug, Clone, PartialEq)]
pub struct RankKey {
    /// The rules in `order`.
    pub rules: Vec<Rule>,
    /// `_rankingScore`: one node's whole score, used by hybrid ordering.
    pub global: f64,
    /// Set for a document pinned by a dynamic search rule, at this position.
    pub pin: Option<u64>,
}

impl RankKey {
    /// Reads a hit's `_rankingScoreDetails` and `_rankingScore`. `None` when the hit has
    /// no details: the node did not answer the query Miroir sent it.
    pub fn of_hit(hit: &Map<String, Value>) -> Option<RankKey> {
        let details = hit.get("_rankingScoreDetails")?.as_object()?;
        Some(RankKey::of_details(details, hit.get("_rankingScore").and_then(Value::as_f64)))
    }

    /// Reads `_rankingScoreDetails` and `_rankingScore` already taken out of a hit.
    pub fn of_details(details: &Map<String, Value>, global: Option<f64>) -> RankKey {
        RankKey::of_list(&DetailList::from_map(details), global)
    }

    /// From details read straight from a node's bytes.
    pub fn of_list(details: &DetailList, global: Option<f64>) -> RankKey {
        let mut entries: Vec<(u64, Rule)> = Vec::with_capacity(details.0.len());
        let mut pin = None;
        for (name, detail) in &details.0 {
            if name == "pin" {
                pin = Some(detail.position.unwrap_or(0));
                continue;
            }
            entries.push((detail.order.unwrap_or(u64::MAX), Rule::parse(name, detail)));
        }
        entries.sort_by_key(|(order, _)| *order);
        RankKey { rules: entries.into_iter().map(|(_, r)| r).collect(), global: global.unwrap_or(0.0), pin }
    }

    /// Whether a semantic search found this hit (it carries a `vectorSort` outcome).
    pub fn is_semantic(&self) -> bool {
        self.rules.iter().any(|r| matches!(r, Rule::Vector(_)))
    }
}

impl Rule {
    fn parse(name: &str, d: &Detail) -> Rule {
        let parsed = match name {
            "words" => d.matching_words.zip(d.max_matching_words).map(|(matching, max)| Rule::Words { matching, max }),
            "typo" => d.typo_count.zip(d.max_typo_count).map(|(count, max)| Rule::Typo { count, max }),
            "proximity" | "attributeRank" | "wordPosition" => d.score.map(Rule::Score),
            "attribute" => match (d.attribute_ranking_order_score, d.query_word_distance_score) {
                (Some(rank), Some(position)) => Some(Rule::Attribute { rank, position, score: d.score.unwrap_or(0.0) }),
                _ => d.score.map(Rule::Score),
            },
            "exactness" => {
                let match_type = match d.match_type.as_deref() {
                    Some("exactMatch") => 3,
                    Some("matchesStart") => 2,
                    _ => 1,
                };
                let cost = d.max_matching_words.zip(d.matching_words).map(|(max, m)| max.saturating_sub(m));
                Some(Rule::Exactness { match_type, cost, score: d.score.unwrap_or(0.0) })
            }
            "vectorSort" => Some(Rule::Vector(d.similarity.unwrap_or(0.0))),
            "skipped" => Some(Rule::Skipped),
            _ => sort_rule(name, d),
        };
        parsed.unwrap_or(Rule::Unknown(d.score))
    }
}

/// `attr:asc`, `<hidden-rule-N>` (redacted: same value for all) or `_geoPoint(..):asc`.
fn sort_rule(name: &str, d: &Detail) -> Option<Rule> {
    if name.starts_with("<hidden-rule-") {
        return Some(Rule::Sort { asc: true, value: SortValue::Missing });
    }
    let (attr, dir) = name.rsplit_once(':')?;
    let asc = match dir {
        "asc" => true,
        "desc" => false,
        _ => return None,
    };
    if attr.starts_with("_geoPoint(") {
        return Some(Rule::Geo { asc, distance: d.distance });
    }
    let value = match &d.value {
        Some(Value::Number(n)) => n.as_f64().map_or(SortValue::Missing, SortValue::Number),
        Some(Value::String(s)) => SortValue::Text(s.clone()),
        _ => SortValue::Missing,
    };
    Some(Rule::Sort { asc, value })
}

/// Higher is better, as `Greater`.
pub(super) fn higher(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// Meilisearch's `compare_sort_values`: `Greater` ranks first.
pub(super) fn compare_sort(asc: bool, a: &SortValue, b: &SortValue) -> Ordering {
    use SortValue::*;
    let order = match (a, b) {
        (Missing, Missing) => return Ordering::Equal,
        (Missing, _) => return Ordering::Less,
        (_, Missing) => return Ordering::Greater,
        (Number(_), Text(_)) => return Ordering::Greater,
        (Text(_), Number(_)) => return Ordering::Less,
        (Number(a), Number(b)) => higher(*a, *b),
        (Text(a), Text(b)) => a.as_bytes().cmp(b.as_bytes()),
    };
    if asc {
        order.reverse()
    } else {
        order
    }
}

fn compare_geo(asc: bool, a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) if asc => higher(b, a),
        (Some(a), Some(b)) => higher(a, b),
    }
}

/// One rule of two hits: `Greater` when `a` ranks first.
fn compare_rule(a: &Rule, b: &Rule) -> Ordering {
    use Rule::*;
    match (a, b) {
        // Fewer words dropped, fewer typos, fewer inexact words rank first.
        (Words { matching: ma, max: xa }, Words { matching: mb, max: xb }) => {
            xb.saturating_sub(*mb).cmp(&xa.saturating_sub(*ma))
        }
        (Typo { count: a, .. }, Typo { count: b, .. }) => b.cmp(a),
        (Score(a), Score(b)) | (Vector(a), Vector(b)) => higher(*a, *b),
        (Attribute { rank: ra, position: pa, .. }, Attribute { rank: rb, position: pb, .. }) => {
            higher(*ra, *rb).then_with(|| higher(*pa, *pb))
        }
        (Exactness { match_type: ta, cost: ca, score: sa }, Exactness { match_type: tb, cost: cb, score: sb }) => {
            ta.cmp(tb).then_with(|| match (ca, cb) {
                (Some(ca), Some(cb)) => cb.cmp(ca),
                _ => higher(*sa, *sb),
            })
        }
        (Sort { asc, value: va }, Sort { asc: asc_b, value: vb }) if asc == asc_b => compare_sort(*asc, va, vb),
        (Geo { asc, distance: da }, Geo { asc: asc_b, distance: db }) if asc == asc_b => compare_geo(*asc, *da, *db),
        (Skipped, Skipped) => Ordering::Equal,
        (Skipped, _) => Ordering::Less,
        (_, Skipped) => Ordering::Greater,
        (Unknown(Some(a)), Unknown(Some(b))) => higher(*a, *b),
        // Rules of different kinds at one position: not comparable, leave to the next.
        _ => Ordering::Equal,
    }
}

/// Rule by rule, in `order`: `Greater` when `a` ranks first. A hit with fewer rules
/// (its node stopped ranking it) ranks after one with more, as in Meilisearch.
pub fn compare_ranked(a: &RankKey, b: &RankKey) -> Ordering {
    for (ra, rb) in a.rules.iter().zip(&b.rules) {
        match compare_rule(ra, rb) {
            Ordering::Equal => continue,
            decided => return decided,
        }
    }
    a.rules.len().cmp(&b.rules.len())
}

/// A step of Meilisearch's hybrid comparison (`ScoreDetails::score_values`):
/// consecutive rank rules fold into one score.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum HybridValue<'a> {
    Score(f64),
    Sort(bool, &'a SortValue),
    Geo(bool, Option<f64>),
}

/// The rank a rule reports, as `(score, max_rank)`; the maximum is known only for
/// rules whose details give it.
fn rank_of(rule: &Rule) -> Option<(f64, Option<f64>)> {
    match rule {
        Rule::Words { matching, max } if *max > 0 => Some((*matching as f64 / *max as f64, Some(*max as f64))),
        Rule::Typo { count, max } => {
            let max_rank = (max + 1) as f64;
            Some(((max + 1).saturating_sub(*count) as f64 / max_rank, Some(max_rank)))
        }
        Rule::Score(s) | Rule::Attribute { score: s, .. } | Rule::Exactness { score: s, .. } => Some((*s, None)),
        Rule::Unknown(s) => s.map(|s| (s, None)),
        Rule::Skipped => Some((0.0, Some(1.0))),
        _ => None,
    }
}

/// Folds one run of rank rules as `Rank::merge` does: an outer rank refined by the
/// inner ones, `outer - (1 - inner) / outer_max`. With the maximum unknown the
/// refinement (below `1 / max`) is dropped.
fn fold_ranks(run: &[(f64, Option<f64>)]) -> f64 {
    let mut iter = run.iter().rev();
    let Some(&(mut value, _)) = iter.next() else { return 1.0 };
    for &(score, max) in iter {
        value = match max {
            Some(max) if score == 0.0 => value / max,
            Some(max) => score - (1.0 - value) / max,
            None => score,
        };
    }
    value
}

pub(super) fn hybrid_values(key: &RankKey) -> Vec<HybridValue<'_>> {
    let mut out = Vec::with_capacity(key.rules.len());
    let mut run: Vec<(f64, Option<f64>)> = Vec::new();
    let mut runs = Vec::new(); // where each folded run sits in `out`
    let mut close = |run: &mut Vec<(f64, Option<f64>)>, out: &mut Vec<HybridValue<'_>>| {
        if !run.is_empty() {
            runs.push(out.len());
            out.push(HybridValue::Score(fold_ranks(run)));
            run.clear();
        }
    };
    for rule in &key.rules {
        if let Some(rank) = rank_of(rule) {
            run.push(rank);
            continue;
        }
        close(&mut run, &mut out);
        match rule {
            Rule::Sort { asc, value } => out.push(HybridValue::Sort(*asc, value)),
            Rule::Geo { asc, distance } => out.push(HybridValue::Geo(*asc, *distance)),
            Rule::Vector(s) => out.push(HybridValue::Score(*s)),
            _ => {}
        }
    }
    close(&mut run, &mut out);
    // A keyword hit's only run of rank rules is exactly its node's `_rankingScore`.
    if let ([at], false) = (runs.as_slice(), key.is_semantic()) {
        out[*at] = HybridValue::Score(key.global);
    }
    out
}

/// Meilisearch's hybrid comparison (`compare_scores` in milli's `hybrid.rs`): scores
/// weighted by `1 - semanticRatio` for keyword hits and `semanticRatio` for semantic
/// ones, equal within `f64::EPSILON`. `Greater` when `a` ranks first.
pub fn compare_hybrid(a: &RankKey, b: &RankKey, semantic_ratio: f32) -> Ordering {
    let weight = |k: &RankKey| if k.is_semantic() { semantic_ratio as f64 } else { (1.0 - semantic_ratio) as f64 };
    let (wa, wb) = (weight(a), weight(b));
    let (va, vb) = (hybrid_values(a), hybrid_values(b));
    let mut ia = va.iter();
    let mut ib = vb.iter();
    loop {
        let step = match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(HybridValue::Score(x)), Some(HybridValue::Score(y))) => {
                let (x, y) = (x * wa, y * wb);
                if (x - y).abs() <= f64::EPSILON {
                    Ordering::Equal
                } else {
                    higher(x, y)
                }
            }
            (Some(HybridValue::Sort(asc, x)), Some(HybridValue::Sort(_, y))) => compare_sort(*asc, x, y),
            (Some(HybridValue::Geo(asc, x)), Some(HybridValue::Geo(_, y))) => compare_geo(*asc, *x, *y),
            (Some(HybridValue::Score(x)), Some(_)) => {
                return if *x == 0.0 { Ordering::Less } else { Ordering::Greater }
            }
            (Some(_), Some(HybridValue::Score(y))) => {
                return if *y == 0.0 { Ordering::Greater } else { Ordering::Less }
            }
            _ => Ordering::Equal,
        };
        if step != Ordering::Equal {
            return step;
        }
    }
}

#[cfg(test)]
mod tests;
