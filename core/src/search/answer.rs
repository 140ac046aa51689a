//! One node's answer to a sharded search, taken apart for the merge.
//!
//! From raw bytes, hits stay unparsed text until the merge keeps them: a node sends
//! every hit up to the end of the client's page, and only the page is shown, so most
//! of a deep page's hits are read only for their ranking details.

use std::cell::{Cell, OnceCell};

use serde::Deserialize;
use crate::wire::{decode_shard, SHARD_FIELD};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::details::DetailList;
use super::query::Paging;
use super::ranking::RankKey;
use crate::error::{Code, MeiliError};

/// A hit's document: parsed, or the node's text until needed.
pub enum Hit {
    Parsed(Map<String, Value>),
    Raw(Box<RawValue>),
}

impl Hit {
    pub fn into_map(self) -> Result<Map<String, Value>, MeiliError> {
        match self {
            Hit::Parsed(map) => Ok(map),
            Hit::Raw(raw) => {
                serde_json::from_str(raw.get()).map_err(|_| bad_answer("with a hit that is not an object"))
            }
        }
    }

    /// The document, parsing it if it is still text.
    pub fn parsed(&mut self) -> Result<&Map<String, Value>, MeiliError> {
        if let Hit::Raw(raw) = self {
            *self = Hit::Parsed(
                serde_json::from_str(raw.get()).map_err(|_| bad_answer("with a hit that is not an object"))?,
            );
        }
        match self {
            Hit::Parsed(map) => Ok(map),
            Hit::Raw(_) => Err(bad_answer("with an unreadable hit")),
        }
    }
}

/// One hit with what ranks it and where it came from.
pub struct Ranked {
    /// Read from the hit when first compared: on a first page most hits never are.
    key: OnceCell<RankKey>,
    /// The key could not be read (no `_rankingScoreDetails`): it ranks last, and an
    /// answer showing the hit is refused.
    unreadable: Cell<bool>,
    pub node: usize,
    /// The hit's shard, and its place in its node's list: hits tied on `key` are ordered
    /// by these, the same whichever replica served the shard, so that paging through
    /// tied hits never repeats or skips one. Unknown shards sort last.
    pub shard: u32,
    pub position: usize,
    /// The query of a federated multi-search the hit answers, as the node numbered it
    /// (`_federation.queriesPosition`); 0 for a search.
    pub query: usize,
    pub hit: Hit,
}

impl Ranked {
    fn new(key: Option<RankKey>, node: usize, position: usize, query: usize, hit: Hit) -> Ranked {
        let shard = hit.shard();
        let cell = OnceCell::new();
        if let Some(key) = key {
            let _ = cell.set(key);
        }
        Ranked { key: cell, unreadable: Cell::new(false), node, shard, position, query, hit }
    }

    pub fn key(&self) -> &RankKey {
        self.key.get_or_init(|| {
            self.read_key().unwrap_or_else(|| {
                self.unreadable.set(true);
                RankKey { rules: Vec::new(), global: f64::NEG_INFINITY, pin: None }
            })
        })
    }

    /// `Err` when the hit has no ranking details: the node did not answer the query
    /// Miroir sent it.
    pub fn check_key(&self) -> Result<(), MeiliError> {
        self.key();
        match self.unreadable.get() {
            true => Err(no_details()),
            false => Ok(()),
        }
    }

    fn read_key(&self) -> Option<RankKey> {
        match &self.hit {
            Hit::Parsed(map) => RankKey::of_hit(map),
            Hit::Raw(raw) => {
                let head: Head = serde_json::from_str(raw.get()).ok()?;
                Some(RankKey::of_list(&head.details?, head.score))
            }
        }
    }
}

/// What ranks a hit, read from its text.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "_rankingScoreDetails", borrow)]
    details: Option<DetailList<'a>>,
    #[serde(rename = "_rankingScore")]
    score: Option<f64>,
}

