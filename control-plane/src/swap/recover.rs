//! After a restart: swaps a previous run left half-way (indexes still fenced, the task
//! still pending) are settled from what the nodes did.
//!
//! Each node is asked for an `indexSwap` task enqueued after the client task with the
//! same swaps (the node key, straight to the node) and its end is awaited. None has one:
//! the swap never reached them, the fence lifts and the task fails. Every node swapped:
//! the map follows, as at the end of a normal swap. Some failed and none swapped: the
//! fence lifts and the task fails with the node's error. Anything else (some swapped,
//! some not): the nodes disagree and the fence stays up for an operator.

use std::sync::Arc;

use miroir_core::swap::IndexSwap;
use miroir_core::task::{NodeTask, TaskRecord};
use miroir_core::{Code, MeiliError};
use serde_json::Value;

use super::Swapper;
use crate::repair::node_api::NodeApi;
use crate::state::Change;

/// What one node shows of the swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    Missing,
    Succeeded(u64),
    /// Failed or canceled.
    NotApplied(u64),
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    NeverReached,
    AllSwapped,
    NoneSwapped,
    Diverged,
}

pub(super) fn verdict(seen: &[Seen]) -> Verdict {
    let swapped = seen.iter().filter(|s| matches!(s, Seen::Succeeded(_))).count();
    if seen.iter().all(|s| *s == Seen::Missing) {
        Verdict::NeverReached
    } else if swapped == seen.len() {
        Verdict::AllSwapped
    } else if swapped == 0 {
        Verdict::NoneSwapped
    } else {
        Verdict::Diverged
    }
}

/// Settles every pending swap, oldest first; the leader only.
pub async fn recover(swapper: Arc<Swapper>) {
    if swapper.controller.state().fenced.is_empty() || swapper.controller.leader().is_some() {
        return;
    }
    let registry = swapper.registry.clone();
    let pending = match tokio::task::spawn_blocking(move || registry.select(None, usize::MAX, true, TaskRecord::is_pending)).await {
        Ok(page) => page.results,
        Err(e) => return tracing::error!("cannot list pending swaps: {e}"),
    };
    for record in pending {
        let _turn = swapper.turn.lock().await;
        settle(&swapper, record).await;
    }
}

async fn settle(swapper: &Swapper, mut record: TaskRecord) {
    let shown = record.details.get("swaps").cloned().unwrap_or(Value::Null);
    let Ok(swaps) = serde_json::from_value::<Vec<IndexSwap>>(shown.clone()) else {
        return tracing::error!(task = record.uid, "a pending swap without readable swaps");
    };
    let state = swapper.controller.state();
    let key = state.node_key.clone();
    let since = record.enqueued_at.clone();
    let nodes: Vec<(String, NodeApi)> = state.nodes.iter().map(|n| (n.id.clone(), NodeApi::new(&n.address, key.as_deref()))).collect();
    let looked = tokio::task::spawn_blocking(move || {
        nodes.into_iter().map(|(id, api)| look(&api, &since, &shown).map(|seen| (id, seen))).collect::<Result<Vec<_>, String>>()
    });
    let seen = match looked.await {
        Ok(Ok(seen)) => seen,
        Ok(Err(e)) => return tracing::error!(task = record.uid, "cannot settle the swap, indexes stay fenced: {e}"),
        Err(e) => return tracing::error!(task = record.uid, "settling the swap panicked: {e}"),
    };
    let involved: Vec<String> = swaps.iter().flat_map(|s| [s.indexes.0.clone(), s.indexes.1.clone()]).collect();
    record.node_tasks = seen
        .iter()
        .filter_map(|(id, s)| match s {
            Seen::Succeeded(uid) | Seen::NotApplied(uid) => Some(NodeTask { node: id.clone(), task_uid: *uid, hidden: false, documents: 0 }),
            Seen::Missing => None,
        })
        .collect();
    let outcome: Vec<Seen> = seen.into_iter().map(|(_, s)| s).collect();
    match verdict(&outcome) {
        Verdict::AllSwapped => match swapper.controller.change(Change::SwapIndexes { swaps: swaps.clone() }).await {
            Ok(_) => super::run::rename_history(swapper, record.uid, &record.node_tasks, &swaps).await,
            Err(e) => return tracing::error!(task = record.uid, "every node swapped but the map cannot follow: {e}"),
        },
        Verdict::NeverReached | Verdict::NoneSwapped => {
            super::run::unfence(swapper, &involved).await;
            if record.node_tasks.is_empty() {
                let err = MeiliError::new(Code::MiroirNodeUnavailable, "The control plane restarted before the swap reached the nodes; nothing was swapped.");
                record.error = Some(err.to_value());
            }
        }
        Verdict::Diverged => {
            return tracing::error!(task = record.uid, ?involved, "some nodes swapped and some did not: the indexes stay fenced until an operator repairs them");
        }
    }
    let registry = swapper.registry.clone();
    match tokio::task::spawn_blocking(move || registry.update(record)).await {
        Ok(Ok(())) => tracing::info!("a swap left by a restart is settled"),
        Ok(Err(e)) => tracing::error!("cannot record a settled swap: {e}"),
        Err(e) => tracing::error!("recording a settled swap panicked: {e}"),
    }
}

/// The node's task for this swap (the oldest enqueued since, with these swaps), once ended.
fn look(api: &NodeApi, since: &str, swaps: &Value) -> Result<Seen, String> {
    let tasks = api.swap_tasks_since(since).map_err(|e| e.to_string())?;
    let Some(uid) = tasks.iter().rev().find(|t| t["details"]["swaps"] == *swaps).and_then(|t| t["uid"].as_u64()) else {
        return Ok(Seen::Missing);
    };
    match api.wait(uid) {
        Ok(()) => Ok(Seen::Succeeded(uid)),
        Err(crate::repair::node_api::NodeError::TaskFailed { .. }) => Ok(Seen::NotApplied(uid)),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nodes_decide_what_a_restart_left() {
        use Seen::*;
        assert_eq!(verdict(&[Missing, Missing]), Verdict::NeverReached);
        assert_eq!(verdict(&[Succeeded(1), Succeeded(4)]), Verdict::AllSwapped);
        assert_eq!(verdict(&[NotApplied(1), Missing]), Verdict::NoneSwapped);
        assert_eq!(verdict(&[Succeeded(1), Missing]), Verdict::Diverged);
        assert_eq!(verdict(&[Succeeded(1), NotApplied(2)]), Verdict::Diverged);
    }
}
