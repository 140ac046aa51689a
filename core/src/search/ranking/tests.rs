use std::cmp::Ordering::{self, *};

use serde_json::{json, Map, Value};

use super::*;
use crate::search::testkit::{Details, Rank};

fn key(d: &Details) -> RankKey {
    let hit = d.hit(Map::new());
    RankKey::of_hit(hit.as_object().unwrap()).unwrap()
}

fn cmp(a: &Details, b: &Details) -> Ordering {
    compare_ranked(&key(a), &key(b))
}

fn base() -> Details {
    Details::new().words(3, 3).typo(0, 2)
}

#[test]
fn details_parse_in_order_field_order_not_map_order() {
    let hit = json!({"_rankingScoreDetails": {
        "typo": {"order": 1, "typoCount": 1, "maxTypoCount": 2, "score": 0.6666666666666666},
        "words": {"order": 0, "matchingWords": 2, "maxMatchingWords": 3, "score": 0.6666666666666666}
    }, "_rankingScore": 0.5});
    let k = RankKey::of_hit(hit.as_object().unwrap()).unwrap();
    assert_eq!(k.rules, vec![Rule::Words { matching: 2, max: 3 }, Rule::Typo { count: 1, max: 2 }]);
    assert_eq!(k.global, 0.5);
}

#[test]
fn a_hit_without_details_has_no_key() {
    assert!(RankKey::of_hit(json!({"id": 1}).as_object().unwrap()).is_none());
}

#[test]
fn more_matching_words_rank_first() {
    assert_eq!(cmp(&Details::new().words(3, 3), &Details::new().words(2, 3)), Greater);
}

#[test]
fn fewer_typos_rank_first_whatever_the_max() {
    // The max typo count comes from the node's own documents; the count is the bucket.
    assert_eq!(cmp(&Details::new().words(3, 3).typo(1, 2), &Details::new().words(3, 3).typo(2, 4)), Greater);
}

#[test]
fn earlier_rules_decide_before_later_ones() {
    let a = Details::new().words(3, 3).typo(2, 2).proximity(8, 8);
    let b = Details::new().words(2, 3).typo(0, 2).proximity(8, 8);
    assert_eq!(cmp(&a, &b), Greater, "words decides before typo");
    let a = base().proximity(1, 8);
    let b = base().proximity(7, 8);
    assert_eq!(cmp(&a, &b), Less);
}

#[test]
fn attribute_compares_rank_then_word_position() {
    let a = base().attribute(Rank { rank: 3, max: 3 }, Rank { rank: 1, max: 9 });
    let b = base().attribute(Rank { rank: 2, max: 3 }, Rank { rank: 9, max: 9 });
    let c = base().attribute(Rank { rank: 3, max: 3 }, Rank { rank: 5, max: 9 });
    assert_eq!(cmp(&a, &b), Greater);
    assert_eq!(cmp(&c, &a), Greater);
}

#[test]
fn exactness_compares_match_type_then_exact_words() {
    let exact = base().exactness(3, 3, 3);
    let start = base().exactness(2, 3, 3);
    let two = base().exactness(1, 2, 3);
    let one = base().exactness(1, 1, 3);
    assert_eq!(cmp(&exact, &start), Greater);
    assert_eq!(cmp(&start, &two), Greater);
    assert_eq!(cmp(&two, &one), Greater);
}

#[test]
fn sort_numbers_come_before_strings_and_missing_values_last_both_ways() {
    for asc in [true, false] {
        let n = base().sort("year", asc, json!(1999));
        let s = base().sort("year", asc, json!("abc"));
        let missing = base().sort("year", asc, Value::Null);
        assert_eq!(cmp(&n, &s), Greater, "asc={asc}");
        assert_eq!(cmp(&s, &missing), Greater, "asc={asc}");
        assert_eq!(cmp(&n, &missing), Greater, "asc={asc}");
    }
}

#[test]
fn sort_direction_orders_values() {
    let small = |asc| base().sort("year", asc, json!(3));
    let big = |asc| base().sort("year", asc, json!(12));
    assert_eq!(cmp(&small(true), &big(true)), Greater);
    assert_eq!(cmp(&small(false), &big(false)), Less);
    // Strings compare by bytes, not as numbers.
    let a = base().sort("t", true, json!("10"));
    let b = base().sort("t", true, json!("9"));
    assert_eq!(cmp(&a, &b), Greater);
}

#[test]
fn sort_outranks_later_relevancy() {
    let a = Details::new().words(3, 3).sort("price", true, json!(5)).typo(2, 2);
    let b = Details::new().words(3, 3).sort("price", true, json!(6)).typo(0, 2);
    assert_eq!(cmp(&a, &b), Greater);
}

