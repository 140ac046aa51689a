//! The cluster state: what the control plane serves, persisted, and changed only
//! through [`Change`]s. Every change that does something gives a new state whose
//! `version` (the shard map's version) is one more; a change that does nothing is
//! refused or ignored, so the version counts real changes.

mod health;
pub mod store;
mod swap;

use std::collections::{BTreeMap, BTreeSet};

use miroir_core::shard_map::{Node, NodeRole, NodeState, ShardMap, DEFAULT_SHARDS};
use miroir_core::wire::DEFAULT_PAYLOAD_LIMIT_BYTES;
use serde::{Deserialize, Serialize};

pub use health::{ClusterHealth, HealthReport, ShardCopies};

use crate::envoy_config::{CALL_TIMEOUT_MS, CONTROL_CLUSTER};

/// Everything the control plane decides, in one versioned value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterState {
    /// The shard map's version: one more on every change.
    pub version: u64,
    pub replication_factor: u32,
    pub default_shards: u32,
    pub nodes: Vec<NodeSpec>,
    /// Index uid → its shard count.
    #[serde(default)]
    pub indexes: BTreeMap<String, u32>,
    /// Index uid → the name placement hashes for it, when a swap or rename moved it
    /// away from the uid itself.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub placement_keys: BTreeMap<String, String>,
    /// Indexes a swap is moving: requests naming them wait (see `crate::swap`).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub fenced: BTreeSet<String>,
    pub timeout_ms: u64,
    pub payload_limit_bytes: u64,
    /// The nodes' master key, handed to the filter for its own calls; never stored.
    #[serde(skip)]
    pub node_key: Option<String>,
    /// Per shard, write owners that must accept a write before it is acknowledged.
    #[serde(default = "one")]
    pub write_quorum: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    pub id: String,
    /// `host:port` of the node's HTTP API.
    pub address: String,
    #[serde(default)]
    pub group: u32,
    /// Drained by an operator (or gone past `--reassign-after`): the map's `role:
    /// leaving`. It serves its shards until their new owners are filled, then goes.
    #[serde(default)]
    pub draining: bool,
    /// Failing its health checks, or it missed a write (a task record named it).
    #[serde(default)]
    pub down: bool,
    /// Added to a running cluster and not yet filled: the map's `role: joining`.
    #[serde(default)]
    pub joining: bool,
    /// Back from down, being repaired: takes writes, serves no reads.
    #[serde(default)]
    pub recovering: bool,
}

impl NodeSpec {
    /// The Envoy cluster that reaches this node.
    pub fn cluster(&self) -> String {
        cluster_name(&self.id)
    }

    /// The map's `state`: whether reads and writes may go to it.
    pub fn map_state(&self) -> NodeState {
        if self.down {
            NodeState::Down
        } else if self.recovering {
            NodeState::Recovering
        } else {
            NodeState::Up
        }
    }

    /// The map's `role`: which placement counts it.
    pub fn role(&self) -> NodeRole {
        if self.draining {
            NodeRole::Leaving
        } else if self.joining {
            NodeRole::Joining
        } else {
            NodeRole::Active
        }
    }
}

pub fn cluster_name(node_id: &str) -> String {
    format!("meili_{node_id}")
}

/// One change an operator (or the prober) asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum Change {
    AddNode { id: String, address: String, #[serde(default)] group: u32 },
    /// A node that serves at once: what adding means when no rebalancer runs (its
    /// shards are then the operator's to fill).
    AddActiveNode { id: String, address: String, #[serde(default)] group: u32 },
    RemoveNode { id: String },
    Drain { id: String },
    Undrain { id: String },
    /// From the health prober (or a task record naming a missed node): `down` is what
    /// it saw. A down node that answers again becomes recovering, not up.
    SetDown { id: String, down: bool },
    /// The rebalancer filled a joining node: it becomes active.
    Activate { id: String },
    /// The repairer brought a recovering node in sync: it serves reads again.
    Recovered { id: String },
    SetWriteQuorum { quorum: u32 },
    SetIndex { uid: String, shards: u32 },
    RemoveIndex { uid: String },
    SetReplicationFactor { rf: u32 },
    /// A swap is about to run on the nodes (`on`), or ended without swapping.
    Fence { indexes: Vec<String>, on: bool },
    /// Every node swapped: the indexes' placement entries follow, and the fence lifts.
    SwapIndexes { swaps: Vec<miroir_core::swap::IndexSwap> },
}

/// Why a change was refused; the admin API answers 400/404/409 from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("{0}")]
    Invalid(String),
    #[error("no node `{0}`")]
    UnknownNode(String),
    #[error("no index `{0}` is registered")]
    UnknownIndex(String),
    #[error("{0}")]
    Conflict(String),
}

impl ClusterState {
    /// An empty state with the given defaults; it serves no map until a node is added.
    pub fn empty(replication_factor: u32, default_shards: u32) -> ClusterState {
        ClusterState {
            version: 0,
            replication_factor,
            default_shards,
            nodes: Vec::new(),
            indexes: BTreeMap::new(),
            placement_keys: BTreeMap::new(),
            fenced: BTreeSet::new(),
            timeout_ms: CALL_TIMEOUT_MS,
            payload_limit_bytes: DEFAULT_PAYLOAD_LIMIT_BYTES,
            node_key: None,
            write_quorum: 1,
        }
    }

