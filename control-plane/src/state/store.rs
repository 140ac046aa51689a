//! Where the cluster state lives between runs: one local file, replaced atomically.
//!
//! A save writes a temporary file, fsyncs it, renames it over `state.json` and fsyncs
//! the directory, so after a crash at any moment the file holds either the old or the
//! new state, whole; the admin API answers only after the save returned.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::ClusterState;

pub const STATE_FILE: &str = "state.json";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read the state file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("the state file {path} is not a valid state: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("cannot persist the state in {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("etcd: {0}")]
    Etcd(String),
    #[error("this replica is not the leader")]
    NotLeader,
}

/// Reads and writes the state. Calls block on I/O: run them off the async workers.
pub trait Store: Send + Sync + 'static {
    fn load(&self) -> Result<Option<ClusterState>, StoreError>;
    fn save(&self, state: &ClusterState) -> Result<(), StoreError>;
}

#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn new(dir: &Path) -> FileStore {
        FileStore { dir: dir.to_owned() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }
}

impl Store for FileStore {
    fn load(&self) -> Result<Option<ClusterState>, StoreError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|source| StoreError::Corrupt { path, source })
    }

    fn save(&self, state: &ClusterState) -> Result<(), StoreError> {
        let path = self.path();
        let write_err = |source| StoreError::Write { path: path.clone(), source };
        fs::create_dir_all(&self.dir).map_err(write_err)?;
        let temp = self.dir.join(format!(".{STATE_FILE}.tmp"));
        let mut file = File::create(&temp).map_err(write_err)?;
        let mut bytes = serde_json::to_vec_pretty(state).expect("a ClusterState always serializes");
        bytes.push(b'\n');
        file.write_all(&bytes).map_err(write_err)?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        fs::rename(&temp, &path).map_err(write_err)?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(write_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Change;

    #[test]
    fn a_saved_state_loads_back_and_a_missing_file_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(&dir.path().join("sub"));
        assert_eq!(store.load().unwrap(), None);
        let state = ClusterState::empty(2, 8)
            .apply(&Change::AddNode { id: "a".into(), address: "127.0.0.1:7710".into(), group: 0 })
            .unwrap()
            .unwrap();
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), Some(state.clone()));
        let next = state.apply(&Change::Drain { id: "a".into() }).unwrap().unwrap();
        store.save(&next).unwrap();
        assert_eq!(store.load().unwrap(), Some(next));
        assert!(!dir.path().join("sub/.state.json.tmp").exists(), "the temporary file was renamed away");
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), "{\"version\":").unwrap();
        assert!(matches!(FileStore::new(dir.path()).load(), Err(StoreError::Corrupt { .. })));
    }
}
