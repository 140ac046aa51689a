//! The rebalancer's loop (leader only): each round plans from the served state, brings
//! every shard that needs it in sync (anti-entropy until a pass changes nothing), flips
//! the nodes that allows (joining → active, recovering → up, leaving → removed), and
//! once no node moves and every connected Envoy has held the map for a grace period,
//! deletes the copies nodes keep of shards they no longer own.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use miroir_core::shard_map::NodeRole;
use miroir_core::wire::shard_filter;

use super::node_api::{NodeApi, NodeError};
use super::plan::{self, ShardWork};
use super::progress::Progress;
use super::shard::{self, PassContext, PassOutcome};
use super::Repairer;
use crate::control::Controller;
use crate::metrics::labels;
use crate::state::{Change, ClusterState};
use crate::xds::Envoys;

/// Passes per shard and round before moving on (live traffic may keep a shard busy).
const PASSES_PER_ROUND: usize = 3;

struct Loop {
    repairer: Arc<Repairer>,
    controller: Arc<Controller>,
    envoys: Envoys,
    down_since: HashMap<String, Instant>,
    /// The map version every connected Envoy holds, and since when.
    acked: Option<(u64, Instant)>,
    cleaned_version: u64,
    started: Instant,
}

pub async fn run(repairer: Arc<Repairer>, controller: Arc<Controller>, envoys: Envoys) {
    let mut this = Loop { repairer, controller, envoys, down_since: HashMap::new(), acked: None, cleaned_version: 0, started: Instant::now() };
    let interval = this.repairer.config.interval;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = this.repairer.kick.notified() => {}
        }
        if this.controller.leader().is_some() {
            continue;
        }
        this.round().await;
    }
}

impl Loop {
    async fn round(&mut self) {
        let state = self.controller.state();
        let Some(map) = state.shard_map() else { return };
        if self.reassign(&state).await {
            return;
        }
        let indexes = match blocking({
            let state = state.clone();
            let key = self.repairer.config.master_key.clone();
            move || index_uids(&state, key.as_deref())
        })
        .await
        {
            Ok(indexes) => indexes,
            Err(e) => return self.failed(format!("cannot list the indexes: {e}")),
        };
        self.repairer.update(|p| {
            if p.plan_version != state.version {
                let full_repair = p.full_repair;
                let cleaned = p.documents_cleaned;
                *p = Progress { plan_version: state.version, full_repair, documents_cleaned: cleaned, ..Progress::default() };
                self.started = Instant::now();
            }
        });
        let full = self.repairer.progress().full_repair;
        let work: Vec<ShardWork> = indexes
            .iter()
            .flat_map(|uid| plan::shard_work(&state, &map, uid, full, &self.repairer.suspects.shards(uid)))
            .collect();
        let waiting: Vec<String> =
            map.nodes.iter().filter(|n| n.role != NodeRole::Active || !n.state.serves_reads()).map(|n| n.id.clone()).collect();
        let done = self.repairer.progress().shards_done;
        let pending: Vec<&ShardWork> = work.iter().filter(|w| !done.contains(&Progress::key(&w.index, w.shard))).collect();
        self.repairer.metrics.repair_shards_pending.set(pending.len() as i64);
        self.repairer.update(|p| {
            p.shards_total = work.len();
            p.waiting = waiting.clone();
            p.phase = if pending.is_empty() { "idle" } else { "repairing" }.into();
        });

        let mut prepared: BTreeSet<String> = BTreeSet::new();
        let mut keys: HashMap<String, Option<String>> = HashMap::new();
        for w in pending {
            if self.controller.state().version != state.version {
                return; // The state moved on: plan again.
            }
            if prepared.insert(w.index.clone()) {
                let members = index_members(&work, &w.index);
                let key = self.repairer.config.master_key.clone();
                let uid = w.index.clone();
                match blocking(move || super::index_prep::prepare(&uid, &members, key.as_deref())).await {
                    Ok(pk) => {
                        keys.insert(w.index.clone(), pk);
                    }
                    Err(e) => self.failed(format!("cannot prepare index `{}`: {e}", w.index)),
                }
            }
            let Some(Some(primary_key)) = keys.get(&w.index).cloned() else {
                // No copy holds the index with a primary key: nothing to compare, in sync.
                if keys.contains_key(&w.index) && w.complete {
                    self.repairer.update(|p| {
                        p.shards_done.insert(Progress::key(&w.index, w.shard));
                    });
                }
                continue;
            };
            self.sync_shard(w, primary_key).await;
        }

        if self.controller.state().version != state.version {
            return;
        }
        let done = self.repairer.progress().shards_done;
        if full && work.iter().all(|w| done.contains(&Progress::key(&w.index, w.shard))) {
            self.repairer.update(|p| p.full_repair = false);
        }
        for change in plan::flips(&map, &indexes, &done) {
            tracing::info!(?change, "rebalance: flipping");
            if let Err(e) = self.controller.change(change).await {
                self.failed(format!("cannot apply a flip: {e}"));
            }
        }
        if self.controller.state().version == state.version && !plan::moving(&map) {
            self.cleanup(&state, &indexes).await;
        }
        self.repairer.update(|p| {
            let all_done = work.iter().all(|w| p.shards_done.contains(&Progress::key(&w.index, w.shard)));
            if all_done {
                p.phase = "idle".into();
            }
        });
    }

