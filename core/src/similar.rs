//! `/indexes/{uid}/similar` over shards. The reference document lives on one shard
//! only, so other nodes cannot run `similar` for it. Instead Miroir reads the document's
//! embedding from an owner of its shard and runs, on every shard, the semantic search
//! `similar` performs (`vector` + `hybrid.semanticRatio: 1.0`): checked on a real 1.50
//! node, it returns the same documents with the same `_rankingScore` and details, the
//! reference document included (dropped here). Hits merge by score, ties by shard.
//! `estimatedTotalHits` is the shards' sum less the reference document when it matched,
//! capped by `maxTotalHits` as `similar` caps it.

use serde_json::{Map, Number, Value};

use crate::id::canonical_id;
use crate::wire::strip_bookkeeping;

/// Meilisearch's defaults for `offset` and `limit`.
const DEFAULT_LIMIT: u64 = 20;

/// Body keys `similar` accepts; others are left for a node to refuse.
const KNOWN: [&str; 11] = [
    "id",
    "embedder",
    "offset",
    "limit",
    "filter",
    "attributesToRetrieve",
    "retrieveVectors",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
    "rankingScoreThreshold",
];

#[derive(Debug, Clone, PartialEq)]
pub struct SimilarQuery {
    body: Map<String, Value>,
    /// The reference document's canonical id.
    pub id: String,
    pub embedder: String,
    pub offset: u64,
    pub limit: u64,
}

/// One shard's semantic search answer.
pub struct ShardHits {
    pub shard: u32,
    pub hits: Vec<Map<String, Value>>,
    pub total: u64,
}

impl SimilarQuery {
    /// `None` when something needs a node's judgement (or is not served: performance details).
    pub fn from_body(value: Value) -> Option<SimilarQuery> {
        let Value::Object(body) = value else { return None };
        if body.keys().any(|k| !KNOWN.contains(&k.as_str())) || body.get("showPerformanceDetails").is_some_and(|v| v != &Value::Bool(false)) {
            return None;
        }
        let id = canonical_id(body.get("id")?).ok()?;
        let embedder = body.get("embedder")?.as_str()?.to_string();
        let number = |name: &str, default: u64| match body.get(name) {
            None => Some(default),
            Some(v) => v.as_u64(),
        };
        let (offset, limit) = (number("offset", 0)?, number("limit", DEFAULT_LIMIT)?);
        Some(SimilarQuery { body, id, embedder, offset, limit })
    }

    /// `GET /indexes/{uid}/similar` parameters as a body.
    pub fn from_query_string(query: &str) -> Option<SimilarQuery> {
        let mut body = Map::new();
        for (name, raw) in form_urlencoded::parse(query.as_bytes()) {
            let value = match name.as_ref() {
                "id" | "embedder" | "filter" => Value::String(raw.to_string()),
                "offset" | "limit" => Value::Number(raw.parse::<u64>().ok()?.into()),
                "retrieveVectors" | "showRankingScore" | "showRankingScoreDetails" | "showPerformanceDetails" => {
                    Value::Bool(raw.parse::<bool>().ok()?)
                }
                "rankingScoreThreshold" => Value::Number(Number::from_f64(raw.parse::<f64>().ok()?)?),
                "attributesToRetrieve" => Value::Array(raw.split(',').map(|s| Value::String(s.trim().to_string())).collect()),
                _ => return None,
            };
            body.insert(name.into_owned(), value);
        }
        SimilarQuery::from_body(Value::Object(body))
    }

    /// The semantic search one shard runs. `primary_key` must come back to recognise the
    /// reference document: the second value says whether it was added.
    pub fn shard_search(&self, shard: u32, vector: &Value, primary_key: &str) -> (Value, bool) {
        let mut body = Map::new();
        body.insert("vector".into(), vector.clone());
        body.insert("hybrid".into(), serde_json::json!({"embedder": self.embedder, "semanticRatio": 1.0}));
        let clause = Value::String(crate::wire::shard_filter(&[shard]));
        let filter = match self.body.get("filter") {
            None | Some(Value::Null) => vec![clause],
            Some(Value::Array(all)) => all.iter().cloned().chain([clause]).collect(),
            Some(other) => vec![other.clone(), clause],
        };
        body.insert("filter".into(), Value::Array(filter));
        body.insert("offset".into(), 0.into());
        body.insert("limit".into(), self.offset.saturating_add(self.limit).saturating_add(1).into());
        body.insert("showRankingScore".into(), true.into());
        for key in ["showRankingScoreDetails", "retrieveVectors", "rankingScoreThreshold"] {
            if let Some(v) = self.body.get(key) {
                body.insert(key.into(), v.clone());
            }
        }
        let added = self.adds_primary_key(primary_key);
        if let Some(Value::Array(attrs)) = self.body.get("attributesToRetrieve") {
            let mut attrs = attrs.clone();
            if added {
                attrs.push(Value::String(primary_key.to_string()));
            }
            body.insert("attributesToRetrieve".into(), Value::Array(attrs));
        }
        (Value::Object(body), added)
    }

    /// Whether the client's `attributesToRetrieve` leaves out the primary key, which the
    /// shards' searches must return.
    pub fn adds_primary_key(&self, primary_key: &str) -> bool {
        match self.body.get("attributesToRetrieve") {
            Some(Value::Array(attrs)) => !attrs.iter().any(|a| a.as_str().is_some_and(|a| a == "*" || a == primary_key)),
            _ => false,
        }
    }

