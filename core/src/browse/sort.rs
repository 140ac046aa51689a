//! `sort` in a documents browse: each document's sort key, as Meilisearch computes it
//! when it merges browse answers from several machines (`build_weighted_score_value`):
//! per rule the value that ranks the document first (numbers before strings, strings
//! compared normalized), a missing value last, geo rules by distance.

use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::search::{RankKey, Rule, SortValue};

/// Earth's radius in the haversine formula Meilisearch uses (geoutils), in meters.
const EARTH_RADIUS_M: f64 = 6371e3;

/// One rule of a browse `sort`.
#[derive(Debug, Clone, PartialEq)]
pub enum SortRule {
    /// `attribute:asc|desc`; `path` may be dotted (`author.name`).
    Field { path: String, asc: bool },
    /// `_geoPoint(lat, lng):asc|desc`.
    Geo { lat: f64, lng: f64, asc: bool },
}

impl SortRule {
    /// Parses one rule; `None` for a rule Meilisearch refuses (the node says how).
    pub fn parse(text: &str) -> Option<SortRule> {
        let (member, dir) = text.rsplit_once(':')?;
        let asc = match dir {
            "asc" => true,
            "desc" => false,
            _ => return None,
        };
        if let Some(point) = member.strip_prefix("_geoPoint(").and_then(|p| p.strip_suffix(')')) {
            let (lat, lng) = point.split_once(',')?;
            return Some(SortRule::Geo { lat: lat.trim().parse().ok()?, lng: lng.trim().parse().ok()?, asc });
        }
        if member.is_empty() || member.starts_with("_geo") {
            return None;
        }
        Some(SortRule::Field { path: member.to_string(), asc })
    }

    /// The document field this rule reads (nodes must return it).
    pub fn field(&self) -> &str {
        match self {
            SortRule::Field { path, .. } => path,
            SortRule::Geo { .. } => "_geo",
        }
    }

    fn rule_of(&self, doc: &Map<String, Value>) -> Rule {
        match self {
            SortRule::Field { path, asc } => {
                let mut best: Option<SortValue> = None;
                visit_leaves(doc, path, &mut |v| {
                    let Some(value) = facet_value(v) else { return };
                    best = Some(match best.take() {
                        Some(b) if !ranks_before(*asc, &value, &b) => b,
                        _ => value,
                    });
                });
                Rule::Sort { asc: *asc, value: best.unwrap_or(SortValue::Missing) }
            }
            SortRule::Geo { lat, lng, asc } => {
                let coord = |name: &str| {
                    let mut found = None;
                    visit_leaves(doc, &format!("_geo.{name}"), &mut |v| found = v.as_f64());
                    found
                };
                let distance = match (coord("lat"), coord("lng")) {
                    (Some(a), Some(b)) => Some(haversine([*lat, *lng], [a, b])),
                    _ => None,
                };
                Rule::Geo { asc: *asc, distance }
            }
        }
    }
}

/// A document's merge key under `rules`: compare with [`crate::search::compare_ranked`]
/// (`Greater` comes first).
pub fn sort_key(doc: &Map<String, Value>, rules: &[SortRule]) -> RankKey {
    RankKey { rules: rules.iter().map(|r| r.rule_of(doc)).collect(), global: 0.0, pin: None }
}

/// Whether `a` ranks before `b` under one rule.
fn ranks_before(asc: bool, a: &SortValue, b: &SortValue) -> bool {
    let key = |v: &SortValue| RankKey { rules: vec![Rule::Sort { asc, value: v.clone() }], global: 0.0, pin: None };
    crate::search::compare_ranked(&key(a), &key(b)).is_gt()
}

/// A leaf as Meilisearch's facet databases hold it: numbers, strings normalized
/// (`normalize_facet`: trimmed, NFKD, lowercased), booleans as strings.
fn facet_value(v: &Value) -> Option<SortValue> {
    match v {
        Value::Number(n) => n.as_f64().map(SortValue::Number),
        Value::String(s) => Some(SortValue::Text(normalize(s))),
        Value::Bool(b) => Some(SortValue::Text(b.to_string())),
        _ => None,
    }
}

fn normalize(s: &str) -> String {
    s.trim().nfkd().collect::<String>().to_lowercase()
}

