//! The task registry: hands out client-visible task uids and keeps each task's record.
//!
//! Every gateway registers its writes here, so a uid names the same task whichever
//! Envoy a client asks. A record is appended to `tasks.jsonl` and fsynced before its
//! uid is handed out, so a uid a client has seen is never reused after a restart.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use miroir_core::task::TaskRecord;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub const LOG_FILE: &str = "tasks.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot open the task log {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    /// A bad line before the last one is not a torn write: refuse rather than lose tasks.
    #[error("the task log {path} is corrupt at line {line}: {source}")]
    Corrupt { path: PathBuf, line: usize, source: serde_json::Error },
    #[error("cannot persist task {uid}: {source}")]
    Persist { uid: u64, source: io::Error },
    #[error("cannot load the shared task records: {0}")]
    Mirror(String),
}

/// Where a registry also keeps its records when control-plane replicas share them
/// (HA): a record is saved there before its uid is handed out, and a replica that
/// becomes the leader reloads every record from there.
pub trait Mirror: Send + Sync + 'static {
    /// Saves one record; fails once this replica no longer leads.
    fn save(&self, record: &TaskRecord) -> Result<(), String>;
    /// Drops the records of `uids` (`DELETE /tasks`) and keeps `next_uid` as a floor
    /// for [`Mirror::next_uid_floor`], so a forgotten uid is never handed out again;
    /// fails once this replica no longer leads.
    fn forget(&self, uids: &[u64], next_uid: u64) -> Result<(), String>;
    /// The largest `next_uid` a forget saved (0 if none).
    fn next_uid_floor(&self) -> Result<u64, String>;
    fn load_all(&self) -> Result<Vec<TaskRecord>, String>;
}

/// The registry; share it behind an `Arc`. Calls block on disk I/O.
pub struct Registry {
    path: PathBuf,
    state: Mutex<State>,
    mirror: Option<Arc<dyn Mirror>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("path", &self.path).field("mirrored", &self.mirror.is_some()).finish()
    }
}

#[derive(Debug)]
struct State {
    log: File,
    /// Length of the log up to its last complete record.
    len: u64,
    next_uid: u64,
    records: BTreeMap<u64, TaskRecord>,
}

/// One page of records, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub results: Vec<TaskRecord>,
    /// Uid the next page starts from, if older records remain.
    pub next: Option<u64>,
    pub total: usize,
}

impl Registry {
    /// Opens (or creates) the log in `dir` and reloads every record in it.
    pub fn open(dir: &Path) -> Result<Registry, RegistryError> {
        let path = dir.join(LOG_FILE);
        let open_err = |source| RegistryError::Open { path: path.clone(), source };
        std::fs::create_dir_all(dir).map_err(open_err)?;
        let mut log = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(open_err)?;
        let mut bytes = Vec::new();
        log.read_to_end(&mut bytes).map_err(open_err)?;

        let (mut records, len, next_uid) = parse_log(&path, &bytes)?;
        miroir_core::task::link_cancelations(&mut records);
        if len < bytes.len() as u64 {
            tracing::warn!(path = %path.display(), dropped = bytes.len() as u64 - len, "dropping a torn last line of the task log");
        }
        // Cut a torn tail so the next record starts on a line of its own.
        log.set_len(len).map_err(open_err)?;
        log.seek(SeekFrom::End(0)).map_err(open_err)?;
        let mut len = len;
        if len > 0 && bytes[len as usize - 1] != b'\n' {
            log.write_all(b"\n").map_err(open_err)?;
            len += 1;
        }
        log.sync_data().map_err(open_err)?;

        tracing::info!(path = %path.display(), tasks = records.len(), next_uid, "task registry loaded");
        Ok(Registry { path, state: Mutex::new(State { log, len, next_uid, records }), mirror: None })
    }

    /// Keeps the records in `mirror` too (see [`Mirror`]).
    pub fn with_mirror(mut self, mirror: Arc<dyn Mirror>) -> Registry {
        self.mirror = Some(mirror);
        self
    }

