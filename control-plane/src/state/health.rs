//! Cluster health as Elasticsearch defines it: green when every shard has all its
//! copies live, yellow when some shard has fewer but at least one, red when some
//! shard has no live copy. A copy is live when its node serves reads (map state up).

use miroir_core::placement::IndexPlacement;
use miroir_core::shard_map::NodeState;
use serde::Serialize;

use super::ClusterState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterHealth {
    Green,
    Yellow,
    Red,
}

/// One shard's copies: where it should live and how many of those serve reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardCopies {
    pub shard: u32,
    pub nodes: Vec<String>,
    pub live: Vec<String>,
    pub expected: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    pub status: ClusterHealth,
    pub number_of_nodes: usize,
    pub live_nodes: usize,
    pub indexes: usize,
    pub active_shards: usize,
    /// Shards with fewer live copies than `replicationFactor` × groups.
    pub under_replicated_shards: usize,
    /// Shards with no live copy.
    pub unavailable_shards: usize,
}

impl ClusterState {
    /// Where each shard of `index` lives, with its live copies.
    pub fn shard_copies(&self, index: &str) -> Vec<ShardCopies> {
        let Some(map) = self.shard_map() else { return Vec::new() };
        let expected = self.replication_factor as usize * map.groups().len();
        let placement = IndexPlacement::compute(&map, index);
        (0..placement.shards)
            .map(|shard| {
                let owners = placement.owners_of(shard);
                let name = |i: &usize| map.nodes[*i].id.clone();
                ShardCopies {
                    shard,
                    nodes: owners.iter().map(name).collect(),
                    live: owners.iter().filter(|i| map.nodes[**i].state == NodeState::Up).map(name).collect(),
                    expected,
                }
            })
            .collect()
    }

    /// Health over every registered index; with none registered, over the nodes
    /// (red with no live node, yellow with some not live).
    pub fn health(&self) -> HealthReport {
        let live_nodes = self.nodes.iter().filter(|n| n.map_state() == NodeState::Up).count();
        let (mut active, mut under, mut unavailable) = (0, 0, 0);
        for uid in self.indexes.keys() {
            for copies in self.shard_copies(uid) {
                active += usize::from(!copies.live.is_empty());
                under += usize::from(copies.live.len() < copies.expected);
                unavailable += usize::from(copies.live.is_empty());
            }
        }
        let status = if self.indexes.is_empty() {
            match live_nodes {
                0 => ClusterHealth::Red,
                n if n < self.nodes.len() => ClusterHealth::Yellow,
                _ => ClusterHealth::Green,
            }
        } else if unavailable > 0 {
            ClusterHealth::Red
        } else if under > 0 {
            ClusterHealth::Yellow
        } else {
            ClusterHealth::Green
        };
        HealthReport {
            status,
            number_of_nodes: self.nodes.len(),
            live_nodes,
            indexes: self.indexes.len(),
            active_shards: active,
            under_replicated_shards: under,
            unavailable_shards: unavailable,
        }
    }
}
