//! One swap, start to end (see the module above for the steps and why).

use std::sync::Arc;

use miroir_core::swap::IndexSwap;
use miroir_core::task::{NodeTask, TaskRecord};
use miroir_core::{Code, MeiliError};
use serde_json::Value;

use super::Swapper;
use crate::repair::node_api::{NodeApi, NodeError};
use crate::state::Change;

/// What one node did with the swap.
struct NodeOutcome {
    api: NodeApi,
    id: String,
    /// The node task, when the node took the swap.
    task: Option<u64>,
    result: Result<(), NodeError>,
}

pub(super) async fn run(swapper: Arc<Swapper>, mut record: TaskRecord, swaps: Vec<IndexSwap>) {
    let _turn = swapper.turn.lock().await;
    match swap_everywhere(&swapper, record.uid, &swaps).await {
        Ok(tasks) => record.node_tasks = tasks,
        // A node's failed task carries its own error: Miroir's only when none does.
        Err((tasks, err)) => {
            record.error = err.map(|e| e.to_value());
            record.node_tasks = tasks;
        }
    }
    let registry = swapper.registry.clone();
    let uid = record.uid;
    match tokio::task::spawn_blocking(move || registry.update(record)).await {
        Ok(Ok(())) => tracing::info!(task = uid, "index swap settled"),
        Ok(Err(e)) => tracing::error!(task = uid, "cannot record the swap's outcome: {e}"),
        Err(e) => tracing::error!(task = uid, "recording the swap panicked: {e}"),
    }
}

/// The node tasks, and Miroir's error unless a node task failed (its error is the task's).
type Failure = (Vec<NodeTask>, Option<MeiliError>);

async fn swap_everywhere(swapper: &Swapper, swap_uid: u64, swaps: &[IndexSwap]) -> Result<Vec<NodeTask>, Failure> {
    let involved: Vec<String> = swaps.iter().flat_map(|s| [s.indexes.0.clone(), s.indexes.1.clone()]).collect();
    let internal = |m: String| (Vec::new(), Some(MeiliError::new(Code::MiroirNodeUnavailable, m)));
    // The rebalancer and the repairer write to nodes directly, by placement: no swap
    // while they may be moving documents, nor while a node cannot swap.
    let busy: Vec<String> = swapper.controller.state().nodes.iter().filter(|n| n.down || n.joining || n.draining || n.recovering).map(|n| n.id.clone()).collect();
    if !busy.is_empty() {
        return Err(internal(format!("A swap needs every node up and active; not so: {}. Try again once the cluster is green.", busy.join(", "))));
    }
    let fenced = swapper.controller.change(Change::Fence { indexes: involved.clone(), on: true }).await.map_err(|e| internal(format!("cannot fence the indexes: {e}")))?;
    if !acked(swapper, fenced.version).await {
        unfence(swapper, &involved).await;
        return Err(internal("not every Envoy took the swap's fence in time".into()));
    }
    tokio::time::sleep(swapper.drain).await;

    let state = swapper.controller.state();
    let key = state.node_key.clone();
    let apis: Vec<(String, NodeApi)> = state.nodes.iter().map(|n| (n.id.clone(), NodeApi::new(&n.address, key.as_deref()))).collect();
    let outcomes = on_every_node(apis, body_of(swaps)).await;
    let tasks: Vec<NodeTask> = outcomes
        .iter()
        .filter_map(|o| o.task.map(|task_uid| NodeTask { node: o.id.clone(), task_uid, hidden: false, documents: 0 }))
        .collect();

    if outcomes.iter().all(|o| o.result.is_ok()) {
        let swapped = swapper.controller.change(Change::SwapIndexes { swaps: swaps.to_vec() }).await;
        return match swapped {
            Ok(state) => {
                if !acked(swapper, state.version).await {
                    tracing::warn!(version = state.version, "not every Envoy holds the swapped map yet");
                }
                rename_history(swapper, swap_uid, &tasks, swaps).await;
                Ok(tasks)
            }
            // The nodes swapped but the map cannot follow: the fence stays up.
            Err(e) => {
                tracing::error!("every node swapped but the map change failed, indexes stay fenced: {e}");
                Err((tasks, Some(MeiliError::new(Code::Internal, format!("the swapped map could not be saved: {e}")))))
            }
        };
    }

    for o in outcomes.iter().filter(|o| o.result.is_err()) {
        if let Err(e) = &o.result {
            tracing::warn!(node = %o.id, "swap failed on a node: {e}");
        }
    }
    let swapped: Vec<(String, NodeApi)> = outcomes.iter().filter(|o| o.result.is_ok()).map(|o| (o.id.clone(), o.api.clone())).collect();
    let back = on_every_node(swapped, body_of(&inverse(swaps))).await;
    if back.iter().all(|o| o.result.is_ok()) {
        unfence(swapper, &involved).await;
    } else {
        tracing::error!(?involved, "a node cannot swap back: the nodes disagree, the indexes stay fenced until an operator repairs them");
    }
    let node_failed = outcomes.iter().any(|o| matches!(o.result, Err(NodeError::TaskFailed { .. })));
    if node_failed {
        return Err((tasks, None));
    }
    let first = outcomes.iter().find_map(|o| o.result.as_ref().err().map(ToString::to_string)).unwrap_or_default();
    Err((tasks, Some(MeiliError::new(Code::MiroirNodeUnavailable, format!("A node could not swap the indexes: {first}")))))
}

