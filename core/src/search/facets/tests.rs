use serde_json::{json, Map, Value};

use super::*;

fn answer(dist: Value, stats: Value) -> Map<String, Value> {
    json!({"facetDistribution": dist, "facetStats": stats}).as_object().cloned().unwrap_or_default()
}

fn merged(answers: &[Map<String, Value>], settings: &MergeSettings, candidates: Candidates) -> Value {
    let refs: Vec<&Map<String, Value>> = answers.iter().collect();
    merge_distributions(&refs, settings, candidates, &[]).unwrap()
}

fn settings(max: u64, order: FacetOrder) -> MergeSettings {
    let mut s = MergeSettings { max_values_per_facet: max, ..MergeSettings::default() };
    s.sort_facet_values_by.insert("*".into(), order);
    s
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn counts_sum_per_normalized_value_showing_the_first_spelling() {
    let a = answer(json!({"color": {"Blue": 2, "red": 1}}), json!({}));
    let b = answer(json!({"color": {" blue": 3, "Green": 1}}), json!({}));
    let out = merged(&[a, b], &MergeSettings::default(), Candidates::Exact(7));
    assert_eq!(out, json!({"color": {"Blue": 5, "Green": 1, "red": 1}}));
}

#[test]
fn facet_names_come_sorted_and_the_shard_field_is_dropped() {
    let a = answer(
        json!({"z": {}, "_miroir_shard": {"1": 3}, "a": {"x": 1}}),
        json!({"_miroir_shard": {"min": 1.0, "max": 1.0}}),
    );
    let out = merged(std::slice::from_ref(&a), &MergeSettings::default(), Candidates::Exact(3));
    assert_eq!(keys(&out), ["a", "z"]);
    assert_eq!(merge_stats(&[&a]).unwrap(), json!({}));
}

#[test]
fn alpha_puts_numbers_first_then_strings_and_cuts_both_at_max() {
    let a = answer(json!({"f": {"10": 1, "9": 1, "b": 1}}), json!({"f": {"min": 9.0, "max": 10.0}}));
    let b = answer(json!({"f": {"a": 1, "2.5": 1}}), json!({"f": {"min": 2.5, "max": 2.5}}));
    // Few candidates: milli orders numbers by their text.
    let out = merged(&[a.clone(), b.clone()], &settings(4, FacetOrder::Alpha), Candidates::Exact(10));
    assert_eq!(keys(&out["f"]), ["10", "2.5", "9", "a"]);
    // Many candidates: by facet levels, numerically.
    let out = merged(&[a, b], &settings(4, FacetOrder::Alpha), Candidates::Exact(5000));
    assert_eq!(keys(&out["f"]), ["2.5", "9", "10", "a"]);
}

#[test]
fn numeric_looking_strings_stay_strings_without_facet_stats() {
    let a = answer(json!({"code": {"10": 1, "9": 1}}), json!({}));
    let out = merged(&[a], &settings(10, FacetOrder::Alpha), Candidates::Exact(5000));
    assert_eq!(keys(&out["code"]), ["10", "9"]);
}

#[test]
fn count_orders_by_count_then_greater_value_first() {
    let a = answer(json!({"g": {"a": 2, "b": 1, "c": 1}}), json!({}));
    let b = answer(json!({"g": {"c": 2, "d": 3}}), json!({}));
    let out = merged(&[a, b], &settings(3, FacetOrder::Count), Candidates::Exact(10));
    assert_eq!(out, json!({"g": {"c": 3, "d": 3, "a": 2}}));
}

#[test]
fn per_facet_order_overrides_the_star_default() {
    let mut s = settings(10, FacetOrder::Alpha);
    s.sort_facet_values_by.insert("g".into(), FacetOrder::Count);
    let a = answer(json!({"g": {"a": 1, "b": 2}, "h": {"a": 1, "b": 2}}), json!({}));
    let out = merged(&[a], &s, Candidates::Exact(3));
    assert_eq!(keys(&out["g"]), ["b", "a"]);
    assert_eq!(keys(&out["h"]), ["a", "b"]);
}

#[test]
fn facet_levels_let_every_string_follow_numbers_that_fill_the_cut() {
    // milli checks the cut after each insert; numbers filling it exactly leave the
    // string pass unbounded. One node does this, so the merge does too.
    let a = answer(json!({"f": {"1": 1, "2": 1, "x": 1, "y": 1}}), json!({"f": {"min": 1.0, "max": 2.0}}));
    let out = merged(&[a], &settings(2, FacetOrder::Count), Candidates::Exact(4));
    assert_eq!(keys(&out["f"]), ["2", "1", "y", "x"]);
}

#[test]
fn stats_take_min_of_mins_and_max_of_maxes_keeping_the_number_form() {
    let a = answer(json!({}), json!({"p": {"min": 2.5, "max": 10.0}, "q": {"min": 1.0, "max": 1.0}}));
    let b = answer(json!({}), json!({"p": {"min": 1.0, "max": 7.0}}));
    assert_eq!(merge_stats(&[&a, &b]).unwrap(), json!({"p": {"min": 1.0, "max": 10.0}, "q": {"min": 1.0, "max": 1.0}}));
    assert!(merge_stats(&[&Map::new()]).is_none());
}

#[test]
fn facet_search_sums_orders_and_cuts() {
    let node = |hits: Value, t: u64| json!({"facetHits": hits, "facetQuery": "dr", "processingTimeMs": t});
    let a = node(json!([{"value": "Drama", "count": 3}, {"value": "Dream", "count": 1}]), 1);
    let b = node(json!([{"value": "drama", "count": 2}, {"value": "Drive", "count": 4}]), 6);
    let request = json!({"facetName": "genre", "facetQuery": "dr"});
    let out = merge_facet_search(&request, &settings(2, FacetOrder::Alpha), vec![a.clone(), b.clone()]).unwrap();
    assert_eq!(
        out,
        json!({"facetHits": [{"value": "Drama", "count": 5}, {"value": "Dream", "count": 1}], "facetQuery": "dr",
               "processingTimeMs": 6})
    );
    let out = merge_facet_search(&request, &settings(2, FacetOrder::Count), vec![a, b]).unwrap();
    assert_eq!(out["facetHits"], json!([{"value": "Drama", "count": 5}, {"value": "Drive", "count": 4}]));
}

#[test]
fn facet_search_without_query_echoes_null() {
    let a = json!({"facetHits": [], "facetQuery": null, "processingTimeMs": 0});
    let out = merge_facet_search(&json!({"facetName": "g"}), &MergeSettings::default(), vec![a]).unwrap();
    assert_eq!(out["facetQuery"], Value::Null);
    assert!(merge_facet_search(&json!({}), &MergeSettings::default(), vec![json!({})]).is_err());
    assert!(merge_facet_search(&json!({}), &MergeSettings::default(), vec![]).is_err());
}
