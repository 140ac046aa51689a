//! The control plane's own health checks of the Meilisearch nodes: a node failing
//! `GET /health` three times in a row is marked down in the map (the filter then skips it
//! for reads); one success marks it up again. Envoy's active health checks and
//! outlier detection stop traffic to it sooner; this makes it visible in the map,
//! the cluster health and the admin API. Only the leader probes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::control::{ControlError, Controller};
use crate::launcher::probe_address;
use crate::state::Change;

pub const FAILURES_TO_DOWN: u32 = 3;

pub async fn run(controller: Arc<Controller>, interval: Duration) {
    let mut failures: BTreeMap<String, u32> = BTreeMap::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if controller.leader().is_some() {
            failures.clear();
            continue;
        }
        let state = controller.state();
        let probes = state.nodes.iter().map(|n| {
            let address = n.address.clone();
            async move { matches!(tokio::time::timeout(interval, probe_address(&address, "/health")).await, Ok(Ok(200))) }
        });
        let results = futures_join(probes).await;
        failures.retain(|id, _| state.node(id).is_some());
        for (node, healthy) in state.nodes.iter().zip(results) {
            let count = failures.entry(node.id.clone()).or_default();
            *count = if healthy { 0 } else { count.saturating_add(1) };
            let down = match (*count, node.down) {
                (0, true) => false,
                (n, false) if n >= FAILURES_TO_DOWN => true,
                _ => continue,
            };
            tracing::warn!(node = %node.id, address = %node.address, down, "node health changed");
            match controller.change(Change::SetDown { id: node.id.clone(), down }).await {
                Ok(_) | Err(ControlError::NotLeader(_)) => {}
                Err(e) => tracing::error!(node = %node.id, "cannot record the node's health: {e}"),
            }
        }
    }
}

/// Runs the probes concurrently (a dead node costs one timeout, not one per node).
async fn futures_join<F: std::future::Future<Output = bool> + Send + 'static>(probes: impl Iterator<Item = F>) -> Vec<bool> {
    let handles: Vec<_> = probes.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap_or(false));
    }
    out
}
