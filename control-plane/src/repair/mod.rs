//! Rebalancing and repair (issue 6): anti-entropy between the replicas of a shard, the
//! rebalancer that fills joining nodes, empties leaving ones and repairs recovering
//! ones, and the bookkeeping they need (tombstones, persisted progress).
//!
//! The argument for why replicas converge is in docs/convergence.md.

pub mod compare;
pub mod index_prep;
pub mod node_api;
pub mod plan;
pub mod progress;
pub mod rebalancer;
pub mod shard;
pub mod suspects;
pub mod tombstones;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use miroir_core::task::TaskRecord;
use tokio::sync::Notify;

use crate::control::Controller;
use crate::metrics::Metrics;
use crate::state::Change;
pub use progress::Progress;
use shard::Throttle;
use tombstones::Tombstones;

#[derive(Debug, Clone)]
pub struct RepairConfig {
    /// The nodes' master key (the control plane talks to them directly).
    pub master_key: Option<String>,
    /// Documents written per second by repairs and moves; `None`: unthrottled.
    pub rate: Option<u32>,
    /// A write younger than this is left to the write path (it may still be queued).
    pub settle: Duration,
    /// After every Envoy ACKed a map, how long before old copies are deleted.
    pub retire_grace: Duration,
    /// A node down this long becomes leaving: its shards are re-replicated elsewhere.
    pub reassign_after: Duration,
    /// Pause between rounds when nothing happens.
    pub interval: Duration,
    /// Where `rebalance.json` (the progress) lives.
    pub data_dir: PathBuf,
}

impl RepairConfig {
    pub fn new(data_dir: PathBuf) -> RepairConfig {
        RepairConfig {
            master_key: None,
            rate: None,
            settle: Duration::from_secs(3),
            retire_grace: Duration::from_secs(5),
            reassign_after: Duration::from_secs(600),
            interval: Duration::from_millis(500),
            data_dir,
        }
    }
}

/// Shared between the rebalancer's loop, the registry hook and the admin API.
pub struct Repairer {
    pub config: RepairConfig,
    progress: Mutex<Progress>,
    pub tombstones: Tombstones,
    kick: Notify,
    throttle: Throttle,
    suspects: suspects::Suspects,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Repairer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repairer").field("config", &self.config).finish()
    }
}

impl Repairer {
    pub fn new(config: RepairConfig, tombstones: Tombstones, metrics: Arc<Metrics>) -> Repairer {
        let progress = progress::load(&config.data_dir);
        let throttle = Throttle::new(config.rate);
        Repairer { config, progress: Mutex::new(progress), tombstones, kick: Notify::new(), throttle, suspects: Default::default(), metrics }
    }

    pub fn progress(&self) -> Progress {
        self.progress.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut Progress)) {
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut progress);
        if let Err(e) = progress::save(&self.config.data_dir, &progress) {
            tracing::warn!("cannot persist the rebalance progress: {e}");
        }
    }

    /// Starts a round now.
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// A full anti-entropy pass over every shard of every index, from fresh counters.
    pub fn request_full_repair(&self) {
        self.update(|p| {
            let plan_version = p.plan_version;
            *p = Progress { plan_version, full_repair: true, phase: "repairing".into(), ..Progress::default() };
        });
        self.kick.notify_one();
    }

    /// What the registry learns from a task record, before the client gets its 202:
    /// tombstones, and the write owners that missed the write. An `up` node that missed
    /// one is marked down (no longer a read source nor a reference copy); it comes back
    /// recovering and is repaired. Joining and recovering nodes are repaired anyway.
    pub async fn on_record(&self, controller: &Controller, record: &TaskRecord) {
        self.tombstones.record(record);
        let state = controller.state();
        for id in &record.missed {
            let Some(node) = state.node(id) else { continue };
            if node.down || node.recovering || node.joining {
                continue;
            }
            tracing::warn!(node = %id, task = record.uid, "node missed a write: marking it down until it is repaired");
            if let Err(e) = controller.change(Change::SetDown { id: id.clone(), down: true }).await {
                tracing::error!(node = %id, "cannot mark the node down: {e}");
            }
        }
        if !record.missed.is_empty() {
            self.kick.notify_one();
        }
    }
}
