//! Test helpers: `_rankingScoreDetails` built exactly as Meilisearch 1.50 writes them
//! (`ScoreDetails::to_json_map` in milli's `score_details.rs`), with `_rankingScore`
//! computed by the same rank arithmetic, and node answers around them.

use serde_json::{json, Map, Value};

/// `milli::score_details::Rank`: `rank` of `max_rank`, higher better.
#[derive(Debug, Clone, Copy)]
pub struct Rank {
    pub rank: u64,
    pub max: u64,
}

impl Rank {
    pub fn score(self) -> f64 {
        self.rank as f64 / self.max as f64
    }

    /// `Rank::merge`: the outer rank refined by the inner one.
    pub fn merge(outer: Rank, inner: Rank) -> Rank {
        Rank { rank: outer.rank.saturating_sub(1) * inner.max + inner.rank, max: outer.max * inner.max }
    }

    /// `Rank::global_score`.
    pub fn global(ranks: &[Rank]) -> f64 {
        ranks.iter().fold(Rank { rank: 1, max: 1 }, |acc, r| Rank::merge(acc, *r)).score()
    }
}

/// Builds one hit's details rule by rule, in ranking-rule order.
#[derive(Debug, Clone, Default)]
pub struct Details {
    map: Map<String, Value>,
    order: u64,
    ranks: Vec<Rank>,
    semantic: Option<f64>,
}

impl Details {
    pub fn new() -> Details {
        Details::default()
    }

    fn push(mut self, name: &str, mut fields: Map<String, Value>) -> Details {
        fields.insert("order".into(), self.order.into());
        // `order` first, as Meilisearch writes it.
        let mut entry = Map::new();
        entry.insert("order".into(), self.order.into());
        for (k, v) in fields {
            if k != "order" {
                entry.insert(k, v);
            }
        }
        self.map.insert(name.into(), Value::Object(entry));
        self.order += 1;
        self
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    pub fn words(mut self, matching: u64, max: u64) -> Details {
        let r = Rank { rank: matching, max };
        self.ranks.push(r);
        self.push("words", Self::obj(json!({"matchingWords": matching, "maxMatchingWords": max, "score": r.score()})))
    }

    pub fn typo(mut self, count: u64, max: u64) -> Details {
        let r = Rank { rank: (max + 1).saturating_sub(count), max: max + 1 };
        self.ranks.push(r);
        self.push("typo", Self::obj(json!({"typoCount": count, "maxTypoCount": max, "score": r.score()})))
    }

    pub fn proximity(mut self, rank: u64, max: u64) -> Details {
        let r = Rank { rank, max };
        self.ranks.push(r);
        self.push("proximity", Self::obj(json!({"score": r.score()})))
    }

    /// The unified `attribute` rule (fid then position).
    pub fn attribute(mut self, fid: Rank, position: Rank) -> Details {
        self.ranks.push(fid);
        self.ranks.push(position);
        self.push(
            "attribute",
            Self::obj(json!({
                "attributeRankingOrderScore": fid.score(),
                "queryWordDistanceScore": position.score(),
                "score": Rank::global(&[fid, position]),
            })),
        )
    }

    /// `exactness`: 3 exact match, 2 matches start, 1 none (then `matching` of `max`).
    pub fn exactness(mut self, match_type: u8, matching: u64, max: u64) -> Details {
        let attr = Rank { rank: u64::from(match_type), max: 3 };
        let words = Rank { rank: matching + 1, max: max + 1 };
        self.ranks.push(attr);
        self.ranks.push(words);
        let fields = match match_type {
            3 => json!({"matchType": "exactMatch", "score": attr.score()}),
            2 => json!({"matchType": "matchesStart", "score": attr.score()}),
            _ => json!({"matchType": "noExactMatch", "matchingWords": matching, "maxMatchingWords": max,
                        "score": Rank::global(&[attr, words])}),
        };
        self.push("exactness", Self::obj(fields))
    }

    pub fn sort(self, field: &str, asc: bool, value: Value) -> Details {
        let name = format!("{field}:{}", if asc { "asc" } else { "desc" });
        self.push(&name, Self::obj(json!({"value": value})))
    }

    pub fn geo(self, lat: f64, lng: f64, asc: bool, distance: Option<f64>) -> Details {
        let name = format!("_geoPoint({lat}, {lng}):{}", if asc { "asc" } else { "desc" });
        let value = if distance.is_some() { json!({"lat": 1.0, "lng": 2.0}) } else { Value::Null };
        self.push(&name, Self::obj(json!({"value": value, "distance": distance})))
    }

    pub fn vector(mut self, similarity: f64) -> Details {
        self.semantic = Some(similarity);
        self.push("vectorSort", Self::obj(json!({"similarity": similarity})))
    }

    pub fn skipped(mut self) -> Details {
        self.ranks.push(Rank { rank: 0, max: 1 });
        self.push("skipped", Map::new())
    }

    pub fn pin(self, position: u64) -> Details {
        self.push("pin", Self::obj(json!({"position": position})))
    }

    /// `_rankingScore` as Meilisearch computes it.
    pub fn global(&self) -> f64 {
        self.semantic.unwrap_or_else(|| Rank::global(&self.ranks))
    }

    /// A hit: the document, then `_rankingScore` and `_rankingScoreDetails`.
    pub fn hit(&self, mut doc: Map<String, Value>) -> Value {
        doc.insert("_rankingScore".into(), self.global().into());
        doc.insert("_rankingScoreDetails".into(), Value::Object(self.map.clone()));
        Value::Object(doc)
    }
}

/// A node's offset/limit answer in Meilisearch 1.50's field order.
pub fn offset_answer(hits: Vec<Value>, total: u64, time: u64) -> Value {
    json!({"hits": hits, "query": "q", "processingTimeMs": time, "limit": 9999, "offset": 0,
           "estimatedTotalHits": total, "requestUid": "0190f1e4-0000-7000-8000-000000000000"})
}

/// A node's page answer in Meilisearch 1.50's field order.
pub fn page_answer(hits: Vec<Value>, total: u64, time: u64) -> Value {
    json!({"hits": hits, "query": "q", "processingTimeMs": time, "hitsPerPage": 9999, "page": 1,
           "totalPages": 1, "totalHits": total, "requestUid": "0190f1e4-0000-7000-8000-000000000000"})
}