    /// Replaces the records with the mirror's and continues after its largest uid:
    /// what a replica does when it becomes the leader.
    pub fn reload_from_mirror(&self) -> Result<(), RegistryError> {
        let Some(mirror) = &self.mirror else { return Ok(()) };
        let records = mirror.load_all().map_err(RegistryError::Mirror)?;
        let floor = mirror.next_uid_floor().map_err(RegistryError::Mirror)?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.records = records.into_iter().map(|r| (r.uid, r)).collect();
        miroir_core::task::link_cancelations(&mut state.records);
        state.next_uid = state.records.keys().next_back().map_or(0, |uid| uid + 1).max(floor);
        tracing::info!(tasks = state.records.len(), next_uid = state.next_uid, "task records reloaded from the shared store");
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Assigns the next uid and the enqueue time, persists the record, and returns it.
    pub fn register(&self, mut record: TaskRecord) -> Result<TaskRecord, RegistryError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // A uid is spent even if persisting fails: part of the line may be on disk.
        let uid = state.next_uid;
        state.next_uid += 1;
        record.uid = uid;
        record.enqueued_at = now_rfc3339();
        record.canceled_by = None;
        self.persist(&mut state, record.clone())?;
        miroir_core::task::link_cancelation(&mut state.records, &record);
        Ok(record)
    }

    /// Saves `record` (mirror first, then a log line) and holds it.
    fn persist(&self, state: &mut State, record: TaskRecord) -> Result<(), RegistryError> {
        let uid = record.uid;
        // `canceled_by` is derived from the cancelations held, never stored.
        let stored = TaskRecord { canceled_by: None, ..record.clone() };
        if let Some(mirror) = &self.mirror {
            mirror.save(&stored).map_err(|e| RegistryError::Persist { uid, source: io::Error::other(e) })?;
        }
        let mut line = serde_json::to_vec(&stored).expect("a TaskRecord always serializes");
        line.push(b'\n');
        if let Err(source) = state.append(&line) {
            let len = state.len;
            let _ = state.log.set_len(len);
            return Err(RegistryError::Persist { uid, source });
        }
        state.records.insert(uid, record);
        Ok(())
    }

    /// Rewrites a registered record (a swap learns its node tasks after its 202): the
    /// log gets the record again, and the last line of a uid wins on reload.
    pub fn update(&self, record: TaskRecord) -> Result<(), RegistryError> {
        let with_links = |held: &TaskRecord| TaskRecord { canceled_by: held.canceled_by, ..record.clone() };
        self.rewrite(|held| (held.uid == record.uid).then(|| with_links(held))).map(|_| ())
    }

