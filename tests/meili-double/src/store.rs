//! In-memory state (indexes, documents, tasks) and its persistence under
//! `--db-path`: a snapshot written atomically after each processing round,
//! and one queue file per enqueued task written before answering 202.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::payload::Document;
use crate::settings::Settings;
use crate::tasks::{Status, Task};

/// A stored document with its external id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDoc {
    pub id: String,
    pub doc: Document,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Index {
    pub uid: String,
    pub primary_key: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub settings: Settings,
    /// Top-level field names in order of first appearance (Meilisearch's
    /// field ids): stored documents list their fields in this order.
    pub fields: Vec<String>,
    /// Documents by internal id (smallest free id is reused, as in milli).
    pub docs: BTreeMap<u32, StoredDoc>,
    #[serde(skip)]
    pub ext_ids: HashMap<String, u32>,
}

impl Index {
    pub fn new(uid: &str, primary_key: Option<String>, now: OffsetDateTime) -> Self {
        Index {
            uid: uid.to_string(),
            primary_key,
            created_at: now,
            updated_at: now,
            settings: Settings::default(),
            fields: Vec::new(),
            docs: BTreeMap::new(),
            ext_ids: HashMap::new(),
        }
    }

    pub fn rebuild_ext_ids(&mut self) {
        self.ext_ids = self.docs.iter().map(|(k, d)| (d.id.clone(), *k)).collect();
    }

    /// Registers a field name (no-op when known).
    pub fn register_field(&mut self, name: &str) {
        if !self.fields.iter().any(|f| f == name) {
            self.fields.push(name.to_string());
        }
    }

    /// Reorders a document's fields by field id, registering new ones.
    pub fn normalize(&mut self, doc: Document) -> Document {
        for key in doc.keys() {
            self.register_field(key);
        }
        let positions: HashMap<&str, usize> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), i))
            .collect();
        let mut entries: Vec<(String, Value)> = doc.into_iter().collect();
        entries.sort_by_key(|(k, _)| positions.get(k.as_str()).copied().unwrap_or(usize::MAX));
        entries.into_iter().collect()
    }

    fn free_internal_id(&self) -> u32 {
        // fast path: ids are dense, the next one is free
        match self.docs.last_key_value() {
            None => return 0,
            Some((last, _)) if *last as usize + 1 == self.docs.len() => return last + 1,
            _ => {}
        }
        let mut expected = 0u32;
        for k in self.docs.keys() {
            if *k != expected {
                return expected;
            }
            expected += 1;
        }
        expected
    }

    /// Inserts or replaces (or merges into) the document with `id`.
    pub fn upsert(&mut self, id: String, doc: Document, merge: bool) {
        match self.ext_ids.get(&id).copied() {
            Some(internal) => {
                let new_doc = match (merge, self.docs.get(&internal)) {
                    (true, Some(old)) => {
                        let mut merged = old.doc.clone();
                        for (k, v) in doc {
                            merged.insert(k, v);
                        }
                        merged
                    }
                    _ => doc,
                };
                let new_doc = self.normalize(new_doc);
                self.docs.insert(internal, StoredDoc { id, doc: new_doc });
            }
            None => {
                let internal = self.free_internal_id();
                let doc = self.normalize(doc);
                self.ext_ids.insert(id.clone(), internal);
                self.docs.insert(internal, StoredDoc { id, doc });
            }
        }
    }

    pub fn delete(&mut self, id: &str) -> bool {
        match self.ext_ids.remove(id) {
            Some(internal) => {
                self.docs.remove(&internal);
                true
            }
            None => false,
        }
    }

    pub fn get(&self, id: &str) -> Option<&Document> {
        self.ext_ids
            .get(id)
            .and_then(|i| self.docs.get(i))
            .map(|d| &d.doc)
    }

    pub fn clear(&mut self) -> usize {
        let n = self.docs.len();
        self.docs.clear();
        self.ext_ids.clear();
        n
    }

    /// Number of documents containing each top-level field (as Meilisearch's
    /// `fieldDistribution` shows it).
    pub fn field_distribution(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for d in self.docs.values() {
            for key in d.doc.keys() {
                *out.entry(key.clone()).or_insert(0) += 1;
            }
        }
        out
    }

    /// Bytes of the stored documents as JSON.
    pub fn raw_size(&self) -> u64 {
        self.docs
            .values()
            .map(|d| {
                serde_json::to_vec(&d.doc)
                    .map(|v| v.len() as u64)
                    .unwrap_or(0)
            })
            .sum()
    }
}

