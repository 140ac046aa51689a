//! One anti-entropy pass over one shard, against the nodes: fetch every replica's copy
//! (`_miroir_shard = S`), decide (see `compare`), write the fixes as node tasks and wait
//! for them. Blocking; the rebalancer runs it off the async workers.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use miroir_core::wire::shard_filter;
use serde_json::Value;

use super::compare::{decide, Replica};
use super::node_api::{NodeApi, NodeError, PAGE};
use super::plan::ShardWork;
use super::suspects::Suspects;
use super::tombstones::IndexTombstones;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassOutcome {
    pub compared: u64,
    pub copied: u64,
    pub deleted: u64,
    pub unsettled: u64,
    /// Recent ids with a copy the repairer wrote: to compare again once settled.
    pub blocked: u64,
}

impl PassOutcome {
    /// Nothing to fix, and nothing the repairer wrote still unverified.
    pub fn clean(&self) -> bool {
        self.copied == 0 && self.deleted == 0 && self.blocked == 0
    }
}

/// Documents per second, shared by every pass (`None`: as fast as the nodes go).
#[derive(Debug)]
pub struct Throttle {
    rate: Option<u32>,
    window: Mutex<(Instant, u64)>,
}

impl Throttle {
    pub fn new(rate: Option<u32>) -> Throttle {
        Throttle { rate: rate.filter(|r| *r > 0), window: Mutex::new((Instant::now(), 0)) }
    }

    /// Accounts `docs` about to be written, sleeping as long as the rate requires.
    pub fn take(&self, docs: u64) {
        let Some(rate) = self.rate else { return };
        let wait = {
            let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
            // A window idle for a while starts afresh (no burst credit piles up).
            if window.0.elapsed() > Duration::from_secs(2) && window.1 as f64 / f64::from(rate) < window.0.elapsed().as_secs_f64() {
                *window = (Instant::now(), 0);
            }
            window.1 += docs;
            let due = Duration::from_secs_f64(window.1 as f64 / f64::from(rate));
            due.saturating_sub(window.0.elapsed())
        };
        std::thread::sleep(wait);
    }
}

fn panicked() -> NodeError {
    NodeError::Unreachable { address: "-".into(), message: "a fetch thread panicked".into() }
}

/// Microseconds since the epoch: the clock version stamps use.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// Everything a pass needs besides the shard.
pub struct PassContext<'a> {
    pub master_key: Option<&'a str>,
    pub tombstones: &'a IndexTombstones,
    pub primary_key: &'a str,
    /// How long a write may take to reach every replica on its own.
    pub settle: Duration,
    pub throttle: &'a Throttle,
    pub suspects: &'a Suspects,
}

pub fn pass(ctx: &PassContext<'_>, work: &ShardWork) -> Result<PassOutcome, NodeError> {
    let filter = shard_filter(&[work.shard]);
    let apis: Vec<NodeApi> = work.replicas.iter().map(|m| NodeApi::new(&m.address, ctx.master_key)).collect();
    // A write is settled once every replica applied it: older than the oldest task still
    // queued on any of them (a busy node lags), less the margin for the trip and clocks.
    let mut horizon = now_us();
    for api in &apis {
        if let Some(oldest) = api.oldest_pending_us()? {
            horizon = horizon.min(oldest);
        }
    }
    let settled_before = horizon.saturating_sub(ctx.settle.as_micros() as u64);
    // Every replica at once: the narrower the window, the fewer writes land between reads.
    let fetched: Vec<Result<Vec<_>, NodeError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = apis.iter().map(|api| scope.spawn(|| api.fetch_all(&work.index, &filter))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(panicked()))).collect()
    });
    let mut replicas = Vec::with_capacity(apis.len());
    for (member, docs) in work.replicas.iter().zip(fetched) {
        replicas.push(Replica { node: member.id.clone(), authoritative: member.authoritative, up: member.up, docs: docs? });
    }
    let suspect = |id: &str, r: usize| ctx.suspects.is_suspect(&work.index, id, &replicas[r].node);
    let decision = decide(ctx.primary_key, &replicas, |id| ctx.tombstones.get(id).copied(), suspect, settled_before);
    ctx.suspects.clear(&work.index, &decision.agreed);
    let mut outcome = PassOutcome {
        compared: decision.ids as u64,
        unsettled: decision.unsettled as u64,
        blocked: decision.blocked as u64,
        ..PassOutcome::default()
    };
    let mut tasks: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for (r, fix) in decision.fixes.iter().enumerate() {
        let api = &apis[r];
        if !fix.put.is_empty() || !fix.delete.is_empty() {
            let put: Vec<String> = fix
                .put
                .iter()
                .map(|d| format!("{}@{}", d.get(ctx.primary_key).map_or_else(String::new, |v| v.to_string()), super::compare::version_of(d)))
                .collect();
            tracing::debug!(index = %work.index, shard = work.shard, node = %replicas[r].node, ?put, delete = ?fix.delete, "repair writes");
        }
        let written = fix.put.iter().filter_map(|doc| doc.get(ctx.primary_key)).chain(&fix.delete);
        for id in written.filter_map(|v| miroir_core::id::canonical_id(v).ok()) {
            ctx.suspects.mark(&work.index, work.shard, &id, &replicas[r].node);
        }
        for chunk in fix.put.chunks(PAGE) {
            ctx.throttle.take(chunk.len() as u64);
            tasks.entry(r).or_default().push(api.put_documents(&work.index, chunk, ctx.primary_key)?);
            outcome.copied += chunk.len() as u64;
        }
        for chunk in fix.delete.chunks(PAGE) {
            ctx.throttle.take(chunk.len() as u64);
            let ids: Vec<Value> = chunk.to_vec();
            tasks.entry(r).or_default().push(api.delete_ids(&work.index, &ids)?);
            outcome.deleted += chunk.len() as u64;
        }
    }
    for (r, uids) in tasks {
        for uid in uids {
            apis[r].wait(uid)?;
        }
    }
    if outcome.clean() {
        ctx.suspects.clear_shard(&work.index, work.shard);
    }
    Ok(outcome)
}
