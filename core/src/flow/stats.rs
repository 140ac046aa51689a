//! `GET /indexes/{uid}/stats`: every node's stats summed, each document counted once
//! (a document lives on `copies` nodes), Miroir's shard field left out.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{encode_segment, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::placement::IndexPlacement;
use crate::shard_map::ShardMap;
use crate::wire::SHARD_FIELD;

pub(super) struct IndexStats {
    path: String,
    nodes: usize,
    copies: u64,
}

impl IndexStats {
    pub fn new(map: Arc<ShardMap>, index: &str) -> IndexStats {
        let copies = IndexPlacement::compute(&map, index).owners.first().map_or(1, Vec::len) as u64;
        IndexStats { path: format!("/indexes/{}/stats", encode_segment(index)), nodes: map.nodes.len(), copies }
    }
}

impl Flow for IndexStats {
    fn start(&mut self) -> Next {
        Next::Send((0..self.nodes).map(|n| Call::get(Target::Node(n), self.path.clone())).collect())
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if let Some(bad) = replies.iter().find(|r| r.status != 200) {
            return if bad.is_unavailable() { unavailable("these stats").into() } else { Next::Respond(Response::relay(bad.clone())) };
        }
        let answers: Vec<Value> = replies.iter().filter_map(Reply::json).collect();
        Next::Respond(Response::json(200, &merge_index_stats(&answers, self.copies)))
    }
}

/// Sums node stats; counts and sizes are divided by the copies of each document.
pub fn merge_index_stats(answers: &[Value], copies: u64) -> Value {
    let copies = copies.max(1);
    let sum = |key: &str| answers.iter().filter_map(|a| a.get(key)?.as_u64()).sum::<u64>() / copies;
    let present = |key: &str| answers.iter().any(|a| a.get(key).is_some());
    let documents = sum("numberOfDocuments");
    let raw = sum("rawDocumentDbSize");
    let mut fields: Map<String, Value> = Map::new();
    for answer in answers {
        let Some(distribution) = answer.get("fieldDistribution").and_then(Value::as_object) else { continue };
        for (field, count) in distribution {
            if field == SHARD_FIELD {
                continue;
            }
            let total = fields.get(field).and_then(Value::as_u64).unwrap_or(0) + count.as_u64().unwrap_or(0);
            fields.insert(field.clone(), json!(total));
        }
    }
    for count in fields.values_mut() {
        *count = json!(count.as_u64().unwrap_or(0) / copies);
    }
    let mut out = Map::new();
    out.insert("numberOfDocuments".into(), json!(documents));
    out.insert("rawDocumentDbSize".into(), json!(raw));
    out.insert("avgDocumentSize".into(), json!(raw.checked_div(documents).unwrap_or(0)));
    out.insert("isIndexing".into(), json!(answers.iter().any(|a| a.get("isIndexing") == Some(&json!(true)))));
    for key in ["numberOfEmbeddings", "numberOfEmbeddedDocuments"] {
        if present(key) {
            out.insert(key.into(), json!(sum(key)));
        }
    }
    out.insert("fieldDistribution".into(), Value::Object(fields));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_counted_once_and_the_shard_field_is_hidden() {
        let node = |docs: u64| json!({"numberOfDocuments": docs, "rawDocumentDbSize": docs * 100, "avgDocumentSize": 100,
            "isIndexing": false, "fieldDistribution": {"id": docs, "title": docs, SHARD_FIELD: docs}});
        let merged = merge_index_stats(&[node(10), node(6), node(4)], 2);
        assert_eq!(merged["numberOfDocuments"], 10);
        assert_eq!(merged["rawDocumentDbSize"], 1000);
        assert_eq!(merged["avgDocumentSize"], 100);
        assert_eq!(merged["fieldDistribution"], json!({"id": 10, "title": 10}));
    }
}