#[test]
fn geo_orders_by_distance_missing_last() {
    let near = |asc| base().geo(48.8, 2.3, asc, Some(10.0));
    let far = |asc| base().geo(48.8, 2.3, asc, Some(5000.0));
    let nowhere = |asc| base().geo(48.8, 2.3, asc, None);
    assert_eq!(cmp(&near(true), &far(true)), Greater);
    assert_eq!(cmp(&near(false), &far(false)), Less);
    assert_eq!(cmp(&far(true), &nowhere(true)), Greater);
    assert_eq!(cmp(&far(false), &nowhere(false)), Greater);
}

#[test]
fn vector_similarity_higher_first() {
    assert_eq!(cmp(&Details::new().vector(0.9), &Details::new().vector(0.8)), Greater);
}

#[test]
fn a_skipped_rule_ranks_after_a_ranked_one() {
    let ranked = base().proximity(1, 8);
    let skipped = base().skipped();
    assert_eq!(cmp(&ranked, &skipped), Greater);
    assert_eq!(cmp(&skipped, &base().skipped()), Equal);
}

#[test]
fn fewer_rules_rank_after_more() {
    assert_eq!(cmp(&base(), &base().proximity(1, 8)), Less);
}

#[test]
fn unknown_rules_compare_by_score_or_not_at_all() {
    let hit = |s: f64| json!({"_rankingScoreDetails": {"futureRule": {"order": 0, "score": s}}, "_rankingScore": s});
    let a = RankKey::of_hit(hit(0.9).as_object().unwrap()).unwrap();
    let b = RankKey::of_hit(hit(0.1).as_object().unwrap()).unwrap();
    assert_eq!(compare_ranked(&a, &b), Greater);
}

#[test]
fn redacted_sort_rules_are_ties() {
    let hit =
        |v: &str| json!({"_rankingScoreDetails": {"<hidden-rule-0>": {"order": 0, "value": v}}, "_rankingScore": 1.0});
    let a = RankKey::of_hit(hit("<hidden>").as_object().unwrap()).unwrap();
    assert_eq!(compare_ranked(&a, &a.clone()), Equal);
}

#[test]
fn pinned_hits_carry_their_position() {
    let k = key(&Details::new().pin(4));
    assert_eq!(k.pin, Some(4));
    assert!(k.rules.is_empty());
}

#[test]
fn hybrid_weighs_keyword_and_semantic_scores_by_ratio() {
    // Keyword hit with global 0.9, semantic hit with similarity 0.8.
    let keyword = key(&Details::new().words(9, 10));
    let semantic = key(&Details::new().vector(0.8));
    assert_eq!(compare_hybrid(&keyword, &semantic, 0.5), Greater);
    // 0.9 * 0.1 < 0.8 * 0.9
    assert_eq!(compare_hybrid(&keyword, &semantic, 0.9), Less);
}

#[test]
fn hybrid_keyword_run_uses_the_nodes_ranking_score() {
    let d = Details::new().words(2, 3).typo(1, 2).proximity(3, 8).exactness(1, 1, 3);
    let k = key(&d);
    match hybrid_values(&k).as_slice() {
        [HybridValue::Score(s)] => assert_eq!(*s, d.global()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn hybrid_runs_split_by_sort_fold_known_ranks_exactly() {
    let d = Details::new().words(2, 3).typo(1, 2).sort("p", true, json!(1)).exactness(1, 1, 3);
    let k = key(&d);
    let values = hybrid_values(&k);
    let words_typo = Rank::global(&[Rank { rank: 2, max: 3 }, Rank { rank: 2, max: 3 }]);
    match values.as_slice() {
        [HybridValue::Score(a), HybridValue::Sort(true, _), HybridValue::Score(_)] => {
            assert!((a - words_typo).abs() < 1e-12, "{a} vs {words_typo}")
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn hybrid_zero_score_against_sort_ranks_last() {
    let zero = RankKey { rules: vec![Rule::Vector(0.0)], global: 0.0, pin: None };
    let sorted =
        RankKey { rules: vec![Rule::Sort { asc: true, value: SortValue::Number(1.0) }], global: 1.0, pin: None };
    assert_eq!(compare_hybrid(&zero, &sorted, 0.5), Less);
}

#[test]
fn fixture_hits_parse() {
    let v: Value = serde_json::from_str(include_str!("../fixtures/node_a.json")).unwrap();
    for hit in v["hits"].as_array().unwrap() {
        let k = RankKey::of_hit(hit.as_object().unwrap()).unwrap();
        assert!(!k.rules.is_empty());
        assert!(!k.rules.iter().any(|r| matches!(r, Rule::Unknown(_))), "{hit}");
    }
}