/// Every leaf value at a dotted `path`, as Meilisearch's permissive JSON pointer finds
/// them: `a.b` names the key `a.b` or `b` inside `a`; arrays are walked through.
pub(crate) fn visit_leaves(doc: &Map<String, Value>, path: &str, f: &mut dyn FnMut(&Value)) {
    for (key, value) in doc {
        if key == path {
            visit_value(value, f);
        } else if let Some(rest) = path.strip_prefix(key.as_str()).and_then(|r| r.strip_prefix('.')) {
            visit_nested(value, rest, f);
        }
    }
}

fn visit_nested(value: &Value, rest: &str, f: &mut dyn FnMut(&Value)) {
    match value {
        Value::Object(map) => visit_leaves(map, rest, f),
        Value::Array(items) => items.iter().for_each(|v| visit_nested(v, rest, f)),
        _ => {}
    }
}

fn visit_value(value: &Value, f: &mut dyn FnMut(&Value)) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| visit_value(v, f)),
        other => f(other),
    }
}

/// geoutils' haversine distance in meters, rounded to the millimeter as it rounds.
fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    let hav = |theta: f64| (1.0 - theta.cos()) / 2.0;
    let (phi1, phi2) = (a[0].to_radians(), b[0].to_radians());
    let (l1, l2) = (a[1].to_radians(), b[1].to_radians());
    let total = hav(phi2 - phi1) + phi1.cos() * phi2.cos() * hav(l2 - l1);
    (2.0 * EARTH_RADIUS_M * total.sqrt().asin() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::compare_ranked;
    use serde_json::json;

    fn order(docs: &[Value], rules: &[&str]) -> Vec<String> {
        let rules: Vec<SortRule> = rules.iter().map(|r| SortRule::parse(r).unwrap()).collect();
        let mut keyed: Vec<(RankKey, String)> = docs
            .iter()
            .map(|d| (sort_key(d.as_object().unwrap(), &rules), d["id"].as_str().unwrap().to_string()))
            .collect();
        keyed.sort_by(|a, b| compare_ranked(&b.0, &a.0));
        keyed.into_iter().map(|(_, id)| id).collect()
    }

    /// The documents and orders a real Meilisearch 1.50 gave for `v:asc` / `v:desc`.
    #[test]
    fn mixed_types_order_as_on_a_real_node() {
        let docs = [
            json!({"id": "z", "v": 3}),
            json!({"id": "new1", "v": 5}),
            json!({"id": "m", "v": 7}),
            json!({"id": "x", "v": "x"}),
            json!({"id": "b"}),
            json!({"id": "arr", "v": [1, 9]}),
            json!({"id": "s2", "v": "a"}),
            json!({"id": "f", "v": 2.5}),
            json!({"id": "bo", "v": true}),
        ];
        assert_eq!(order(&docs, &["v:asc"]), ["arr", "f", "z", "new1", "m", "s2", "bo", "x", "b"]);
        assert_eq!(order(&docs, &["v:desc"]), ["arr", "m", "new1", "z", "f", "x", "bo", "s2", "b"]);
    }

    #[test]
    fn strings_compare_normalized_and_nested_paths_are_found() {
        let docs = [json!({"id": "1", "a": {"n": "Zeta"}}), json!({"id": "2", "a": {"n": " alpha"}}), json!({"id": "3", "a.n": "Beta"})];
        assert_eq!(order(&docs, &["a.n:asc"]), ["2", "3", "1"]);
    }

    #[test]
    fn later_rules_break_ties_and_geo_sorts_by_distance() {
        let docs = [json!({"id": "1", "g": 1, "n": 2}), json!({"id": "2", "g": 1, "n": 1}), json!({"id": "3", "g": 0, "n": 9})];
        assert_eq!(order(&docs, &["g:desc", "n:asc"]), ["2", "1", "3"]);
        let geo = [
            json!({"id": "far", "_geo": {"lat": 10.0, "lng": 10.0}}),
            json!({"id": "none"}),
            json!({"id": "near", "_geo": {"lat": 0.1, "lng": 0.1}}),
        ];
        assert_eq!(order(&geo, &["_geoPoint(0, 0):asc"]), ["near", "far", "none"]);
        assert_eq!(order(&geo, &["_geoPoint(0,0):desc"]), ["far", "near", "none"]);
    }

    #[test]
    fn rules_meilisearch_refuses_are_not_parsed() {
        assert_eq!(SortRule::parse("title"), None);
        assert_eq!(SortRule::parse("title:up"), None);
        assert_eq!(SortRule::parse("_geo:asc"), None);
        assert_eq!(SortRule::parse("a.b:desc"), Some(SortRule::Field { path: "a.b".into(), asc: false }));
    }
}
