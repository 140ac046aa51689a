//! How Meilisearch's federated search compares hits of different queries
//! (`search/federated/weighted_scores.rs` and `WeightedScoreValue` in milli's
//! `score_details.rs`): each hit becomes a list of values — every run of ranking rules
//! folded into one score, sort values and geo distances between — scores multiplied by
//! the query's weight; lists compare value by value (scores equal within
//! `f64::EPSILON`), and values of different kinds make the hit with more values left
//! win, or with as many the greater weighted global score.
//!
//! Hits of one query never meet here: their order is the query's own, rule by rule.

use std::cmp::Ordering;

use crate::search::ranking::{compare_sort, higher, hybrid_values, HybridValue};
use crate::search::RankKey;

/// `Some(Greater)` when `a` ranks first; `None` when the values are not comparable.
fn compare_value(a: &HybridValue<'_>, wa: f64, b: &HybridValue<'_>, wb: f64) -> Option<Ordering> {
    match (a, b) {
        (HybridValue::Score(x), HybridValue::Score(y)) => {
            let (x, y) = (x * wa, y * wb);
            Some(if (x - y).abs() <= f64::EPSILON { Ordering::Equal } else { higher(x, y) })
        }
        (HybridValue::Sort(asc_a, x), HybridValue::Sort(asc_b, y)) if asc_a == asc_b => Some(compare_sort(*asc_a, x, y)),
        // As milli: distances compare as they are, whatever the direction.
        (HybridValue::Geo(asc_a, x), HybridValue::Geo(asc_b, y)) if asc_a == asc_b => Some(match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) if (x - y).abs() <= f64::EPSILON => Ordering::Equal,
            (Some(x), Some(y)) => higher(*x, *y),
        }),
        _ => None,
    }
}

/// Meilisearch's `weighted_scores::compare` of two hits with their queries' weights:
/// `Greater` when `a` ranks first.
pub fn compare(a: &RankKey, wa: f64, b: &RankKey, wb: f64) -> Ordering {
    let (va, vb) = (hybrid_values(a), hybrid_values(b));
    let mut ia = va.iter();
    let mut ib = vb.iter();
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match compare_value(x, wa, y, wb) {
                Some(Ordering::Equal) => continue,
                Some(decided) => return decided,
                None => {
                    let by_count = ia.count().cmp(&ib.count());
                    return match by_count {
                        Ordering::Equal => higher(a.global * wa, b.global * wb),
                        decided => decided,
                    };
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Rule, SortValue};

    fn key(rules: Vec<Rule>, global: f64) -> RankKey {
        RankKey { rules, global, pin: None }
    }

    fn words(matching: u64, max: u64) -> Rule {
        Rule::Words { matching, max }
    }

    #[test]
    fn keyword_hits_compare_on_weighted_global_scores() {
        let a = key(vec![words(2, 3), Rule::Score(0.5)], 0.6);
        let b = key(vec![words(3, 3), Rule::Score(0.5)], 0.9);
        assert_eq!(compare(&a, 1.0, &b, 1.0), Ordering::Less);
        assert_eq!(compare(&a, 2.0, &b, 1.0), Ordering::Greater, "a weight lifts a query's hits");
        assert_eq!(compare(&a, 1.5, &b, 1.0), Ordering::Equal, "equal within epsilon");
    }

    #[test]
    fn sort_values_split_scores_and_decide_between_them() {
        let sort = |v: f64| Rule::Sort { asc: true, value: SortValue::Number(v) };
        let a = key(vec![words(3, 3), sort(1.0), Rule::Score(0.1)], 0.5);
        let b = key(vec![words(3, 3), sort(2.0), Rule::Score(1.0)], 0.9);
        assert_eq!(compare(&a, 1.0, &b, 1.0), Ordering::Greater, "ascending: the smaller value first");
    }

    #[test]
    fn values_of_different_kinds_fall_back_to_counts_then_global_scores() {
        let sort = Rule::Sort { asc: true, value: SortValue::Number(1.0) };
        let a = key(vec![sort.clone(), words(1, 3)], 0.3);
        let b = key(vec![words(3, 3)], 0.9);
        assert_eq!(compare(&a, 1.0, &b, 1.0), Ordering::Greater, "a has more values left");
        let c = key(vec![sort, words(1, 3)], 0.3);
        let d = key(vec![words(3, 3), Rule::Sort { asc: true, value: SortValue::Number(9.0) }], 0.9);
        assert_eq!(compare(&c, 1.0, &d, 1.0), Ordering::Less, "as many values: the weighted global score");
    }
}