/// Renames the swapped indexes in the task history (see `history`).
pub(super) async fn rename_history(swapper: &Swapper, swap_uid: u64, tasks: &[NodeTask], swaps: &[IndexSwap]) {
    let at: std::collections::HashMap<String, u64> = tasks.iter().map(|t| (t.node.clone(), t.task_uid)).collect();
    let (registry, swaps) = (swapper.registry.clone(), swaps.to_vec());
    let rewrite = move || registry.rewrite(|r| super::history::renamed(r, swap_uid, &at, &swaps));
    match tokio::task::spawn_blocking(rewrite).await {
        Ok(Ok(n)) => tracing::info!(task = swap_uid, renamed = n, "task history follows the swap"),
        Ok(Err(e)) => tracing::error!(task = swap_uid, "cannot rename the swapped indexes in the task history: {e}"),
        Err(e) => tracing::error!(task = swap_uid, "renaming the task history panicked: {e}"),
    }
}

/// The swaps that undo `swaps` (no index appears twice, so the order does not matter).
pub(super) fn inverse(swaps: &[IndexSwap]) -> Vec<IndexSwap> {
    swaps
        .iter()
        .map(|s| match s.rename {
            true => IndexSwap { indexes: (s.indexes.1.clone(), s.indexes.0.clone()), rename: true },
            false => s.clone(),
        })
        .collect()
}

fn body_of(swaps: &[IndexSwap]) -> Value {
    serde_json::to_value(swaps).unwrap_or(Value::Array(Vec::new()))
}

/// Enqueues the swap on every node at once and waits for each node task.
async fn on_every_node(apis: Vec<(String, NodeApi)>, body: Value) -> Vec<NodeOutcome> {
    let calls = apis.into_iter().map(|(id, api)| {
        let body = body.clone();
        tokio::task::spawn_blocking(move || {
            let task = api.swap_indexes(&body);
            let (task, result) = match task {
                Ok(uid) => (Some(uid), api.wait(uid)),
                Err(e) => (None, Err(e)),
            };
            NodeOutcome { api, id, task, result }
        })
    });
    let mut outcomes = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        match call.await {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => tracing::error!("a node swap panicked: {e}"),
        }
    }
    outcomes
}

/// Waits until every connected Envoy holds map `version` (bounded by `ack_timeout`).
async fn acked(swapper: &Swapper, version: u64) -> bool {
    let all = |e: &std::collections::BTreeMap<String, crate::xds::status::EnvoyStatus>| {
        e.values().filter(|s| s.streams > 0).all(|s| s.map_version >= Some(version))
    };
    tokio::time::timeout(swapper.ack_timeout, swapper.envoys.wait_for(all)).await.is_ok()
}

pub(super) async fn unfence(swapper: &Swapper, involved: &[String]) {
    if let Err(e) = swapper.controller.change(Change::Fence { indexes: involved.to_vec(), on: false }).await {
        tracing::error!(?involved, "cannot lift the swap's fence: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inverse_undoes_swaps_and_renames() {
        let swaps = vec![
            IndexSwap { indexes: ("a".into(), "b".into()), rename: false },
            IndexSwap { indexes: ("c".into(), "d".into()), rename: true },
        ];
        let back = inverse(&swaps);
        assert_eq!(back[0], swaps[0]);
        assert_eq!(back[1], IndexSwap { indexes: ("d".into(), "c".into()), rename: true });
        assert_eq!(body_of(&swaps), serde_json::json!([{"indexes": ["a", "b"], "rename": false}, {"indexes": ["c", "d"], "rename": true}]));
    }
}
