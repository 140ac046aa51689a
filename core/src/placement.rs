//! Placement: document → shard by XXH3-64 of the canonical id; shard → nodes by
//! rendezvous (highest-random-weight) hashing inside each replica group.
//!
//! Rendezvous hashing ranks every node by a hash of (index, shard, node) and keeps the
//! top `replication_factor`: adding or removing a node moves only the shards whose
//! top set it enters or leaves. The index takes part in the key so that shard 0 of
//! every index does not land on the same nodes.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::shard_map::{NodeRole, ShardMap};

/// The logical shard of a document, from its canonical id (see [`crate::id`]).
pub fn shard_of(canonical_id: &str, shards: u32) -> u32 {
    (xxh3_64(canonical_id.as_bytes()) % u64::from(shards.max(1))) as u32
}

/// Rendezvous weight of `node_id` for one shard of one index.
pub fn weight(index: &str, shard: u32, node_id: &str) -> u64 {
    let mut key = Vec::with_capacity(index.len() + 5);
    key.extend_from_slice(index.as_bytes());
    key.push(0);
    key.extend_from_slice(&shard.to_le_bytes());
    xxh3_64_with_seed(node_id.as_bytes(), xxh3_64(&key))
}

/// Where every shard of one index lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPlacement {
    pub shards: u32,
    /// `owners[shard]`: the shard's replicas over the serving set (active + leaving
    /// nodes) — where reads go. Indexes into `ShardMap::nodes`, group by group
    /// (ascending group), best-ranked first within a group.
    pub owners: Vec<Vec<usize>>,
    /// `write_owners[shard]`: owners over the serving set united with owners over the
    /// target set (active + joining), same order. Equals `owners` when no node joins
    /// or leaves; during a rebalance it also holds the shard's future owners, so they
    /// miss no write while the rebalancer fills them.
    pub write_owners: Vec<Vec<usize>>,
}

impl IndexPlacement {
    pub fn compute(map: &ShardMap, index: &str) -> IndexPlacement {
        let shards = map.shards_of(index);
        let key = map.placement_key_of(index);
        let groups = map.groups();
        let rf = map.replication_factor as usize;
        let mut owners = Vec::with_capacity(shards as usize);
        let mut write_owners = Vec::with_capacity(shards as usize);
        for shard in 0..shards {
            let mut read = Vec::with_capacity(rf * groups.len());
            let mut write = Vec::with_capacity(rf * groups.len());
            for group in &groups {
                let mut ranked: Vec<(u64, usize)> = map
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.group == *group)
                    .map(|(i, n)| (weight(key, shard, &n.id), i))
                    .collect();
                // Highest weight first; ties (never seen in practice) by node order.
                ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                let top = |member: fn(NodeRole) -> bool| {
                    ranked.iter().filter(move |(_, i)| member(map.nodes[*i].role)).take(rf).map(|&(_, i)| i)
                };
                let serving: Vec<usize> = top(NodeRole::serving).collect();
                let target: Vec<usize> = top(NodeRole::target).collect();
                // The union in rank order: walk the ranking, keep members of either.
                write.extend(ranked.iter().map(|&(_, i)| i).filter(|i| serving.contains(i) || target.contains(i)));
                read.extend(serving);
            }
            owners.push(read);
            write_owners.push(write);
        }
        IndexPlacement { shards, owners, write_owners }
    }

    pub fn shard_of(&self, canonical_id: &str) -> u32 {
        shard_of(canonical_id, self.shards)
    }

    /// Every node serving `shard` (reads), in all groups.
    pub fn owners_of(&self, shard: u32) -> &[usize] {
        self.owners.get(shard as usize).map_or(&[], Vec::as_slice)
    }

    /// Every node a write to `shard` goes to (state permitting), in all groups.
    pub fn write_owners_of(&self, shard: u32) -> &[usize] {
        self.write_owners.get(shard as usize).map_or(&[], Vec::as_slice)
    }

    /// Replicas a document has once every rebalance is done: `replication_factor`
    /// per group. Node counts (stats, task details) are divided by it.
    pub fn copies(&self) -> usize {
        self.owners.iter().map(Vec::len).max().unwrap_or(1).max(1)
    }

    /// The shards a node holds, ascending.
    pub fn shards_on(&self, node: usize) -> Vec<u32> {
        (0..self.shards).filter(|s| self.owners_of(*s).contains(&node)).collect()
    }
}

#[cfg(test)]
mod tests;