/// The whole state of a node.
#[derive(Debug, Default)]
pub struct Db {
    pub indexes: BTreeMap<String, Index>,
    pub tasks: BTreeMap<u32, Task>,
    pub next_task_uid: u32,
    pub next_batch_uid: u32,
    /// Documents of enqueued `documentAdditionOrUpdate` tasks.
    pub payloads: HashMap<u32, Vec<Document>>,
    /// When the last task finished (for `GET /stats`).
    pub last_update: Option<OffsetDateTime>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    version: u32,
    indexes: Vec<Index>,
    tasks: Vec<Task>,
    next_task_uid: u32,
    next_batch_uid: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    last_update: Option<OffsetDateTime>,
}

#[derive(Serialize, Deserialize)]
struct QueueEntry {
    task: Task,
    #[serde(default)]
    documents: Option<Vec<Document>>,
}

const SNAPSHOT: &str = "double-snapshot.json";
const QUEUE_DIR: &str = "double-queue";

/// Where a node keeps its files.
#[derive(Debug, Clone)]
pub struct Persistence {
    dir: PathBuf,
}

impl Persistence {
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir.join(QUEUE_DIR))?;
        Ok(Persistence {
            dir: dir.to_path_buf(),
        })
    }

    fn queue_path(&self, uid: u32) -> PathBuf {
        self.dir.join(QUEUE_DIR).join(format!("{uid:010}.json"))
    }

    /// Loads the snapshot and the queue; tasks in the queue that the snapshot
    /// already has as processed are dropped.
    pub fn load(&self) -> std::io::Result<Db> {
        let mut db = Db::default();
        let snap_path = self.dir.join(SNAPSHOT);
        if snap_path.exists() {
            let bytes = fs::read(&snap_path)?;
            let snap: Snapshot = serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            for mut index in snap.indexes {
                index.rebuild_ext_ids();
                db.indexes.insert(index.uid.clone(), index);
            }
            for task in snap.tasks {
                db.tasks.insert(task.uid, task);
            }
            db.next_task_uid = snap.next_task_uid;
            db.next_batch_uid = snap.next_batch_uid;
            db.last_update = snap.last_update;
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(self.dir.join(QUEUE_DIR))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        entries.sort();
        for path in entries {
            let Ok(bytes) = fs::read(&path) else { continue };
            let Ok(entry) = serde_json::from_slice::<QueueEntry>(&bytes) else {
                // a torn write of a request that was never acknowledged
                let _ = fs::remove_file(&path);
                continue;
            };
            let uid = entry.task.uid;
            if db
                .tasks
                .get(&uid)
                .is_some_and(|t| t.status != Status::Enqueued)
            {
                let _ = fs::remove_file(&path);
                continue;
            }
            let mut task = entry.task;
            task.status = Status::Enqueued;
            task.started_at = None;
            task.finished_at = None;
            task.batch_uid = None;
            if let Some(docs) = entry.documents {
                db.payloads.insert(uid, docs);
            }
            db.next_task_uid = db.next_task_uid.max(uid + 1);
            db.tasks.insert(uid, task);
        }
        Ok(db)
    }

    /// Persists an enqueued task (and its documents) before it is acknowledged.
    pub fn write_queued(
        &self,
        task: &Task,
        documents: Option<&Vec<Document>>,
    ) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct Ref<'a> {
            task: &'a Task,
            documents: Option<&'a Vec<Document>>,
        }
        let bytes = serde_json::to_vec(&Ref { task, documents })?;
        atomic_write(&self.queue_path(task.uid), &bytes)
    }

    pub fn remove_queued(&self, uid: u32) {
        let _ = fs::remove_file(self.queue_path(uid));
    }

    /// Writes the processed state atomically (temp file, fsync, rename).
    pub fn write_snapshot(&self, db: &Db) -> std::io::Result<()> {
        #[derive(Serialize)]
        struct SnapshotRef<'a> {
            version: u32,
            indexes: Vec<&'a Index>,
            tasks: Vec<&'a Task>,
            next_task_uid: u32,
            next_batch_uid: u32,
            #[serde(with = "time::serde::rfc3339::option")]
            last_update: Option<OffsetDateTime>,
        }
        let snap = SnapshotRef {
            version: 1,
            indexes: db.indexes.values().collect(),
            tasks: db
                .tasks
                .values()
                .filter(|t| t.status != Status::Enqueued)
                .collect(),
            next_task_uid: db.next_task_uid,
            next_batch_uid: db.next_batch_uid,
            last_update: db.last_update,
        };
        let bytes = serde_json::to_vec(&snap)?;
        atomic_write(&self.dir.join(SNAPSHOT), &bytes)
    }
}

pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Document {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn documents_keep_field_id_order() {
        let mut idx = Index::new("x", Some("id".into()), OffsetDateTime::UNIX_EPOCH);
        idx.upsert("1".into(), doc(json!({"id":1,"title":"a"})), false);
        idx.upsert(
            "2".into(),
            doc(json!({"title":"b","id":2,"extra":true})),
            false,
        );
        let keys: Vec<&String> = idx.get("2").unwrap().keys().collect();
        assert_eq!(keys, vec!["id", "title", "extra"]);
    }

    #[test]
    fn partial_update_merges_top_level_fields() {
        let mut idx = Index::new("x", Some("id".into()), OffsetDateTime::UNIX_EPOCH);
        idx.upsert("1".into(), doc(json!({"id":1,"a":1,"b":{"c":1}})), false);
        idx.upsert("1".into(), doc(json!({"id":1,"b":{"d":2}})), true);
        assert_eq!(
            Value::Object(idx.get("1").unwrap().clone()),
            json!({"id":1,"a":1,"b":{"d":2}})
        );
        idx.upsert("1".into(), doc(json!({"id":1})), false);
        assert_eq!(
            Value::Object(idx.get("1").unwrap().clone()),
            json!({"id":1})
        );
    }

    #[test]
    fn freed_internal_ids_are_reused() {
        let mut idx = Index::new("x", Some("id".into()), OffsetDateTime::UNIX_EPOCH);
        for i in 0..3 {
            idx.upsert(i.to_string(), doc(json!({"id": i})), false);
        }
        assert!(idx.delete("0"));
        idx.upsert("9".into(), doc(json!({"id": 9})), false);
        let order: Vec<&str> = idx.docs.values().map(|d| d.id.as_str()).collect();
        assert_eq!(order, vec!["9", "1", "2"]);
    }

    #[test]
    fn enqueued_tasks_are_restored_from_the_queue() {
        let dir = std::env::temp_dir().join(format!("meili-double-store-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let p = Persistence::open(&dir).unwrap();
        let task = Task::new(
            0,
            Some("movies".into()),
            crate::tasks::TaskKind::DocumentAdditionOrUpdate {
                primary_key: None,
                merge: false,
                skip_creation: false,
            },
            None,
        );
        p.write_queued(&task, Some(&vec![doc(json!({"id": 1}))]))
            .unwrap();
        let db = p.load().unwrap();
        assert_eq!(db.tasks[&0].status, Status::Enqueued);
        assert_eq!(db.payloads[&0].len(), 1);
        assert_eq!(db.next_task_uid, 1);
        // once processed and snapshotted, the queue file is ignored
        let mut db = db;
        if let Some(t) = db.tasks.get_mut(&0) {
            t.status = Status::Succeeded;
        }
        p.write_snapshot(&db).unwrap();
        let db = p.load().unwrap();
        assert_eq!(db.tasks[&0].status, Status::Succeeded);
        assert!(db.payloads.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn field_distribution_counts_top_level_fields() {
        let mut idx = Index::new("x", Some("id".into()), OffsetDateTime::UNIX_EPOCH);
        idx.upsert("1".into(), doc(json!({"id":1,"a":{"b":1}})), false);
        idx.upsert("2".into(), doc(json!({"id":2})), false);
        let fd = idx.field_distribution();
        assert_eq!(fd.get("id"), Some(&2));
        assert_eq!(fd.get("a"), Some(&1));
        assert_eq!(fd.get("a.b"), None);
    }
}
