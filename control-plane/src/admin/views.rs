//! What the admin API shows: the status for people and scripts, and the
//! Elasticsearch-style views (`/_cluster/health`, `/_cluster/nodes`, `/_shards`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::state::ClusterState;
use crate::xds::EnvoyStatus;

pub fn node(state: &ClusterState, id: &str) -> Value {
    let Some(n) = state.node(id) else { return Value::Null };
    json!({
        "id": n.id,
        "address": n.address,
        "group": n.group,
        "cluster": n.cluster(),
        "draining": n.draining,
        "down": n.down,
        "state": n.map_state(),
        "role": n.role(),
    })
}

pub fn groups(state: &ClusterState) -> Value {
    let mut groups: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for n in &state.nodes {
        groups.entry(n.group).or_default().push(&n.id);
    }
    Value::Array(groups.into_iter().map(|(group, nodes)| json!({"group": group, "nodes": nodes})).collect())
}

pub fn status(state: &ClusterState, envoys: &BTreeMap<String, EnvoyStatus>, leader: Option<&str>) -> Value {
    json!({
        "version": state.version,
        "leader": leader,
        "health": state.health(),
        "replicationFactor": state.replication_factor,
        "defaultShards": state.default_shards,
        "nodes": state.nodes.iter().map(|n| node(state, &n.id)).collect::<Vec<_>>(),
        "groups": groups(state),
        "indexes": state.indexes,
        "envoys": envoys,
    })
}

/// Elasticsearch's `_cluster/health` fields, over Miroir's shards.
pub fn cluster_health(state: &ClusterState) -> Value {
    let h = state.health();
    json!({
        "cluster_name": "miroir",
        "status": h.status,
        "number_of_nodes": h.number_of_nodes,
        "number_of_data_nodes": h.live_nodes,
        "active_shards": h.active_shards,
        "under_replicated_shards": h.under_replicated_shards,
        "unassigned_shards": h.unavailable_shards,
        "shard_map_version": state.version,
    })
}

pub fn cluster_nodes(state: &ClusterState) -> Value {
    let nodes: serde_json::Map<String, Value> = state.nodes.iter().map(|n| (n.id.clone(), node(state, &n.id))).collect();
    json!({"cluster_name": "miroir", "nodes": nodes})
}

pub fn shards(state: &ClusterState, index: &str) -> Value {
    json!({
        "index": index,
        "registered": state.indexes.contains_key(index),
        "shards": state.shard_copies(index),
    })
}

/// A human summary for `miroir status`.
pub fn render_status(status: &Value) -> String {
    let mut out = String::new();
    let h = &status["health"];
    out.push_str(&format!(
        "cluster: {}   shard map version {}   leader: {}\n",
        h["status"].as_str().unwrap_or("?"),
        status["version"],
        status["leader"].as_str().unwrap_or("this replica"),
    ));
    out.push_str(&format!(
        "shards: {} active, {} under-replicated, {} unavailable   replication factor {}\n\nnodes:\n",
        h["activeShards"], h["underReplicatedShards"], h["unavailableShards"], status["replicationFactor"]
    ));
    for n in status["nodes"].as_array().into_iter().flatten() {
        let flags = match n["role"].as_str() {
            Some("joining") => " (joining: being filled)",
            Some("leaving") => " (leaving: being emptied)",
            _ => "",
        };
        out.push_str(&format!(
            "  {:<12} {:<22} group {}  {}{}\n",
            n["id"].as_str().unwrap_or("?"),
            n["address"].as_str().unwrap_or("?"),
            n["group"],
            n["state"].as_str().unwrap_or("?"),
            flags
        ));
    }
    if let Some(r) = status.get("rebalance").filter(|r| r.is_object()) {
        out.push_str(&render_rebalance(r));
    }
    let indexes = status["indexes"].as_object().filter(|i| !i.is_empty());
    if let Some(indexes) = indexes {
        out.push_str("\nindexes:\n");
        for (uid, shards) in indexes {
            out.push_str(&format!("  {uid:<24} {shards} shards\n"));
        }
    }
    out.push_str("\nenvoys (ACKed versions):\n");
    let envoys = status["envoys"].as_object().cloned().unwrap_or_default();
    if envoys.is_empty() {
        out.push_str("  none connected yet\n");
    }
    for (id, e) in envoys {
        let acked = |t: &str| e["types"][t]["ackedVersion"].as_str().map(short).unwrap_or_else(|| "-".into());
        let nacks: u64 = ["clusters", "endpoints", "routes", "map"].iter().filter_map(|t| e["types"][*t]["nacks"].as_u64()).sum();
        out.push_str(&format!(
            "  {id:<16} map {}  clusters {}  endpoints {}  routes {}  streams {}  nacks {nacks}\n",
            e["mapVersion"].as_u64().map_or("-".into(), |v| v.to_string()),
            acked("clusters"),
            acked("endpoints"),
            acked("routes"),
            e["streams"],
        ));
    }
    out
}

/// The rebalancer's progress in one paragraph.
pub fn render_rebalance(r: &Value) -> String {
    let done = r["shardsDone"].as_array().map_or(0, Vec::len);
    let waiting: Vec<&str> = r["waiting"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut out = format!(
        "\nrebalance: {}   shards {done}/{} in sync   copied {}  deleted {}  cleaned {}  compared {}  ({:.0} docs/s)\n",
        r["phase"].as_str().filter(|p| !p.is_empty()).unwrap_or("idle"),
        r["shardsTotal"],
        r["documentsCopied"],
        r["documentsDeleted"],
        r["documentsCleaned"],
        r["documentsCompared"],
        r["rate"].as_f64().unwrap_or(0.0),
    );
    if !waiting.is_empty() {
        out.push_str(&format!("  waiting: {}\n", waiting.join(", ")));
    }
    if let Some(e) = r["lastError"].as_str() {
        out.push_str(&format!("  last error: {e}\n"));
    }
    out
}

fn short(v: &str) -> String {
    v.chars().take(8).collect()
}