/// A pinned hit's details start with `pin` (milli puts `ScoreDetails::Pin` first);
/// the key pattern, quotes unescaped, cannot occur inside a JSON string.
fn is_pinned(text: &str) -> bool {
    text.contains(r#""_rankingScoreDetails":{"pin":"#)
}

/// `_federation.queriesPosition` of a hit's text (the top-level `_federation` comes
/// before `_formatted`).
fn query_position(text: &str) -> Option<u64> {
    let at = text.find(r#""_federation":"#)?;
    let rest = &text[at..];
    let name = r#""queriesPosition":"#;
    let from = rest.find(name)? + name.len();
    let digits: &str = rest[from..].trim_start().split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

/// The shard stored at the start of `rest` (a member's value as text): the encoded
/// string (its digits never need escaping), or a plain number.
fn shard_at(rest: &str) -> Option<u32> {
    let rest = rest.trim_start();
    let value = match rest.strip_prefix('"') {
        Some(quoted) => Value::String(quoted.split('"').next()?.to_string()),
        None => Value::from(rest.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u64>().ok()?),
    };
    decode_shard(&value)
}

impl Hit {
    /// The shard Miroir tagged the document with (`u32::MAX` when not retrieved).
    pub fn shard(&self) -> u32 {
        match self {
            Hit::Parsed(map) => map.get(SHARD_FIELD).and_then(decode_shard).unwrap_or(u32::MAX),
            // The top-level field comes before `_formatted`'s copy in a node's answer.
            Hit::Raw(raw) => {
                let text = raw.get();
                let needle = concat!("\"", "_miroir_shard", "\":");
                text.find(needle).and_then(|at| shard_at(&text[at + needle.len()..])).unwrap_or(u32::MAX)
            }
        }
    }
}

/// One node's answer, taken apart.
pub struct NodeAnswer {
    /// Every field but `hits`, in the node's order.
    pub fields: Map<String, Value>,
    /// Hits ranked by the node, in its order.
    pub organic: Vec<Ranked>,
    /// Hits a dynamic search rule pinned to a position.
    pub pins: Vec<Ranked>,
    /// `estimatedTotalHits` or `totalHits`, as the paging mode has it.
    pub total: u64,
}

/// The hit field a federated multi-search adds (`indexUid`, `queriesPosition`, ...).
pub const FEDERATION_FIELD: &str = "_federation";

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub fn bad_answer(what: &str) -> MeiliError {
    MeiliError::new(Code::Internal, format!("A node answered a sharded search {what}."))
}

fn no_details() -> MeiliError {
    bad_answer("with a hit lacking `_rankingScoreDetails`")
}

impl NodeAnswer {
    fn new(
        node: usize,
        fields: Map<String, Value>,
        hits: Vec<(Option<RankKey>, usize, Hit)>,
        paging: Paging,
    ) -> Result<NodeAnswer, MeiliError> {
        let total_field = match paging {
            Paging::OffsetLimit { .. } => "estimatedTotalHits",
            Paging::Pages { .. } => "totalHits",
        };
        let total = fields
            .get(total_field)
            .and_then(Value::as_u64)
            .ok_or_else(|| bad_answer(&format!("without `{total_field}`")))?;
        let (mut organic, mut pins) = (Vec::with_capacity(hits.len()), Vec::new());
        for (position, (key, query, hit)) in hits.into_iter().enumerate() {
            let pinned = match (&key, &hit) {
                (Some(key), _) => key.pin.is_some(),
                (None, Hit::Raw(raw)) => is_pinned(raw.get()),
                (None, Hit::Parsed(_)) => false,
            };
            let ranked = Ranked::new(key, node, position, query, hit);
            if pinned {
                ranked.check_key()?;
                pins.push(ranked);
            } else {
                organic.push(ranked);
            }
        }
        Ok(NodeAnswer { fields, organic, pins, total })
    }

    /// From a parsed answer.
    pub fn from_value(node: usize, answer: Value, paging: Paging) -> Result<NodeAnswer, MeiliError> {
        let Value::Object(mut fields) = answer else {
            return Err(bad_answer("with something other than an object"));
        };
        let Some(Value::Array(hits)) = fields.shift_remove("hits") else {
            return Err(bad_answer("without `hits`"));
        };
        let hits = hits
            .into_iter()
            .map(|hit| {
                let Value::Object(hit) = hit else {
                    return Err(bad_answer("with a hit that is not an object"));
                };
                let key = RankKey::of_hit(&hit).ok_or_else(no_details)?;
                let query = hit.get(FEDERATION_FIELD).and_then(|f| f.get("queriesPosition")?.as_u64()).unwrap_or(0);
                Ok((Some(key), to_usize(query), Hit::Parsed(hit)))
            })
            .collect::<Result<_, _>>()?;
        NodeAnswer::new(node, fields, hits, paging)
    }

    /// From the node's body: hits stay text, their ranking read when first compared.
    /// `federated`: hits carry `_federation` (a federated multi-search answer).
    pub fn from_json(node: usize, body: &[u8], paging: Paging, federated: bool) -> Result<NodeAnswer, MeiliError> {
        let answer: RawAnswer = serde_json::from_slice(body)
            .map_err(|e| bad_answer(&format!("with a body that is not a search answer ({e})")))?;
        let hits = answer
            .hits
            .into_iter()
            .map(|raw| {
                let query = if federated { query_position(raw.get()).unwrap_or(0) } else { 0 };
                (None, to_usize(query), Hit::Raw(raw))
            })
            .collect();
        NodeAnswer::new(node, answer.fields, hits, paging)
    }
}

/// A node's answer with its hits left as text. Read field by field: `#[serde(flatten)]`
/// would buffer the whole answer first.
struct RawAnswer {
    hits: Vec<Box<RawValue>>,
    fields: Map<String, Value>,
}

impl<'de> Deserialize<'de> for RawAnswer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<RawAnswer, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = RawAnswer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a search answer")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawAnswer, A::Error> {
                let (mut hits, mut fields) = (None, Map::new());
                while let Some(key) = map.next_key::<String>()? {
                    if key == "hits" {
                        hits = Some(map.next_value()?);
                    } else {
                        fields.insert(key, map.next_value()?);
                    }
                }
                let hits = hits.ok_or_else(|| serde::de::Error::missing_field("hits"))?;
                Ok(RawAnswer { hits, fields })
            }
        }
        deserializer.deserialize_map(Fields)
    }
}
