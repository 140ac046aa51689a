//! `_rankingScoreDetails` entries read into one flat struct.
//!
//! Every hit of every node carries them, so reading them is most of a merge's work:
//! from bytes they are deserialized straight into [`Detail`]s, without building a JSON
//! map (and hashing its keys) per rule.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One rule's entry, with every field any rule writes (milli's `to_json_map`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Detail {
    pub order: Option<u64>,
    pub matching_words: Option<u64>,
    pub max_matching_words: Option<u64>,
    pub typo_count: Option<u64>,
    pub max_typo_count: Option<u64>,
    pub score: Option<f64>,
    pub attribute_ranking_order_score: Option<f64>,
    pub query_word_distance_score: Option<f64>,
    pub match_type: Option<String>,
    /// A sort value, or a geo point: only a number or a string is a sort value.
    pub value: Option<Value>,
    pub distance: Option<f64>,
    pub similarity: Option<f64>,
    pub position: Option<u64>,
}

/// A detail's field. Details have a handful of keys: a scan beats hashing each lookup.
fn field<'a>(detail: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    detail.iter().find_map(|(k, v)| (k == key).then_some(v))
}

impl Detail {
    /// From an entry of an already parsed hit.
    pub fn from_map(d: &Map<String, Value>) -> Detail {
        let count = |k| field(d, k).and_then(Value::as_u64);
        let num = |k| field(d, k).and_then(Value::as_f64);
        Detail {
            order: count("order"),
            matching_words: count("matchingWords"),
            max_matching_words: count("maxMatchingWords"),
            typo_count: count("typoCount"),
            max_typo_count: count("maxTypoCount"),
            score: num("score"),
            attribute_ranking_order_score: num("attributeRankingOrderScore"),
            query_word_distance_score: num("queryWordDistanceScore"),
            match_type: field(d, "matchType").and_then(Value::as_str).map(str::to_string),
            value: field(d, "value").filter(|v| v.is_number() || v.is_string()).cloned(),
            distance: num("distance"),
            similarity: num("similarity"),
            position: count("position"),
        }
    }
}

/// A whole `_rankingScoreDetails` object, as (rule name, entry) pairs in its order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailList(pub Vec<(String, Detail)>);

impl DetailList {
    pub fn from_map(details: &Map<String, Value>) -> DetailList {
        DetailList(
            details.iter().filter_map(|(name, d)| Some((name.clone(), Detail::from_map(d.as_object()?)))).collect(),
        )
    }
}

impl<'de> Deserialize<'de> for DetailList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DetailList, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = DetailList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of ranking rule details")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DetailList, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(entry) = map.next_entry::<String, Detail>()? {
                    out.push(entry);
                }
                Ok(DetailList(out))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bytes_and_parsed_maps_read_the_same_details() {
        let details = json!({
            "words": {"order": 0, "matchingWords": 2, "maxMatchingWords": 3, "score": 0.6666666666666666},
            "exactness": {"order": 1, "matchType": "noExactMatch", "matchingWords": 1, "maxMatchingWords": 3, "score": 0.1},
            "year:desc": {"order": 2, "value": 2012.0},
            "_geoPoint(1, 2):asc": {"order": 3, "value": {"lat": 1.0, "lng": 2.0}, "distance": 10.5},
            "vectorSort": {"order": 4, "similarity": null},
            "futureRule": {"order": 5, "somethingNew": [1, 2]}
        });
        let from_bytes: DetailList = serde_json::from_str(&details.to_string()).unwrap();
        let from_map = DetailList::from_map(details.as_object().unwrap());
        let mut from_bytes_sort_values_only = from_bytes.clone();
        for (_, d) in &mut from_bytes_sort_values_only.0 {
            d.value = d.value.take().filter(|v| v.is_number() || v.is_string());
        }
        assert_eq!(from_bytes_sort_values_only, from_map);
        assert_eq!(from_map.0[1].1.match_type.as_deref(), Some("noExactMatch"));
        assert_eq!(from_map.0[3].1.distance, Some(10.5));
    }
}
