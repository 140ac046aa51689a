//! Test helpers shared by core's unit tests.

use crate::shard_map::{Node, NodeState, ShardMap};

/// A map of `nodes` nodes (`node{i}`, cluster `c{i}`, group `i % groups`), 16 shards.
pub fn shard_map(nodes: usize, rf: u32, groups: u32) -> ShardMap {
    ShardMap {
        version: 1,
        replication_factor: rf,
        default_shards: 16,
        nodes: (0..nodes)
            .map(|i| Node { id: format!("node{i}"), cluster: format!("c{i}"), group: i as u32 % groups.max(1), state: NodeState::Up })
            .collect(),
        indexes: Default::default(),
        control_cluster: "control".into(),
        timeout_ms: 1000,
        payload_limit_bytes: 1_000_000,
        node_key: None,
    }
}
