//! The shard map: the topology every Envoy receives as the filter's configuration.
//!
//! It names the nodes (each an Envoy cluster), their replica groups, the replication
//! factor and each index's shard count. It is versioned; the control plane pushes a new
//! version on every change. Parsing validates it once, so request handling can trust it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Code, MeiliError};
use crate::wire::DEFAULT_PAYLOAD_LIMIT_BYTES;

pub const DEFAULT_SHARDS: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardMap {
    pub version: u64,
    /// Replicas of each shard inside every replica group.
    pub replication_factor: u32,
    /// Shard count of an index the map does not list.
    #[serde(default = "default_shards")]
    pub default_shards: u32,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub indexes: BTreeMap<String, IndexConfig>,
    /// Envoy cluster of the control plane (task registry).
    pub control_cluster: String,
    /// Per-call timeout for requests to nodes and the control plane.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Largest client payload accepted, as Meilisearch's `--http-payload-size-limit`.
    #[serde(default = "default_payload_limit")]
    pub payload_limit_bytes: u64,
    /// The nodes' master key, for Miroir's own calls: bookkeeping reads and writes a
    /// client's key may not allow, and checking a client's key before a write fans
    /// out. `None`: every call carries the client's `Authorization`, unchecked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    /// Stable identity: placement hashes it, so renaming a node moves its shards.
    pub id: String,
    /// The Envoy cluster that reaches this node.
    pub cluster: String,
    /// Replica group; each group holds every shard `replication_factor` times.
    #[serde(default)]
    pub group: u32,
    #[serde(default)]
    pub state: NodeState,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeState {
    /// Serves reads and writes.
    #[default]
    Up,
    /// Known dead: no reads go to it.
    Down,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexConfig {
    pub shards: u32,
}

fn default_shards() -> u32 {
    DEFAULT_SHARDS
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_payload_limit() -> u64 {
    DEFAULT_PAYLOAD_LIMIT_BYTES
}

impl ShardMap {
    /// Parses and validates a map as delivered in the filter configuration.
    pub fn from_json(bytes: &[u8]) -> Result<ShardMap, MeiliError> {
        let map: ShardMap = serde_json::from_slice(bytes)
            .map_err(|e| MeiliError::new(Code::MiroirInvalidConfig, format!("invalid shard map: {e}")))?;
        map.validate()?;
        Ok(map)
    }

    pub fn validate(&self) -> Result<(), MeiliError> {
        let bad = |m: String| Err(MeiliError::new(Code::MiroirInvalidConfig, m));
        if self.nodes.is_empty() {
            return bad("the shard map names no node".into());
        }
        if self.replication_factor == 0 {
            return bad("replicationFactor must be at least 1".into());
        }
        if self.default_shards == 0 || self.indexes.values().any(|i| i.shards == 0) {
            return bad("an index needs at least one shard".into());
        }
        let mut ids: Vec<&str> = self.nodes.iter().map(|n| n.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return bad("node ids must be unique".into());
        }
        Ok(())
    }

    pub fn shards_of(&self, index: &str) -> u32 {
        self.indexes.get(index).map_or(self.default_shards, |i| i.shards)
    }

    /// Replica groups present in the map, ascending.
    pub fn groups(&self) -> Vec<u32> {
        let mut groups: Vec<u32> = self.nodes.iter().map(|n| n.group).collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }
}
