//! `GET /indexes/{uid}/stats`: the serving nodes' stats summed, each document counted
//! once (a document lives on `copies` serving nodes), Miroir's bookkeeping fields left
//! out. A joining node holds partial copies while the rebalancer fills it: it is not
//! asked (its documents are counted on the nodes still serving them).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{encode_segment, unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::placement::IndexPlacement;
use crate::shard_map::ShardMap;
use crate::wire::is_bookkeeping;

pub(super) struct IndexStats {
    path: String,
    /// Serving nodes (active or leaving); `None` when one is down (its documents could
    /// not be counted).
    nodes: Option<Vec<usize>>,
    copies: u64,
}

impl IndexStats {
    pub fn new(map: Arc<ShardMap>, index: &str) -> IndexStats {
        let copies = IndexPlacement::compute(&map, index).copies() as u64;
        let serving = map.nodes.iter().enumerate().filter(|(_, n)| n.role.serving());
        let nodes = serving.map(|(i, n)| n.state.serves_reads().then_some(i)).collect();
        IndexStats { path: format!("/indexes/{}/stats", encode_segment(index)), nodes, copies }
    }
}

impl Flow for IndexStats {
    fn start(&mut self) -> Next {
        let Some(nodes) = &self.nodes else { return unavailable("these stats").into() };
        Next::Send(nodes.iter().map(|&n| Call::get(Target::Node(n), self.path.clone())).collect())
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
            if is_bookkeeping(field) {
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
    fn documents_are_counted_once_and_the_bookkeeping_fields_are_hidden() {
        let node = |docs: u64| json!({"numberOfDocuments": docs, "rawDocumentDbSize": docs * 100, "avgDocumentSize": 100,
            "isIndexing": false, "fieldDistribution": {"id": docs, "title": docs, "_miroir_shard": docs, "_miroir_version": docs}});
        let merged = merge_index_stats(&[node(10), node(6), node(4)], 2);
        assert_eq!(merged["numberOfDocuments"], 10);
        assert_eq!(merged["rawDocumentDbSize"], 1000);
        assert_eq!(merged["avgDocumentSize"], 100);
        assert_eq!(merged["fieldDistribution"], json!({"id": 10, "title": 10}));
    }
}
