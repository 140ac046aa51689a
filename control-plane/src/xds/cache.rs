//! The snapshot cache: the one current snapshot every stream serves, replaced whole.
//! Only checked snapshots get in, except through the test-only door.

use std::sync::Arc;

use tokio::sync::watch;

use super::snapshot::{Snapshot, SnapshotError};

#[derive(Clone)]
pub struct Cache {
    current: Arc<watch::Sender<Option<Arc<Snapshot>>>>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache { current: Arc::new(watch::channel(None).0) }
    }
}

impl Cache {
    /// Serves `snapshot` from now on, if it is consistent; otherwise keeps the current one.
    pub fn set(&self, snapshot: Snapshot) -> Result<(), SnapshotError> {
        snapshot.check()?;
        self.replace(snapshot);
        Ok(())
    }

    /// Serves `snapshot` without checking it: for tests that show what Envoy does with
    /// an inconsistent one.
    pub fn set_unchecked(&self, mut snapshot: Snapshot) {
        snapshot.checked = false;
        self.replace(snapshot);
    }

    fn replace(&self, snapshot: Snapshot) {
        self.current.send_if_modified(|current| {
            let same = current.as_deref() == Some(&snapshot);
            if !same {
                *current = Some(Arc::new(snapshot));
            }
            !same
        });
    }

    pub fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Snapshot>>> {
        self.current.subscribe()
    }
}