    /// Rewrites every record `f` changes (`Some`), persisted as [`Registry::update`]
    /// does; a forgotten record stays forgotten. Returns how many changed.
    pub fn rewrite(&self, f: impl Fn(&TaskRecord) -> Option<TaskRecord>) -> Result<usize, RegistryError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let changed: Vec<TaskRecord> = state.records.values().filter_map(&f).collect();
        for record in &changed {
            self.persist(&mut state, record.clone())?;
        }
        Ok(changed.len())
    }

    /// Forgets the records of `uids` (those it holds), persisting the deletion first:
    /// a `{"forget":[...]}` line in the log, so a restart does not bring them back.
    /// Their uids stay spent. Returns how many records were forgotten.
    pub fn forget(&self, uids: &[u64]) -> Result<usize, RegistryError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let held: Vec<u64> = uids.iter().copied().filter(|uid| state.records.contains_key(uid)).collect();
        let Some(&first) = held.first() else { return Ok(0) };
        if let Some(mirror) = &self.mirror {
            mirror.forget(&held, state.next_uid).map_err(|e| RegistryError::Persist { uid: first, source: io::Error::other(e) })?;
        }
        let mut line = serde_json::to_vec(&Forget { forget: held.clone() }).expect("a list of uids always serializes");
        line.push(b'\n');
        if let Err(source) = state.append(&line) {
            let len = state.len;
            let _ = state.log.set_len(len);
            return Err(RegistryError::Persist { uid: first, source });
        }
        for uid in &held {
            state.records.remove(uid);
        }
        // As a restart would: a forgotten cancelation no longer names its tasks.
        miroir_core::task::link_cancelations(&mut state.records);
        tracing::info!(forgotten = held.len(), "task records forgotten");
        Ok(held.len())
    }

    pub fn get(&self, uid: u64) -> Option<TaskRecord> {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).records.get(&uid).cloned()
    }

    /// Up to `limit` records with uid ≤ `from` (default: the newest), newest first.
    pub fn page(&self, from: Option<u64>, limit: usize) -> Page {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut older = state.records.range(..=from.unwrap_or(u64::MAX)).rev();
        let results: Vec<TaskRecord> = older.by_ref().take(limit).map(|(_, r)| r.clone()).collect();
        let next = older.next().map(|(uid, _)| *uid);
        Page { results, next, total: state.records.len() }
    }

    /// Up to `limit` records passing `keep` from uid `from` on (default: the newest),
    /// newest first or, `reverse`, oldest first; `total` counts every record passing.
    pub fn select(&self, from: Option<u64>, limit: usize, reverse: bool, keep: impl Fn(&TaskRecord) -> bool) -> Page {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let total = state.records.values().filter(|r| keep(r)).count();
        let mut passing: Box<dyn Iterator<Item = &TaskRecord>> = match (reverse, from) {
            (false, from) => Box::new(state.records.range(..=from.unwrap_or(u64::MAX)).rev().map(|(_, r)| r)),
            (true, from) => Box::new(state.records.range(from.unwrap_or(0)..).map(|(_, r)| r)),
        };
        let mut passing = passing.by_ref().filter(|r| keep(r));
        let results: Vec<TaskRecord> = passing.by_ref().take(limit).cloned().collect();
        let next = passing.next().map(|r| r.uid);
        Page { results, next, total }
    }
}

impl State {
    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        self.log.seek(SeekFrom::Start(self.len))?;
        self.log.write_all(line)?;
        self.log.sync_data()?;
        self.len += line.len() as u64;
        Ok(())
    }
}

/// A log line that forgets records (`DELETE /tasks`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Forget {
    forget: Vec<u64>,
}

/// Parses the log; returns the records, the length of its intact part, and the next
/// uid (past every uid the log names, forgotten ones too: a uid is never reused).
fn parse_log(path: &Path, bytes: &[u8]) -> Result<(BTreeMap<u64, TaskRecord>, u64, u64), RegistryError> {
    let mut records = BTreeMap::new();
    let mut next_uid = 0;
    let mut good_len = 0;
    let mut offset = 0;
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let end = (offset + line.len() + 1).min(bytes.len());
        let blank = line.iter().all(u8::is_ascii_whitespace);
        if !blank {
            if let Ok(forget) = serde_json::from_slice::<Forget>(line) {
                for uid in forget.forget {
                    records.remove(&uid);
                    next_uid = next_uid.max(uid + 1);
                }
                good_len = end;
                offset = end;
                continue;
            }
            match serde_json::from_slice::<TaskRecord>(line) {
                Ok(record) => {
                    next_uid = next_uid.max(record.uid + 1);
                    records.insert(record.uid, record);
                    good_len = end;
                }
                Err(_) if lines[i + 1..].iter().all(|l| l.iter().all(u8::is_ascii_whitespace)) => break,
                Err(source) => return Err(RegistryError::Corrupt { path: path.to_owned(), line: i + 1, source }),
            }
        } else {
            good_len = end;
        }
        offset = end;
    }
    Ok((records, good_len as u64, next_uid))
}

/// Now, as Meilisearch writes `enqueuedAt`: RFC 3339, UTC, fractional seconds.
pub fn now_rfc3339() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).expect("the current UTC time always formats as RFC 3339")
}

#[cfg(test)]
mod tests;
