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
    /// Per shard, how many write owners must accept a write before it is acknowledged.
    #[serde(default = "default_write_quorum")]
    pub write_quorum: u32,
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
    /// Where the node stands in a rebalance: which placement (serving or target) counts it.
    #[serde(default)]
    pub role: NodeRole,
}

/// Whether a node answers, as the control plane last saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeState {
    /// Serves reads and writes.
    #[default]
    Up,
    /// Known dead: neither reads nor writes go to it (writes to its shards are missed).
    Down,
    /// Back from down and being repaired: takes writes, serves no reads, is no copy source.
    Recovering,
}

impl NodeState {
    /// Writes (and deletes) are sent to it.
    pub fn takes_writes(self) -> bool {
        matches!(self, NodeState::Up | NodeState::Recovering)
    }

    /// Reads may be served by it.
    pub fn serves_reads(self) -> bool {
        self == NodeState::Up
    }
}

/// A node's part in placement. The serving set C (active + leaving) decides `owners`
/// (reads); the target set T (active + joining) is where shards are moving to. Writes
/// go to the owners under both, so a joining node is filled while a leaving one is
/// still complete.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeRole {
    #[default]
    Active,
    /// Being filled by the rebalancer: takes writes for its target shards, serves no reads.
    Joining,
    /// Being drained: still serves its shards until their new owners are filled.
    Leaving,
}

impl NodeRole {
    /// Member of the serving set C.
    pub fn serving(self) -> bool {
        matches!(self, NodeRole::Active | NodeRole::Leaving)
    }

    /// Member of the target set T.
    pub fn target(self) -> bool {
        matches!(self, NodeRole::Active | NodeRole::Joining)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexConfig {
    pub shards: u32,
    /// The name placement hashes for this index; absent: the uid itself. A swap
    /// exchanges two indexes' entries (a rename moves one), so every document stays
    /// on the nodes that own it while the name it is reached by changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_key: Option<String>,
    /// A swap is under way: requests naming this index wait for the control plane
    /// to lift the fence (see `docs/design.md`, "Index swap").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fenced: bool,
}

impl IndexConfig {
    pub fn with_shards(shards: u32) -> IndexConfig {
        IndexConfig { shards, placement_key: None, fenced: false }
    }
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
fn default_write_quorum() -> u32 {
    1
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
        if self.write_quorum == 0 {
            return bad("writeQuorum must be at least 1".into());
        }
        if self.default_shards == 0 || self.indexes.values().any(|i| i.shards == 0) {
            return bad("an index needs at least one shard".into());
        }
        let most = std::iter::once(self.default_shards).chain(self.indexes.values().map(|i| i.shards)).max().unwrap_or(0);
        if most > crate::wire::MAX_SHARDS {
            return bad(format!("an index has at most {} shards", crate::wire::MAX_SHARDS));
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

    /// The name placement hashes for `index` (its own uid unless a swap moved it).
    pub fn placement_key_of<'a>(&'a self, index: &'a str) -> &'a str {
        self.indexes.get(index).and_then(|i| i.placement_key.as_deref()).unwrap_or(index)
    }

    /// A swap involving `index` is under way.
    pub fn is_fenced(&self, index: &str) -> bool {
        self.indexes.get(index).is_some_and(|i| i.fenced)
    }

    /// Replica groups present in the map, ascending.
    pub fn groups(&self) -> Vec<u32> {
        let mut groups: Vec<u32> = self.nodes.iter().map(|n| n.group).collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebalance_fields_parse_with_defaults() {
        let old = br#"{"version": 1, "replicationFactor": 2, "controlCluster": "c",
                       "nodes": [{"id": "a", "cluster": "ca"}, {"id": "b", "cluster": "cb", "state": "down"}]}"#;
        let map = ShardMap::from_json(old).unwrap();
        assert_eq!(map.write_quorum, 1);
        assert!(map.nodes.iter().all(|n| n.role == NodeRole::Active));
        let new = br#"{"version": 2, "replicationFactor": 2, "controlCluster": "c", "writeQuorum": 2,
                       "nodes": [{"id": "a", "cluster": "ca", "state": "recovering", "role": "joining"},
                                 {"id": "b", "cluster": "cb", "role": "leaving"}]}"#;
        let map = ShardMap::from_json(new).unwrap();
        assert_eq!(map.write_quorum, 2);
        assert_eq!((map.nodes[0].state, map.nodes[0].role), (NodeState::Recovering, NodeRole::Joining));
        assert!(map.nodes[0].state.takes_writes() && !map.nodes[0].state.serves_reads());
        assert_eq!(map.nodes[1].role, NodeRole::Leaving);
        let zero = br#"{"version": 1, "replicationFactor": 1, "controlCluster": "c", "writeQuorum": 0, "nodes": [{"id": "a", "cluster": "ca"}]}"#;
        assert!(ShardMap::from_json(zero).is_err());
    }

    #[test]
    fn a_placement_key_and_a_fence_round_trip_and_default_to_the_uid() {
        let json = br#"{"version": 3, "replicationFactor": 1, "controlCluster": "c", "nodes": [{"id": "a", "cluster": "ca"}],
                        "indexes": {"movies": {"shards": 4, "placementKey": "films", "fenced": true}, "films": {"shards": 8}}}"#;
        let map = ShardMap::from_json(json).unwrap();
        assert_eq!(map.placement_key_of("movies"), "films");
        assert_eq!(map.placement_key_of("films"), "films");
        assert_eq!(map.placement_key_of("books"), "books");
        assert!(map.is_fenced("movies") && !map.is_fenced("films") && !map.is_fenced("books"));
        let again = ShardMap::from_json(&serde_json::to_vec(&map).unwrap()).unwrap();
        assert_eq!(again, map);
        // An entry without the new fields serializes as before, so older maps stay byte-equal.
        let plain = serde_json::to_value(&map.indexes["films"]).unwrap();
        assert_eq!(plain, serde_json::json!({"shards": 8}));
    }
}
