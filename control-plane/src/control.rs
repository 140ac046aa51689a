//! The controller: the one place the cluster state changes. A change is applied,
//! checked as a snapshot, persisted, and only then served and acknowledged, so an
//! acknowledged change survives a crash and Envoy never gets a state that was lost.

use std::sync::Arc;

use tokio::sync::{watch, Mutex};

use crate::metrics::{labels, Metrics};
use crate::state::store::{Store, StoreError};
use crate::state::{Change, ChangeError, ClusterHealth, ClusterState};
use crate::xds::resources::HostPort;
use crate::xds::snapshot::SnapshotError;
use crate::xds::{Cache, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error("the change would give an inconsistent snapshot: {0}")]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this replica is a follower; the leader is {0}")]
    NotLeader(String),
    #[error("the store task panicked")]
    Panicked,
}

pub struct Controller {
    state: watch::Sender<Arc<ClusterState>>,
    store: Arc<dyn Store>,
    cache: Cache,
    control: Vec<HostPort>,
    /// Serializes changes: each one starts from the state the last one left.
    writer: Mutex<()>,
    metrics: Arc<Metrics>,
    /// `None` when this replica may write; else who leads (an address, or "unknown").
    follower_of: watch::Receiver<Option<String>>,
}

impl Controller {
    pub fn new(
        initial: ClusterState,
        store: Arc<dyn Store>,
        control: Vec<HostPort>,
        metrics: Arc<Metrics>,
        follower_of: watch::Receiver<Option<String>>,
    ) -> Result<Controller, ControlError> {
        let controller = Controller {
            state: watch::channel(Arc::new(initial.clone())).0,
            store,
            cache: Cache::default(),
            control,
            writer: Mutex::new(()),
            metrics,
            follower_of,
        };
        controller.publish(initial)?;
        Ok(controller)
    }

    pub fn state(&self) -> Arc<ClusterState> {
        self.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<ClusterState>> {
        self.state.subscribe()
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Who leads, when this replica does not.
    pub fn leader(&self) -> Option<String> {
        self.follower_of.borrow().clone()
    }

    /// Applies `change`, persists the result, then serves it. Returns the state now served.
    pub async fn change(&self, change: Change) -> Result<Arc<ClusterState>, ControlError> {
        let _writing = self.writer.lock().await;
        if let Some(leader) = self.leader() {
            return Err(ControlError::NotLeader(leader));
        }
        let current = self.state();
        let Some(next) = current.apply(&change)? else { return Ok(current) };
        Snapshot::build(&next, &self.control)?;
        let store = self.store.clone();
        let saved = next.clone();
        tokio::task::spawn_blocking(move || store.save(&saved)).await.map_err(|_| ControlError::Panicked)??;
        tracing::info!(version = next.version, ?change, "cluster state changed");
        self.publish(next)?;
        Ok(self.state())
    }

    /// Serves a state another replica wrote (followers watching the shared store).
    pub fn adopt(&self, mut state: ClusterState) -> Result<(), ControlError> {
        // The node key is never stored: keep this replica's own.
        state.node_key = self.state().node_key.clone();
        if state.version > self.state().version {
            tracing::info!(version = state.version, "following the shared state");
            self.publish(state)?;
        }
        Ok(())
    }

    fn publish(&self, state: ClusterState) -> Result<(), ControlError> {
        let snapshot = Snapshot::build(&state, &self.control)?;
        self.cache.set(snapshot)?;
        self.metrics.map_version.set(state.version as i64);
        for node in &state.nodes {
            let up = node.map_state() == miroir_core::shard_map::NodeState::Up;
            self.metrics.node_up.get_or_create(&labels(&[("node", &node.id)])).set(i64::from(up));
        }
        let health = match state.health().status {
            ClusterHealth::Green => 0,
            ClusterHealth::Yellow => 1,
            ClusterHealth::Red => 2,
        };
        self.metrics.cluster_health.set(health);
        self.state.send_replace(Arc::new(state));
        Ok(())
    }
}