    /// Brings one shard in sync: passes until one changes nothing (or the round's budget).
    async fn sync_shard(&mut self, w: &ShardWork, primary_key: String) {
        for _ in 0..PASSES_PER_ROUND {
            let repairer = self.repairer.clone();
            let work = w.clone();
            let pk = primary_key.clone();
            let outcome = blocking(move || {
                let tombstones = repairer.tombstones.of(&work.index);
                let ctx = PassContext {
                    master_key: repairer.config.master_key.as_deref(),
                    tombstones: &tombstones,
                    primary_key: &pk,
                    settle: repairer.config.settle,
                    throttle: &repairer.throttle,
                    suspects: &repairer.suspects,
                };
                shard::pass(&ctx, &work)
            })
            .await;
            let outcome: PassOutcome = match outcome {
                Ok(o) => o,
                Err(e) => return self.failed(format!("shard {}/{}: {e}", w.index, w.shard)),
            };
            let metrics = &self.repairer.metrics;
            metrics.repair_passes.inc();
            let shard = w.shard.to_string();
            metrics.repair_shard_passes.get_or_create(&labels(&[("index", &w.index), ("shard", &shard)])).inc();
            metrics.repair_copied.inc_by(outcome.copied);
            metrics.repair_deleted.inc_by(outcome.deleted);
            let elapsed = self.started.elapsed().as_secs_f64();
            self.repairer.update(|p| {
                p.passes += 1;
                p.documents_compared += outcome.compared;
                p.documents_copied += outcome.copied;
                p.documents_deleted += outcome.deleted;
                p.documents_unsettled = outcome.unsettled;
                p.elapsed_secs = elapsed;
                p.rate = if elapsed > 0.0 { p.documents_copied as f64 / elapsed } else { 0.0 };
                if outcome.clean() && w.complete {
                    p.shards_done.insert(Progress::key(&w.index, w.shard));
                }
            });
            if !outcome.clean() {
                tracing::info!(index = %w.index, shard = w.shard, copied = outcome.copied, deleted = outcome.deleted, "shard repaired");
            } else {
                return;
            }
        }
    }

