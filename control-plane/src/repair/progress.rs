//! The rebalancer's progress: what `miroir status`, `miroir rebalance` and `/metrics`
//! show, persisted in `<data-dir>/rebalance.json` (replaced atomically) so that after a
//! restart the shards already brought in sync for the same cluster state are not redone.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const PROGRESS_FILE: &str = "rebalance.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The cluster state version the current plan was made for.
    pub plan_version: u64,
    /// `idle` (nothing to move), `repairing`, `cleaning`.
    pub phase: String,
    /// Shards (`index/shard`) that need a pass under this plan, and those found in sync.
    pub shards_total: usize,
    pub shards_done: BTreeSet<String>,
    /// Over the plan's lifetime.
    pub documents_compared: u64,
    pub documents_copied: u64,
    pub documents_deleted: u64,
    /// Ids the last pass left to the write path (their newest version was recent).
    pub documents_unsettled: u64,
    /// Over the control plane's lifetime: old copies removed after a move.
    pub documents_cleaned: u64,
    pub passes: u64,
    /// An operator asked for a full repair pass over every shard (`miroir rebalance --repair`).
    pub full_repair: bool,
    /// Nodes waiting for their flip: joining, recovering, leaving.
    pub waiting: Vec<String>,
    pub last_error: Option<String>,
    /// Seconds the plan has been running, and its copy rate (documents written per second).
    pub elapsed_secs: f64,
    pub rate: f64,
}

impl Progress {
    /// Nothing left to do: no shard to sync, no node waiting, no repair asked.
    pub fn settled(&self) -> bool {
        self.phase == "idle" && self.waiting.is_empty() && !self.full_repair
    }

    pub fn key(index: &str, shard: u32) -> String {
        format!("{index}/{shard}")
    }
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join(PROGRESS_FILE)
}

/// The saved progress; a missing or unreadable file is a fresh start (every shard is
/// checked again, which is safe: a pass over a shard in sync changes nothing).
pub fn load(dir: &Path) -> Progress {
    fs::read(path(dir)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

pub fn save(dir: &Path, progress: &Progress) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{PROGRESS_FILE}.tmp"));
    let mut file = File::create(&temp)?;
    file.write_all(&serde_json::to_vec_pretty(progress).map_err(io::Error::other)?)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&temp, path(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_survives_a_save_and_a_missing_file_is_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), Progress::default());
        let mut p = Progress { plan_version: 7, phase: "repairing".into(), shards_total: 4, ..Progress::default() };
        p.shards_done.insert(Progress::key("movies", 3));
        save(dir.path(), &p).unwrap();
        assert_eq!(load(dir.path()), p);
        assert!(!p.settled());
    }
}
