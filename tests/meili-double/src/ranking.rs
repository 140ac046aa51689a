//! Per-hit ranking outcomes (`_rankingScoreDetails`), modelled on milli's
//! `score_details.rs`: one [`Detail`] per ranking rule applied, in the order
//! the rules ran. The same list orders the hits ([`compare`]), gives
//! `_rankingScore` ([`global_score`]) and is rendered as Meilisearch 1.50
//! renders it ([`to_json`]), so the three always agree.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use crate::search::Strategy;
use crate::sort::SortBy;

/// milli's `Rank`: `max` is the best rank, 1 the worst a hit can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    pub rank: u64,
    pub max: u64,
}

impl Rank {
    pub fn local_score(self) -> f64 {
        self.rank as f64 / self.max.max(1) as f64
    }

    /// milli's `Rank::merge`: `inner` refines `outer`.
    pub fn merge(mut outer: Rank, inner: Rank) -> Rank {
        outer.rank = outer.rank.saturating_sub(1);
        outer.rank *= inner.max;
        outer.max *= inner.max;
        outer.rank += inner.rank;
        outer
    }

    /// milli's `Rank::global_score`.
    pub fn global_score(ranks: impl IntoIterator<Item = Rank>) -> f64 {
        ranks
            .into_iter()
            .fold(Rank { rank: 1, max: 1 }, Rank::merge)
            .local_score()
    }

    /// `Less` when `self` is the better rank (greater `rank / max`), compared exactly.
    fn better(self, other: Rank) -> Ordering {
        (other.rank * self.max).cmp(&(self.rank * other.max))
    }
}

/// The `exactness` rule's first step (milli's `ExactAttribute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchType {
    /// An attribute is exactly the query words.
    Exact,
    /// An attribute starts with the query words.
    Start,
    NoExact,
}

impl MatchType {
    pub fn rank(self) -> Rank {
        let rank = match self {
            MatchType::Exact => 3,
            MatchType::Start => 2,
            MatchType::NoExact => 1,
        };
        Rank { rank, max: 3 }
    }

    fn name(self) -> &'static str {
        match self {
            MatchType::Exact => "exactMatch",
            MatchType::Start => "matchesStart",
            MatchType::NoExact => "noExactMatch",
        }
    }
}

/// One ranking rule's outcome for one hit (milli's `ScoreDetails`).
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    /// Query words matched, of the query's words.
    Words {
        matching: u64,
        max: u64,
    },
    /// Typos over the matched words, of the most the query graph allows.
    Typo {
        count: u64,
        max: u64,
    },
    Proximity(Rank),
    /// The attribute rank (`attributeRank`, or the first half of `attribute`).
    Fid(Rank),
    /// The word position (`wordPosition`, or the second half of `attribute`).
    Position(Rank),
    ExactAttribute(MatchType),
    /// Words matched exactly (the second step of `exactness`).
    ExactWords {
        matching: u64,
        max: u64,
    },
    /// A sort rule (`sort` parameter or custom `field:asc|desc` rule): the
    /// value the hit sorted by (number, normalized string, `null` when missing).
    Sort {
        field: String,
        ascending: bool,
        redacted: bool,
        value: Value,
    },
}

impl Detail {
    /// The rank of a relevancy rule; `None` for sort rules.
    pub fn rank(&self) -> Option<Rank> {
        match self {
            Detail::Words { matching, max } => Some(Rank {
                rank: *matching,
                max: *max,
            }),
            Detail::Typo { count, max } => Some(Rank {
                rank: (max + 1).saturating_sub(*count),
                max: max + 1,
            }),
            Detail::Proximity(r) | Detail::Fid(r) | Detail::Position(r) => Some(*r),
            Detail::ExactAttribute(t) => Some(t.rank()),
            Detail::ExactWords { matching, max } => Some(Rank {
                rank: matching + 1,
                max: max + 1,
            }),
            Detail::Sort { .. } => None,
        }
    }
}

/// `_rankingScore`: the relevancy ranks merged in rule order (sort rules
/// left out); 1.0 when no relevancy rule ran (placeholder search).
pub fn global_score(details: &[Detail]) -> f64 {
    Rank::global_score(details.iter().filter_map(Detail::rank))
}

/// milli's `compare_sort_values`, as an ordering where `Less` ranks first:
/// numbers before strings, strings by bytes, `null` (no value) last.
pub fn compare_sort_values(ascending: bool, a: &Value, b: &Value) -> Ordering {
    let class = |v: &Value| match v {
        Value::Number(_) => 0,
        Value::String(_) => 1,
        _ => 2,
    };
    let order = match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => return class(a).cmp(&class(b)),
    };
    if ascending {
        order
    } else {
        order.reverse()
    }
}

