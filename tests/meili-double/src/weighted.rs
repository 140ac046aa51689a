//! Federated search's comparison of hits from different queries, as milli's
//! `ScoreDetails::weighted_score_values` and Meilisearch's
//! `weighted_scores::compare`: consecutive relevancy ranks merge into one
//! weighted score, sort rules stay values; the first difference decides,
//! then the weighted global score.

use std::cmp::Ordering;

use serde_json::Value;

use crate::ranking::{compare_sort_values, global_score, Detail, Rank};

/// One step of a hit's weighted score.
#[derive(Debug, Clone, PartialEq)]
pub enum Weighted {
    Score(f64),
    Sort { asc: bool, value: Value },
}

/// The weighted score values of a hit's details.
pub fn values(details: &[Detail], weight: f64) -> Vec<Weighted> {
    let mut out = Vec::new();
    let mut pending: Option<Rank> = None;
    for d in details {
        match (d.rank(), d) {
            (Some(r), _) => pending = Some(pending.map_or(r, |p| Rank::merge(p, r))),
            (
                None,
                Detail::Sort {
                    ascending, value, ..
                },
            ) => {
                if let Some(p) = pending.take() {
                    out.push(Weighted::Score(p.local_score() * weight));
                }
                out.push(Weighted::Sort {
                    asc: *ascending,
                    value: value.clone(),
                });
            }
            (None, _) => {}
        }
    }
    if let Some(p) = pending {
        out.push(Weighted::Score(p.local_score() * weight));
    }
    out
}

/// `_federation.weightedRankingScore`.
pub fn weighted_global(details: &[Detail], weight: f64) -> f64 {
    global_score(details) * weight
}

/// `Greater` when `left` is the better hit.
fn partial(left: &Weighted, right: &Weighted) -> Option<Ordering> {
    match (left, right) {
        (Weighted::Score(l), Weighted::Score(r)) => {
            if (l - r).abs() <= f64::EPSILON {
                Some(Ordering::Equal)
            } else {
                l.partial_cmp(r)
            }
        }
        (Weighted::Sort { asc: la, value: lv }, Weighted::Sort { asc: ra, value: rv }) => {
            if la != ra {
                return None;
            }
            // `compare_sort_values` says `Less` for the value ranked first
            Some(compare_sort_values(*la, lv, rv).reverse())
        }
        _ => None,
    }
}

/// Meilisearch's `weighted_scores::compare`: `Greater` when `left` ranks first.
pub fn compare(
    left: &[Weighted],
    left_global: f64,
    right: &[Weighted],
    right_global: f64,
) -> Ordering {
    let mut i = 0;
    loop {
        match (left.get(i), right.get(i)) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(l), Some(r)) => match partial(l, r) {
                Some(Ordering::Equal) => i += 1,
                Some(order) => return order,
                None => {
                    let by_count = (left.len() - i).cmp(&(right.len() - i));
                    if by_count.is_eq() {
                        return left_global
                            .partial_cmp(&right_global)
                            .unwrap_or(Ordering::Equal);
                    }
                    return by_count;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn consecutive_ranks_merge_and_sorts_stay_values() {
        let details = [
            Detail::Words {
                matching: 1,
                max: 2,
            },
            Detail::Typo { count: 0, max: 1 },
            Detail::Sort {
                field: "year".into(),
                ascending: false,
                redacted: false,
                value: json!(1997.0),
            },
            Detail::Proximity(Rank { rank: 1, max: 1 }),
        ];
        let v = values(&details, 2.0);
        assert_eq!(v.len(), 3);
        // words 1/2 refined by typo 2/2: (1-1)*2+2 = 2 of 4
        assert_eq!(v[0], Weighted::Score(1.0));
        assert_eq!(
            v[1],
            Weighted::Sort {
                asc: false,
                value: json!(1997.0)
            }
        );
        assert_eq!(v[2], Weighted::Score(2.0));
    }

    #[test]
    fn first_difference_decides_then_counts_then_global() {
        let a = [Weighted::Score(0.9)];
        let b = [Weighted::Score(0.8)];
        assert_eq!(compare(&a, 0.9, &b, 0.8), Ordering::Greater);
        let asc = [Weighted::Sort {
            asc: true,
            value: json!(1.0),
        }];
        let desc = [Weighted::Sort {
            asc: false,
            value: json!(2.0),
        }];
        // incomparable sorts with as many steps left: the global score decides
        assert_eq!(compare(&asc, 0.2, &desc, 0.5), Ordering::Less);
        let lower = [Weighted::Sort {
            asc: true,
            value: json!(1.0),
        }];
        let higher = [Weighted::Sort {
            asc: true,
            value: json!(2.0),
        }];
        assert_eq!(compare(&lower, 1.0, &higher, 1.0), Ordering::Greater);
    }
}
