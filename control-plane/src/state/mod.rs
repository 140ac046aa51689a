//! The cluster state: what the control plane serves, persisted, and changed only
//! through [`Change`]s. Every change that does something gives a new state whose
//! `version` (the shard map's version) is one more; a change that does nothing is
//! refused or ignored, so the version counts real changes.

mod health;
pub mod store;

use std::collections::BTreeMap;

use miroir_core::shard_map::{IndexConfig, Node, NodeState, ShardMap, DEFAULT_SHARDS};
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
    pub timeout_ms: u64,
    pub payload_limit_bytes: u64,
    /// The nodes' master key, handed to the filter for its own calls; never stored.
    #[serde(skip)]
    pub node_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSpec {
    pub id: String,
    /// `host:port` of the node's HTTP API.
    pub address: String,
    #[serde(default)]
    pub group: u32,
    /// Drained by an operator: kept in placement (it still gets writes), no reads.
    #[serde(default)]
    pub draining: bool,
    /// Failing its health checks, as the control plane's prober saw it.
    #[serde(default)]
    pub down: bool,
}

impl NodeSpec {
    /// The Envoy cluster that reaches this node.
    pub fn cluster(&self) -> String {
        cluster_name(&self.id)
    }

    /// Whether reads may go to it: the map's `state`.
    pub fn map_state(&self) -> NodeState {
        if self.draining || self.down {
            NodeState::Down
        } else {
            NodeState::Up
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
    RemoveNode { id: String },
    Drain { id: String },
    Undrain { id: String },
    /// From the health prober: `down` is what it saw.
    SetDown { id: String, down: bool },
    SetIndex { uid: String, shards: u32 },
    RemoveIndex { uid: String },
    SetReplicationFactor { rf: u32 },
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
            timeout_ms: CALL_TIMEOUT_MS,
            payload_limit_bytes: DEFAULT_PAYLOAD_LIMIT_BYTES,
            node_key: None,
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
                self.nodes.push(NodeSpec { id: id.clone(), address: address.clone(), group: *group, draining: false, down: false });
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
            Change::Drain { id } => self.set_flag(id, |n| &mut n.draining, true),
            Change::Undrain { id } => self.set_flag(id, |n| &mut n.draining, false),
            Change::SetDown { id, down } => self.set_flag(id, |n| &mut n.down, *down),
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
                .map(|n| Node { id: n.id.clone(), cluster: n.cluster(), group: n.group, state: n.map_state() })
                .collect(),
            indexes: self.indexes.iter().map(|(uid, shards)| (uid.clone(), IndexConfig { shards: *shards })).collect(),
            control_cluster: CONTROL_CLUSTER.into(),
            timeout_ms: self.timeout_ms,
            payload_limit_bytes: self.payload_limit_bytes,
            node_key: self.node_key.clone(),
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