/// One rule of two hits; `Less` when `a` ranks first.
fn compare_detail(a: &Detail, b: &Detail) -> Ordering {
    use Detail::*;
    match (a, b) {
        // bucket costs: words dropped, typos, words not matched exactly
        (
            Words {
                matching: ma,
                max: xa,
            },
            Words {
                matching: mb,
                max: xb,
            },
        )
        | (
            ExactWords {
                matching: ma,
                max: xa,
            },
            ExactWords {
                matching: mb,
                max: xb,
            },
        ) => xa.saturating_sub(*ma).cmp(&xb.saturating_sub(*mb)),
        (Typo { count: ca, .. }, Typo { count: cb, .. }) => ca.cmp(cb),
        (Proximity(ra), Proximity(rb)) | (Fid(ra), Fid(rb)) | (Position(ra), Position(rb)) => {
            ra.better(*rb)
        }
        (ExactAttribute(ta), ExactAttribute(tb)) => ta.rank().better(tb.rank()),
        (
            Sort {
                ascending,
                value: va,
                ..
            },
            Sort { value: vb, .. },
        ) => compare_sort_values(*ascending, va, vb),
        _ => Ordering::Equal,
    }
}

/// Meilisearch's bucket order over two hits' details: rule by rule in
/// ranking-rule order; `Less` when `a` ranks first. Hits equal on every
/// rule keep their internal-id order (the caller breaks that tie).
///
/// The exact words of `exactness` only separate hits with no exact
/// attribute: only then do the details show them, so only then can a reader
/// of the details compare them (with an exact attribute they count the query
/// words that have an exact form, which hits tied this far share but in rare
/// typo mixes; they still weigh in `_rankingScore`).
pub fn compare(a: &[Detail], b: &[Detail]) -> Ordering {
    let mut shown = true;
    for (x, y) in a.iter().zip(b) {
        if let Detail::ExactAttribute(t) = x {
            shown = *t == MatchType::NoExact;
        }
        if matches!(x, Detail::ExactWords { .. }) && !shown {
            continue;
        }
        let o = compare_detail(x, y);
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// milli's `ScoreDetails::to_json_map`. `separated`: the index's ranking
/// rules name `attributeRank` or `wordPosition` (milli's
/// `AttributeState::Separated`), else `attribute` is one object.
pub fn to_json(details: &[Detail], separated: bool) -> Map<String, Value> {
    let mut order = 0u64;
    let mut fid = None;
    let mut map = Map::new();
    for detail in details {
        match detail {
            Detail::Words { matching, max } => {
                map.insert(
                    "words".into(),
                    json!({
                        "order": order,
                        "matchingWords": matching,
                        "maxMatchingWords": max,
                        "score": local(detail),
                    }),
                );
                order += 1;
            }
            Detail::Typo { count, max } => {
                map.insert(
                    "typo".into(),
                    json!({
                        "order": order,
                        "typoCount": count,
                        "maxTypoCount": max,
                        "score": local(detail),
                    }),
                );
                order += 1;
            }
            Detail::Proximity(rank) => {
                map.insert(
                    "proximity".into(),
                    json!({"order": order, "score": rank.local_score()}),
                );
                order += 1;
            }
            Detail::Fid(rank) => {
                if separated {
                    map.insert(
                        "attributeRank".into(),
                        json!({"order": order, "score": rank.local_score()}),
                    );
                } else {
                    fid = Some(*rank);
                    map.insert(
                        "attribute".into(),
                        json!({"order": order, "attributeRankingOrderScore": rank.local_score()}),
                    );
                }
                order += 1;
            }
            Detail::Position(rank) => {
                if separated {
                    map.insert(
                        "wordPosition".into(),
                        json!({"order": order, "score": rank.local_score()}),
                    );
                    order += 1;
                } else if let (Some(fid), Some(Value::Object(attribute))) =
                    (fid, map.get_mut("attribute"))
                {
                    // `attribute` is fid then position; the order was counted by fid
                    attribute.insert("queryWordDistanceScore".into(), json!(rank.local_score()));
                    attribute.insert("score".into(), json!(Rank::global_score([fid, *rank])));
                }
            }
            Detail::ExactAttribute(t) => {
                map.insert(
                    "exactness".into(),
                    json!({
                        "order": order,
                        "matchType": t.name(),
                        "score": t.rank().local_score(),
                    }),
                );
                order += 1;
            }
            Detail::ExactWords { matching, max } => {
                if let Some(Value::Object(exactness)) = map.get_mut("exactness") {
                    if exactness.get("matchType") == Some(&json!(MatchType::NoExact.name())) {
                        let words = detail.rank().unwrap_or(Rank { rank: 1, max: 1 });
                        // the score stays the last field
                        exactness.remove("score");
                        exactness.insert("matchingWords".into(), json!(matching));
                        exactness.insert("maxMatchingWords".into(), json!(max));
                        exactness.insert(
                            "score".into(),
                            json!(Rank::global_score([MatchType::NoExact.rank(), words])),
                        );
                    }
                }
            }
            Detail::Sort {
                field,
                ascending,
                redacted,
                value,
            } => {
                let (key, value) = if *redacted {
                    (format!("<hidden-rule-{order}>"), json!("<hidden>"))
                } else {
                    let dir = if *ascending { "asc" } else { "desc" };
                    (format!("{field}:{dir}"), value.clone())
                };
                map.insert(key, json!({"order": order, "value": value}));
                order += 1;
            }
        }
    }
    map
}

fn local(detail: &Detail) -> f64 {
    detail.rank().map_or(1.0, Rank::local_score)
}

/// A ranking rule as the search applies it (milli's ranking-rule list).
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    Words,
    Typo,
    Proximity,
    Fid,
    Position,
    /// `ExactAttribute` then `ExactWords`.
    Exactness,
    Sort {
        by: SortBy,
        redacted: bool,
    },
}

/// The rules a search applies, as milli derives them from the index's
/// `rankingRules`: a placeholder search keeps only the sort rules; a query
/// search puts `words` before the first of `typo`, `proximity`,
/// `attribute*`, `wordPosition`, `exactness` (no `words` with matching
/// strategy `all`), applies each rule once, and sorts by a field once (the
/// first of the `sort` parameter and the custom rules that names it).
/// `displayed`: the displayed attributes unless `*` (sort rules on other
/// fields are redacted in the details).
pub fn resolve_rules(
    ranking_rules: &[String],
    sorts: &[SortBy],
    placeholder: bool,
    strategy: Strategy,
    displayed: Option<&[String]>,
) -> Vec<Rule> {
    let sort_rule = |by: &SortBy| Rule::Sort {
        by: by.clone(),
        redacted: displayed.is_some_and(|list| !list.contains(&by.field)),
    };
    let mut out = Vec::new();
    let mut sorted_fields: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut words = strategy == Strategy::All;
    let (mut attribute, mut attribute_rank, mut word_position) = (false, false, false);
    for rule in ranking_rules {
        let rule = rule.as_str();
        let relevancy = matches!(
            rule,
            "words"
                | "typo"
                | "proximity"
                | "attribute"
                | "attributeRank"
                | "wordPosition"
                | "exactness"
        );
        if relevancy && placeholder {
            continue;
        }
        if relevancy && rule != "words" && !words {
            out.push(Rule::Words);
            words = true;
        }
        match rule {
            "words" => {
                if !words {
                    out.push(Rule::Words);
                    words = true;
                }
            }
            "typo" | "proximity" | "exactness" => {
                if !seen.contains(&rule) {
                    seen.push(rule);
                    out.push(match rule {
                        "typo" => Rule::Typo,
                        "proximity" => Rule::Proximity,
                        _ => Rule::Exactness,
                    });
                }
            }
            "attribute" => {
                if !(attribute || attribute_rank || word_position) {
                    attribute = true;
                    out.push(Rule::Fid);
                    out.push(Rule::Position);
                }
            }
            "attributeRank" => {
                if !(attribute || attribute_rank) {
                    attribute_rank = true;
                    out.push(Rule::Fid);
                }
            }
            "wordPosition" => {
                if !(attribute || word_position) {
                    word_position = true;
                    out.push(Rule::Position);
                }
            }
            "sort" => {
                if !seen.contains(&rule) {
                    seen.push(rule);
                    for by in sorts {
                        if !sorted_fields.contains(&by.field) {
                            sorted_fields.push(by.field.clone());
                            out.push(sort_rule(by));
                        }
                    }
                }
            }
            custom => {
                if let Ok(by) = crate::sort::parse(custom) {
                    if !sorted_fields.contains(&by.field) {
                        sorted_fields.push(by.field.clone());
                        out.push(sort_rule(&by));
                    }
                }
            }
        }
    }
    out
}

/// Whether the details name `attributeRank`/`wordPosition` separately.
pub fn separated(ranking_rules: &[String]) -> bool {
    ranking_rules
        .iter()
        .any(|r| r == "attributeRank" || r == "wordPosition")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn by(field: &str, ascending: bool) -> SortBy {
        SortBy {
            field: field.into(),
            ascending,
        }
    }

    #[test]
    fn global_score_merges_ranks_like_milli() {
        // words 1/2, typo 0 of 1, proximity 1/1, fid 3/3, position 9/11, exactness
        let details = [
            Detail::Words {
                matching: 1,
                max: 2,
            },
            Detail::Typo { count: 0, max: 1 },
            Detail::Proximity(Rank { rank: 1, max: 1 }),
            Detail::Fid(Rank { rank: 3, max: 3 }),
            Detail::Position(Rank { rank: 9, max: 11 }),
            Detail::ExactAttribute(MatchType::NoExact),
            Detail::ExactWords {
                matching: 1,
                max: 1,
            },
        ];
        // recorded from Meilisearch 1.50 ("the lord", Harry Potter)
        assert!((global_score(&details) - 0.4797979797979798).abs() < 1e-12);
        assert_eq!(global_score(&[]), 1.0);
    }

    #[test]
    fn json_shape_follows_score_details_to_json_map() {
        let details = [
            Detail::Words {
                matching: 2,
                max: 2,
            },
            Detail::Sort {
                field: "year".into(),
                ascending: false,
                redacted: true,
                value: json!(1.0),
            },
            Detail::Fid(Rank { rank: 1, max: 1 }),
            Detail::Position(Rank { rank: 9, max: 11 }),
            Detail::ExactAttribute(MatchType::Start),
            Detail::ExactWords {
                matching: 2,
                max: 2,
            },
        ];
        let unified = Value::Object(to_json(&details, false));
        assert_eq!(
            serde_json::to_string(&unified).unwrap(),
            r#"{"words":{"order":0,"matchingWords":2,"maxMatchingWords":2,"score":1.0},"<hidden-rule-1>":{"order":1,"value":"<hidden>"},"attribute":{"order":2,"attributeRankingOrderScore":1.0,"queryWordDistanceScore":0.8181818181818182,"score":0.8181818181818182},"exactness":{"order":3,"matchType":"matchesStart","score":0.6666666666666666}}"#
        );
        let separated = Value::Object(to_json(&details[2..4], true));
        assert_eq!(
            serde_json::to_string(&separated).unwrap(),
            r#"{"attributeRank":{"order":0,"score":1.0},"wordPosition":{"order":1,"score":0.8181818181818182}}"#
        );
        let no_exact = [
            Detail::ExactAttribute(MatchType::NoExact),
            Detail::ExactWords {
                matching: 0,
                max: 1,
            },
        ];
        assert_eq!(
            serde_json::to_string(&to_json(&no_exact, true)).unwrap(),
            r#"{"exactness":{"order":0,"matchType":"noExactMatch","matchingWords":0,"maxMatchingWords":1,"score":0.16666666666666666}}"#
        );
    }

    #[test]
    fn rules_resolve_like_milli() {
        let default = rules(&[
            "words",
            "typo",
            "proximity",
            "attributeRank",
            "sort",
            "wordPosition",
            "exactness",
        ]);
        let sorts = [by("year", false)];
        let got = resolve_rules(&default, &sorts, false, Strategy::Last, None);
        assert_eq!(got.len(), 7);
        assert_eq!(got[0], Rule::Words);
        assert_eq!(
            got[4],
            Rule::Sort {
                by: by("year", false),
                redacted: false
            }
        );
        // placeholder: only sort rules
        let got = resolve_rules(&default, &sorts, true, Strategy::Last, None);
        assert_eq!(got.len(), 1);
        // `all`: no words rule
        let got = resolve_rules(&default, &[], false, Strategy::All, None);
        assert_eq!(got[0], Rule::Typo);
        // words goes before the first relevancy rule; a field sorts once
        let custom = rules(&[
            "year:desc",
            "typo",
            "words",
            "sort",
            "year:asc",
            "attribute",
        ]);
        let got = resolve_rules(
            &custom,
            &[by("year", true), by("title", true)],
            false,
            Strategy::Last,
            Some(&["title".to_string()]),
        );
        assert_eq!(
            got,
            vec![
                Rule::Sort {
                    by: by("year", false),
                    redacted: true
                },
                Rule::Words,
                Rule::Typo,
                Rule::Sort {
                    by: by("title", true),
                    redacted: false
                },
                Rule::Fid,
                Rule::Position,
            ]
        );
    }

    #[test]
    fn sort_values_order_numbers_then_strings_then_missing() {
        let mut values = vec![json!(null), json!("b"), json!(2.0), json!("a"), json!(10.0)];
        values.sort_by(|a, b| compare_sort_values(true, a, b));
        assert_eq!(
            values,
            vec![json!(2.0), json!(10.0), json!("a"), json!("b"), json!(null)]
        );
        values.sort_by(|a, b| compare_sort_values(false, a, b));
        assert_eq!(
            values,
            vec![json!(10.0), json!(2.0), json!("b"), json!("a"), json!(null)]
        );
    }
}
