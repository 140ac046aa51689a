//! `_rankingScoreDetails` entries read into one flat struct.
//!
//! Every hit of every node carries them, so reading them is most of a merge's work:
//! from bytes they are deserialized straight into [`Detail`]s, without building a JSON
//! map (and hashing its keys) per rule.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One rule's entry, with every field any rule writes (milli's `to_json_map`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Detail<'a> {
    pub order: Option<u64>,
    pub matching_words: Option<u64>,
    pub max_matching_words: Option<u64>,
    pub typo_count: Option<u64>,
    pub max_typo_count: Option<u64>,
    pub score: Option<f64>,
    pub attribute_ranking_order_score: Option<f64>,
    pub query_word_distance_score: Option<f64>,
    #[serde(borrow)]
    pub match_type: Option<Cow<'a, str>>,
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

impl<'a> Detail<'a> {
    /// From an entry of an already parsed hit.
    pub fn from_map(d: &'a Map<String, Value>) -> Detail<'a> {
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
            match_type: field(d, "matchType").and_then(Value::as_str).map(Cow::Borrowed),
            value: field(d, "value").filter(|v| v.is_number() || v.is_string()).cloned(),
            distance: num("distance"),
            similarity: num("similarity"),
            position: count("position"),
        }
    }
}

/// A whole `_rankingScoreDetails` object, as (rule name, entry) pairs in its order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetailList<'a>(pub Vec<(Cow<'a, str>, Detail<'a>)>);

impl<'a> DetailList<'a> {
    pub fn from_map(details: &'a Map<String, Value>) -> DetailList<'a> {
        DetailList(
            details
                .iter()
                .filter_map(|(name, d)| Some((Cow::Borrowed(name.as_str()), Detail::from_map(d.as_object()?))))
                .collect(),
        )
    }
}

/// A key borrowed from the text when it has no escapes.
pub(super) struct Name<'a>(pub(super) Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name<'de>, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rule name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(Text)
    }
}

/// Names are borrowed from the node's text (no allocation per rule).
impl<'de: 'a, 'a> Deserialize<'de> for DetailList<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DetailList<'a>, D::Error> {
        struct Entries<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Entries<'a> {
            type Value = DetailList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of ranking rule details")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DetailList<'a>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
                    let detail: Detail<'a> = map.next_value()?;
                    out.push((name, detail));
                }
                Ok(DetailList(out))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
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
        let text = details.to_string();
        let from_bytes: DetailList = serde_json::from_str(&text).unwrap();
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
