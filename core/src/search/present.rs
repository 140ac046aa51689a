//! What the client sees of a hit: no bookkeeping field (shard, version), no attribute added for the merge,
//! ranking scores only if asked, and (federated) the client's query number.
//!
//! A hit still in the node's text is edited as text when only top-level keys go (the
//! usual case): its fields are copied as they are, never parsed into maps and
//! written again.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::answer::{bad_answer, Hit, FEDERATION_FIELD};
use super::details::Name;
use super::fields;
use super::query::SearchQuery;
use crate::error::MeiliError;
use crate::wire::{is_bookkeeping, strip_bookkeeping, BOOKKEEPING_FIELDS};

/// A hit ready for the client's answer.
pub enum Shown {
    Parsed(Value),
    Raw(Box<RawValue>),
}

impl Shown {
    pub fn into_value(self) -> Result<Value, MeiliError> {
        match self {
            Shown::Parsed(v) => Ok(v),
            Shown::Raw(raw) => serde_json::from_str(raw.get()).map_err(|_| bad_answer("with a hit that is not an object")),
        }
    }

    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Shown::Parsed(v) => Cow::Owned(v.to_string()),
            Shown::Raw(raw) => Cow::Borrowed(raw.get()),
        }
    }
}

/// Presents one hit. `query_position` rewrites `_federation.queriesPosition`.
pub fn present(hit: Hit, query: &SearchQuery, added: &[String], query_position: Option<usize>) -> Result<Shown, MeiliError> {
    let only_shard = added.iter().all(|a| is_bookkeeping(a));
    if let (Hit::Raw(raw), true) = (&hit, only_shard) {
        let drop = Drop { score: !query.shows_ranking_score(), details: !query.shows_ranking_score_details() };
        if let Some(text) = edit_text(raw.get(), drop, query_position) {
            if let Ok(raw) = RawValue::from_string(text) {
                return Ok(Shown::Raw(raw));
            }
        }
    }
    let mut map = hit.into_map()?;
    if let (Some(position), Some(Value::Object(federation))) = (query_position, map.get_mut(FEDERATION_FIELD)) {
        federation.insert("queriesPosition".into(), position.into());
    }
    Ok(Shown::Parsed(present_hit(map, query, added)))
}

/// The parsed form of [`present`].
pub fn present_hit(mut hit: Map<String, Value>, query: &SearchQuery, added: &[String]) -> Value {
    if !query.shows_ranking_score() {
        hit.shift_remove("_rankingScore");
    }
    if !query.shows_ranking_score_details() {
        hit.shift_remove("_rankingScoreDetails");
    }
    strip_bookkeeping(&mut hit);
    if let Some(Value::Object(matches)) = hit.get_mut("_matchesPosition") {
        strip_bookkeeping(matches);
    }
    if let Some(Value::Object(formatted)) = hit.get_mut("_formatted") {
        strip_bookkeeping(formatted);
        for attr in added {
            fields::remove_path(formatted, attr);
        }
    }
    for attr in added {
        fields::remove_path(&mut hit, attr);
    }
    Value::Object(hit)
}

#[derive(Clone, Copy)]
struct Drop {
    score: bool,
    details: bool,
}

/// An object's top-level entries, values left as text.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Entries<'a>, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'a>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                    out.push((key, map.next_value::<&'a RawValue>()?));
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The hit's text without the fields the client must not see; `None` when it cannot be
/// read as an object.
fn edit_text(text: &str, drop: Drop, query_position: Option<usize>) -> Option<String> {
    let Entries(entries) = serde_json::from_str(text).ok()?;
    let mut out = String::with_capacity(text.len());
    out.push('{');
    for (key, value) in entries {
        let value = match key.as_ref() {
            name if is_bookkeeping(name) => continue,
            "_rankingScore" if drop.score => continue,
            "_rankingScoreDetails" if drop.details => continue,
            "_formatted" | "_matchesPosition" if BOOKKEEPING_FIELDS.iter().any(|f| value.get().contains(f)) => {
                Cow::Owned(edit_text(value.get(), Drop { score: false, details: false }, None)?)
            }
            FEDERATION_FIELD if query_position.is_some() => {
                let mut federation: Map<String, Value> = serde_json::from_str(value.get()).ok()?;
                federation.insert("queriesPosition".into(), query_position.into());
                Cow::Owned(Value::Object(federation).to_string())
            }
            _ => Cow::Borrowed(value.get()),
        };
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key.as_ref()).ok()?);
        out.push(':');
        out.push_str(&value);
    }
    out.push('}');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SHARD_FIELD;
    use serde_json::json;

    fn raw(v: Value) -> Hit {
        Hit::Raw(RawValue::from_string(v.to_string()).unwrap())
    }

    #[test]
    fn text_and_parsed_hits_are_presented_alike() {
        let hit = json!({"id": 1, "t\"x": "a", "_miroir_shard": 3, "_federation": {"indexUid": "m", "queriesPosition": 0},
            "_formatted": {"id": "1", "_miroir_shard": "3"}, "_matchesPosition": {"t": []}, "_rankingScore": 0.5,
            "_rankingScoreDetails": {"words": {}}});
        for query in [json!({}), json!({"showRankingScore": true}), json!({"showRankingScoreDetails": true})] {
            let q = SearchQuery::from_value(query).unwrap();
            let added = vec![SHARD_FIELD.to_string()];
            let from_text = present(raw(hit.clone()), &q, &added, Some(2)).unwrap();
            assert!(matches!(from_text, Shown::Raw(_)));
            let parsed = present(Hit::Parsed(hit.as_object().unwrap().clone()), &q, &added, Some(2)).unwrap();
            let (a, b) = (from_text.into_value().unwrap(), parsed.into_value().unwrap());
            assert_eq!(a, b);
            let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(&a), keys(&b), "same field order");
            assert_eq!(a["_federation"]["queriesPosition"], json!(2));
            assert!(a.get(SHARD_FIELD).is_none() && a["_formatted"].get(SHARD_FIELD).is_none());
        }
    }
}
