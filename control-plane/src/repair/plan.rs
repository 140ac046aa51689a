//! What the rebalancer has to do for one cluster state, without I/O: the shards that
//! need an anti-entropy pass (and over which replicas), the role flips a finished pass
//! allows, and the copies nodes keep of shards they no longer own.

use std::collections::BTreeSet;

use miroir_core::placement::IndexPlacement;
use miroir_core::shard_map::{NodeRole, NodeState, ShardMap};

use super::progress::Progress;
use crate::state::{Change, ClusterState};

/// One replica taking part in a shard's pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub address: String,
    /// Up and a read owner: its copy is the reference (see `compare`).
    pub authoritative: bool,
    pub up: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardWork {
    pub index: String,
    pub shard: u32,
    /// Write owners that take writes (up or recovering), in placement order.
    pub replicas: Vec<Member>,
    /// Every copy that counts took part: an authoritative replica, or every write owner.
    /// A clean pass that is not complete proves nothing (e.g. the only synced replica is
    /// down), so it never allows a flip.
    pub complete: bool,
}

/// Shards of `index` that need a pass: moving (write owners ≠ owners), with a recovering
/// write owner, in `also` (copies the repairer wrote, still to verify), or all of them
/// when `full`.
pub fn shard_work(state: &ClusterState, map: &ShardMap, index: &str, full: bool, also: &BTreeSet<u32>) -> Vec<ShardWork> {
    let placement = IndexPlacement::compute(map, index);
    (0..placement.shards)
        .filter_map(|shard| {
            let owners = placement.owners_of(shard);
            let writers = placement.write_owners_of(shard);
            let recovering = writers.iter().any(|i| map.nodes[*i].state == NodeState::Recovering);
            if !(full || recovering || owners != writers || also.contains(&shard)) {
                return None;
            }
            let replicas: Vec<Member> = writers
                .iter()
                .filter(|i| map.nodes[**i].state.takes_writes())
                .map(|i| {
                    let node = &map.nodes[*i];
                    let up = node.state.serves_reads();
                    Member { id: node.id.clone(), address: state.nodes[*i].address.clone(), authoritative: up && owners.contains(i), up }
                })
                .collect();
            let complete = replicas.iter().any(|m| m.authoritative) || replicas.len() == writers.len();
            Some(ShardWork { index: index.to_owned(), shard, replicas, complete })
        })
        .collect()
}

/// The flips the finished shards allow: joining nodes become active and recovering nodes
/// up once every shard they write is in sync; a leaving node goes once every shard it
/// serves is in sync and no node of its group is still joining (its shards' new owners
/// must serve reads first).
pub fn flips(map: &ShardMap, indexes: &[String], done: &BTreeSet<String>) -> Vec<Change> {
    let placements: Vec<(&String, IndexPlacement)> = indexes.iter().map(|uid| (uid, IndexPlacement::compute(map, uid))).collect();
    let all_done = |node: usize, of: fn(&IndexPlacement, u32) -> &[usize]| {
        placements.iter().all(|(uid, p)| (0..p.shards).filter(|s| of(p, *s).contains(&node)).all(|s| done.contains(&Progress::key(uid, s))))
    };
    let mut changes = Vec::new();
    for (i, node) in map.nodes.iter().enumerate() {
        if node.role == NodeRole::Joining && node.state == NodeState::Up && all_done(i, IndexPlacement::write_owners_of) {
            changes.push(Change::Activate { id: node.id.clone() });
        }
        if node.state == NodeState::Recovering && all_done(i, IndexPlacement::write_owners_of) {
            changes.push(Change::Recovered { id: node.id.clone() });
        }
    }
    let joining_groups: BTreeSet<u32> = map.nodes.iter().filter(|n| n.role == NodeRole::Joining).map(|n| n.group).collect();
    for (i, node) in map.nodes.iter().enumerate() {
        if node.role == NodeRole::Leaving && !joining_groups.contains(&node.group) && all_done(i, IndexPlacement::owners_of) {
            changes.push(Change::RemoveNode { id: node.id.clone() });
        }
    }
    changes
}

/// Whether any node is still joining or leaving: old copies are removed only after.
pub fn moving(map: &ShardMap) -> bool {
    map.nodes.iter().any(|n| n.role != NodeRole::Active)
}

/// Per node (index into the map's nodes) that is up: the shards of `index` it holds no
/// write ownership of, i.e. copies left from a move.
pub fn stray_shards(map: &ShardMap, index: &str) -> Vec<(usize, Vec<u32>)> {
    let placement = IndexPlacement::compute(map, index);
    (0..map.nodes.len())
        .filter(|i| map.nodes[*i].state == NodeState::Up)
        .map(|i| (i, (0..placement.shards).filter(|s| !placement.write_owners_of(*s).contains(&i)).collect::<Vec<u32>>()))
        .filter(|(_, shards)| !shards.is_empty())
        .collect()
}

#[cfg(test)]
mod tests;