    /// The client's answer from every shard's hits.
    pub fn merge(&self, shards: Vec<ShardHits>, primary_key: &str, pk_added: bool, max_total_hits: u64) -> Value {
        let mut total: u64 = 0;
        let mut reference_matched = false;
        let mut all = Vec::new();
        for ShardHits { shard, hits, total: t } in shards {
            total = total.saturating_add(t);
            for (position, hit) in hits.into_iter().enumerate() {
                if hit.get(primary_key).and_then(|v| canonical_id(v).ok()).as_deref() == Some(self.id.as_str()) {
                    reference_matched = true;
                    continue;
                }
                let score = hit.get("_rankingScore").and_then(Value::as_f64).unwrap_or(0.0);
                all.push((score, shard, position, hit));
            }
        }
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let show_score = self.body.get("showRankingScore") == Some(&Value::Bool(true));
        let hits: Vec<Value> = all
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.limit).unwrap_or(usize::MAX))
            .map(|(_, _, _, mut hit)| {
                strip_bookkeeping(&mut hit);
                if !show_score {
                    hit.shift_remove("_rankingScore");
                }
                if pk_added {
                    hit.shift_remove(primary_key);
                }
                Value::Object(hit)
            })
            .collect();
        let estimated = total.saturating_sub(u64::from(reference_matched)).min(max_total_hits);
        let mut out = Map::new();
        out.insert("hits".into(), Value::Array(hits));
        out.insert("id".into(), Value::String(self.id.clone()));
        out.insert("processingTimeMs".into(), 0.into());
        out.insert("limit".into(), self.limit.into());
        out.insert("offset".into(), self.offset.into());
        out.insert("estimatedTotalHits".into(), estimated.into());
        Value::Object(out)
    }
}

/// The single embedding of `embedder` in a document read with `retrieveVectors=true`;
/// `None` when there is none or several (`similar` then compares differently).
pub fn reference_vector(document: &Value, embedder: &str) -> Option<Value> {
    let entry = document.get("_vectors")?.get(embedder)?;
    let embeddings = match entry {
        Value::Object(o) => o.get("embeddings")?,
        other => other,
    };
    match embeddings.as_array()?.as_slice() {
        [one @ Value::Array(_)] => Some(one.clone()),
        [Value::Number(_), ..] => Some(embeddings.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SHARD_FIELD;
    use serde_json::json;

    #[test]
    fn each_shard_runs_the_semantic_search_similar_performs() {
        let q = SimilarQuery::from_body(json!({"id": 5, "embedder": "e", "limit": 3, "offset": 1, "filter": "g = 0", "attributesToRetrieve": ["g"]})).unwrap();
        assert_eq!(q.id, "5");
        let (body, added) = q.shard_search(7, &json!([0.5, 0.25]), "id");
        assert!(added);
        assert_eq!(
            body,
            json!({"vector": [0.5, 0.25], "hybrid": {"embedder": "e", "semanticRatio": 1.0}, "filter": ["g = 0", crate::wire::shard_filter(&[7])],
                   "offset": 0, "limit": 5, "showRankingScore": true, "attributesToRetrieve": ["g", "id"]})
        );
        let get = SimilarQuery::from_query_string("id=abc&embedder=e&limit=2&showRankingScore=true").unwrap();
        assert_eq!((get.id.as_str(), get.limit), ("abc", 2));
        assert_eq!(SimilarQuery::from_query_string("id=1&embedder=e&limit=x"), None);
        assert_eq!(SimilarQuery::from_body(json!({"embedder": "e"})), None);
        assert_eq!(SimilarQuery::from_body(json!({"id": 1, "embedder": "e", "showPerformanceDetails": true})), None);
    }

    #[test]
    fn hits_merge_by_score_without_the_reference_document() {
        let q = SimilarQuery::from_body(json!({"id": 5, "embedder": "e", "limit": 3, "attributesToRetrieve": ["g"]})).unwrap();
        let hit = |id: u64, score: f64| json!({"g": 1, "id": id, "_rankingScore": score, SHARD_FIELD: 0}).as_object().cloned().unwrap();
        let shards = vec![
            ShardHits { shard: 2, hits: vec![hit(5, 1.0), hit(8, 0.7), hit(9, 0.5)], total: 10 },
            ShardHits { shard: 1, hits: vec![hit(3, 0.9), hit(4, 0.7)], total: 6 },
        ];
        let answer = q.merge(shards, "id", true, 1000);
        assert_eq!(answer["hits"], json!([{"g": 1}, {"g": 1}, {"g": 1}]));
        assert_eq!(answer["estimatedTotalHits"], json!(15));
        let q = SimilarQuery::from_body(json!({"id": 5, "embedder": "e", "limit": 3, "showRankingScore": true})).unwrap();
        let shards = vec![
            ShardHits { shard: 2, hits: vec![hit(8, 0.7)], total: 4 },
            ShardHits { shard: 1, hits: vec![hit(3, 0.9), hit(4, 0.7)], total: 6 },
        ];
        let answer = q.merge(shards, "id", false, 8);
        let ids: Vec<Value> = answer["hits"].as_array().unwrap().iter().map(|h| h["id"].clone()).collect();
        assert_eq!(ids, [json!(3), json!(4), json!(8)], "ties by shard");
        assert_eq!(answer["estimatedTotalHits"], json!(8), "capped by maxTotalHits");
        assert_eq!(answer["id"], json!("5"));
    }

    #[test]
    fn the_reference_vector_is_its_single_embedding() {
        let doc = json!({"id": 5, "_vectors": {"e": {"embeddings": [[0.1, 0.2]], "regenerate": false}}});
        assert_eq!(reference_vector(&doc, "e"), Some(json!([0.1, 0.2])));
        assert_eq!(reference_vector(&doc, "other"), None);
        let two = json!({"_vectors": {"e": {"embeddings": [[0.1], [0.2]]}}});
        assert_eq!(reference_vector(&two, "e"), None);
    }
}