    pub fn node(&self, id: &str) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The state after `change`: `Ok(None)` when it changes nothing (a repeated
    /// health report, draining a drained node), so no version is spent on it.
    pub fn apply(&self, change: &Change) -> Result<Option<ClusterState>, ChangeError> {
        let mut next = self.clone();
        let changed = next.apply_in_place(change)?;
        if !changed {
            return Ok(None);
        }
        next.version = self.version + 1;
        Ok(Some(next))
    }

    fn apply_in_place(&mut self, change: &Change) -> Result<bool, ChangeError> {
        match change {
            Change::AddNode { id, address, group } => {
                check_id(id)?;
                check_address(address)?;
                if self.node(id).is_some() {
                    return Err(ChangeError::Conflict(format!("node `{id}` already exists")));
                }
                if let Some(other) = self.nodes.iter().find(|n| n.address == *address) {
                    return Err(ChangeError::Conflict(format!("node `{}` already has address {address}", other.id)));
                }
                // The first node has nothing to be filled from; later ones join empty.
                let joining = !self.nodes.is_empty();
                self.nodes.push(NodeSpec { id: id.clone(), address: address.clone(), group: *group, draining: false, down: false, joining, recovering: false });
                Ok(true)
            }
            Change::AddActiveNode { id, address, group } => {
                self.apply_in_place(&Change::AddNode { id: id.clone(), address: address.clone(), group: *group })?;
                if let Some(node) = self.nodes.last_mut() {
                    node.joining = false;
                }
                Ok(true)
            }
            Change::RemoveNode { id } => {
                let at = self.position(id)?;
                if self.nodes.len() == 1 {
                    return Err(ChangeError::Conflict(format!("`{id}` is the last node; a shard map needs one")));
                }
                self.nodes.remove(at);
                Ok(true)
            }
            Change::Drain { id } => {
                if self.node(id).is_some_and(|n| n.joining) {
                    return Err(ChangeError::Conflict(format!("`{id}` is still joining (it holds no complete shard): remove it instead")));
                }
                self.set_flag(id, |n| &mut n.draining, true)
            }
            Change::Undrain { id } => self.set_flag(id, |n| &mut n.draining, false),
            Change::SetDown { id, down: true } => {
                let at = self.position(id)?;
                let node = &mut self.nodes[at];
                let changed = !node.down || node.recovering;
                (node.down, node.recovering) = (true, false);
                Ok(changed)
            }
            Change::SetDown { id, down: false } => {
                let at = self.position(id)?;
                let node = &mut self.nodes[at];
                let changed = node.down;
                if changed {
                    (node.down, node.recovering) = (false, true);
                }
                Ok(changed)
            }
            Change::Activate { id } => self.set_flag(id, |n| &mut n.joining, false),
            Change::Recovered { id } => self.set_flag(id, |n| &mut n.recovering, false),
            Change::SetWriteQuorum { quorum } => {
                if *quorum == 0 {
                    return Err(ChangeError::Invalid("the write quorum must be at least 1".into()));
                }
                let changed = self.write_quorum != *quorum;
                self.write_quorum = *quorum;
                Ok(changed)
            }
            Change::SetIndex { uid, shards } => {
                check_id(uid)?;
                if *shards == 0 {
                    return Err(ChangeError::Invalid("an index needs at least one shard".into()));
                }
                Ok(self.indexes.insert(uid.clone(), *shards) != Some(*shards))
            }
            Change::RemoveIndex { uid } => {
                self.indexes.remove(uid).map(|_| true).ok_or_else(|| ChangeError::UnknownIndex(uid.clone()))
            }
            Change::SetReplicationFactor { rf } => {
                if *rf == 0 {
                    return Err(ChangeError::Invalid("the replication factor must be at least 1".into()));
                }
                let changed = self.replication_factor != *rf;
                self.replication_factor = *rf;
                Ok(changed)
            }
            Change::Fence { indexes, on } => Ok(self.fence(indexes, *on)),
            Change::SwapIndexes { swaps } => Ok(self.swap_indexes(swaps)),
        }
    }

    fn position(&self, id: &str) -> Result<usize, ChangeError> {
        self.nodes.iter().position(|n| n.id == id).ok_or_else(|| ChangeError::UnknownNode(id.to_owned()))
    }

    fn set_flag(&mut self, id: &str, flag: impl Fn(&mut NodeSpec) -> &mut bool, value: bool) -> Result<bool, ChangeError> {
        let at = self.position(id)?;
        let flag = flag(&mut self.nodes[at]);
        let changed = *flag != value;
        *flag = value;
        Ok(changed)
    }

    /// The filter's configuration; `None` while no node exists (no valid map).
    pub fn shard_map(&self) -> Option<ShardMap> {
        if self.nodes.is_empty() {
            return None;
        }
        Some(ShardMap {
            version: self.version,
            replication_factor: self.replication_factor,
            default_shards: self.default_shards,
            nodes: self
                .nodes
                .iter()
                .map(|n| Node { id: n.id.clone(), cluster: n.cluster(), group: n.group, state: n.map_state(), role: n.role() })
                .collect(),
            indexes: self.index_configs(),
            control_cluster: CONTROL_CLUSTER.into(),
            timeout_ms: self.timeout_ms,
            payload_limit_bytes: self.payload_limit_bytes,
            node_key: self.node_key.clone(),
            write_quorum: self.write_quorum,
        })
    }
}

impl Default for ClusterState {
    fn default() -> Self {
        ClusterState::empty(1, DEFAULT_SHARDS)
    }
}

/// Node ids and index uids become Envoy cluster names and URL segments: keep them plain.
fn check_id(id: &str) -> Result<(), ChangeError> {
    let plain = !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain {
        Ok(())
    } else {
        Err(ChangeError::Invalid(format!("`{id}` is not a valid id: use 1 to 200 of a-z A-Z 0-9 - _")))
    }
}

fn check_address(address: &str) -> Result<(), ChangeError> {
    let bad = || ChangeError::Invalid(format!("`{address}` is not a host:port address"));
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let port_ok = port.parse::<u16>().is_ok_and(|p| p != 0);
    let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if port_ok && host_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests;
