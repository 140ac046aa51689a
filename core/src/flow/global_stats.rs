//! `GET /stats`: every node's stats, summed. Each index is merged as
//! `GET /indexes/{uid}/stats` is (documents counted once); database sizes are the
//! fleet's disk use, so they add up; `lastUpdate` is the latest of any node.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::stats::merge_index_stats;
use super::{unavailable, Call, Flow, Next, Reply, Response, Target};
use crate::placement::IndexPlacement;
use crate::shard_map::ShardMap;
use crate::timestamp::Instant;

pub(super) struct GlobalStats {
    map: Arc<ShardMap>,
}

impl GlobalStats {
    pub fn new(map: Arc<ShardMap>) -> GlobalStats {
        GlobalStats { map }
    }
}

impl Flow for GlobalStats {
    fn start(&mut self) -> Next {
        Next::Send((0..self.map.nodes.len()).map(|n| Call::get(Target::Node(n), "/stats".into())).collect())
    }

    fn on_replies(&mut self, replies: Vec<Reply>) -> Next {
        if let Some(bad) = replies.iter().find(|r| r.status != 200) {
            return if bad.is_unavailable() { unavailable("these stats").into() } else { Next::Respond(Response::relay(bad.clone())) };
        }
        let answers: Vec<Value> = replies.iter().filter_map(Reply::json).collect();
        let copies = |index: &str| IndexPlacement::compute(&self.map, index).owners.first().map_or(1, Vec::len) as u64;
        Next::Respond(Response::json(200, &merge_global_stats(&answers, copies)))
    }
}

/// Sums node answers of `GET /stats`; `copies(index)` is how many nodes hold each document.
pub fn merge_global_stats(answers: &[Value], copies: impl Fn(&str) -> u64) -> Value {
    let sum = |key: &str| answers.iter().filter_map(|a| a.get(key)?.as_u64()).sum::<u64>();
    let last_update = answers
        .iter()
        .filter_map(|a| a.get("lastUpdate")?.as_str())
        .filter_map(|s| Some((Instant::parse(s)?, s)))
        .max_by_key(|(at, _)| *at)
        .map_or(Value::Null, |(_, s)| Value::String(s.to_string()));
    let mut names: Vec<&String> = answers.iter().filter_map(|a| a.get("indexes")?.as_object()).flat_map(|m| m.keys()).collect();
    names.sort();
    names.dedup();
    let mut indexes = Map::new();
    for name in names {
        let per_node: Vec<Value> = answers.iter().filter_map(|a| a.get("indexes")?.get(name).cloned()).collect();
        indexes.insert(name.clone(), merge_index_stats(&per_node, copies(name)));
    }
    let mut out = Map::new();
    out.insert("databaseSize".into(), sum("databaseSize").into());
    if answers.iter().any(|a| a.get("usedDatabaseSize").is_some()) {
        out.insert("usedDatabaseSize".into(), sum("usedDatabaseSize").into());
    }
    out.insert("lastUpdate".into(), last_update);
    out.insert("indexes".into(), Value::Object(indexes));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::wire::SHARD_FIELD;

    #[test]
    fn sizes_add_up_documents_count_once_and_the_latest_update_wins() {
        let node = |docs: u64, last: &str| {
            json!({"databaseSize": 1000, "usedDatabaseSize": 600, "lastUpdate": last, "indexes": {
                "movies": {"numberOfDocuments": docs, "rawDocumentDbSize": docs * 10, "avgDocumentSize": 10, "isIndexing": false,
                           "fieldDistribution": {"id": docs, SHARD_FIELD: docs}}}})
        };
        let merged = merge_global_stats(
            &[node(6, "2026-01-01T00:00:09Z"), node(4, "2026-01-01T00:00:10.5Z"), node(10, "2026-01-01T00:00:10Z")],
            |_| 2,
        );
        assert_eq!(merged["databaseSize"], 3000);
        assert_eq!(merged["usedDatabaseSize"], 1800);
        assert_eq!(merged["lastUpdate"], "2026-01-01T00:00:10.5Z");
        assert_eq!(merged["indexes"]["movies"]["numberOfDocuments"], 10);
        assert_eq!(merged["indexes"]["movies"]["fieldDistribution"], json!({"id": 10}));
    }
}