    /// A node down past `--reassign-after` becomes leaving (its shards get new owners).
    async fn reassign(&mut self, state: &ClusterState) -> bool {
        let now = Instant::now();
        self.down_since.retain(|id, _| state.node(id).is_some_and(|n| n.down));
        for node in state.nodes.iter().filter(|n| n.down) {
            let since = *self.down_since.entry(node.id.clone()).or_insert(now);
            if !node.draining && !node.joining && since.elapsed() >= self.repairer.config.reassign_after {
                tracing::warn!(node = %node.id, "down past --reassign-after: re-replicating its shards elsewhere");
                match self.controller.change(Change::Drain { id: node.id.clone() }).await {
                    Ok(_) => return true,
                    Err(e) => self.failed(format!("cannot reassign {}: {e}", node.id)),
                }
            }
        }
        false
    }

    /// Deletes copies of shards a node no longer writes, once every connected Envoy has
    /// held this map version for the grace period (no call can still go there).
    async fn cleanup(&mut self, state: &ClusterState, indexes: &[String]) {
        if self.cleaned_version == state.version {
            return;
        }
        let all_hold = self.envoys.snapshot().values().filter(|e| e.streams > 0).all(|e| e.map_version >= Some(state.version));
        match self.acked {
            _ if !all_hold => {
                self.acked = None;
                return;
            }
            Some((v, since)) if v == state.version => {
                if since.elapsed() < self.repairer.config.retire_grace {
                    return;
                }
            }
            _ => {
                self.acked = Some((state.version, Instant::now()));
                return;
            }
        }
        let Some(map) = state.shard_map() else { return };
        let mut jobs = Vec::new();
        for uid in indexes {
            for (node, shards) in plan::stray_shards(&map, uid) {
                jobs.push((state.nodes[node].address.clone(), uid.clone(), shards));
            }
        }
        let key = self.repairer.config.master_key.clone();
        let result = blocking(move || {
            let mut removed = 0;
            for (address, uid, shards) in jobs {
                let api = NodeApi::new(&address, key.as_deref());
                let filter = shard_filter(&shards);
                let count = match api.count(&uid, &filter) {
                    Ok(n) => n,
                    Err(NodeError::Status { status: 404, .. }) => 0,
                    Err(e) => return Err(e),
                };
                if count > 0 {
                    api.wait(api.delete_by_filter(&uid, &filter)?)?;
                    tracing::info!(node = %address, index = %uid, documents = count, "removed copies of shards the node no longer owns");
                    removed += count;
                }
            }
            Ok(removed)
        })
        .await;
        match result {
            Ok(removed) => {
                self.cleaned_version = state.version;
                self.repairer.metrics.repair_cleaned.inc_by(removed);
                self.repairer.update(|p| p.documents_cleaned += removed);
            }
            Err(e) => self.failed(format!("cannot remove old copies: {e}")),
        }
    }

    fn failed(&self, message: String) {
        tracing::warn!("rebalance: {message}");
        self.repairer.update(|p| p.last_error = Some(message));
    }
}

/// Every member of any pass over `index` (they all need the index prepared).
fn index_members(work: &[ShardWork], index: &str) -> Vec<plan::Member> {
    let mut members: Vec<plan::Member> = Vec::new();
    for w in work.iter().filter(|w| w.index == index) {
        for m in &w.replicas {
            if let Some(known) = members.iter_mut().find(|k| k.id == m.id) {
                known.authoritative |= m.authoritative;
            } else {
                members.push(m.clone());
            }
        }
    }
    members
}

/// Index uids on every node that serves reads, plus the registered ones.
fn index_uids(state: &ClusterState, master_key: Option<&str>) -> Result<Vec<String>, NodeError> {
    let mut uids: BTreeSet<String> = state.indexes.keys().cloned().collect();
    for node in state.nodes.iter().filter(|n| !n.down && !n.recovering && !n.joining) {
        uids.extend(NodeApi::new(&node.address, master_key).index_uids()?);
    }
    Ok(uids.into_iter().collect())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, NodeError> + Send + 'static) -> Result<T, NodeError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(NodeError::Unreachable { address: "-".into(), message: format!("the repair task panicked: {e}") })
    })
}
