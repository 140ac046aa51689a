//! Tombstones: per index, the version of the last delete by id, from the task records
//! the filter registers. Anti-entropy never brings back a copy older than its tombstone.
//! Rebuilt from the stored records at start, so a restart forgets none.
//!
//! Deletes by filter and index clears carry no ids, so they leave no tombstone (see
//! docs/convergence.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use miroir_core::task::TaskRecord;

/// Index uid → canonical id → version of its last delete.
pub type IndexTombstones = HashMap<String, u64>;

#[derive(Debug, Default)]
pub struct Tombstones {
    by_index: Mutex<HashMap<String, Arc<IndexTombstones>>>,
}

impl Tombstones {
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a TaskRecord>) -> Tombstones {
        let tombstones = Tombstones::default();
        for record in records {
            tombstones.record(record);
        }
        tombstones
    }

    /// Keeps the record's tombstones (a later delete of an id keeps the higher version).
    pub fn record(&self, record: &TaskRecord) {
        let (Some(index), Some(deleted)) = (&record.index_uid, &record.tombstones) else { return };
        let mut all = self.by_index.lock().unwrap_or_else(|e| e.into_inner());
        let entry = Arc::make_mut(all.entry(index.clone()).or_default());
        for id in &deleted.ids {
            let version = entry.entry(id.clone()).or_insert(0);
            *version = (*version).max(deleted.version);
        }
    }

    /// The index's tombstones as they are now (cheap: shared until the next delete).
    pub fn of(&self, index: &str) -> Arc<IndexTombstones> {
        self.by_index.lock().unwrap_or_else(|e| e.into_inner()).get(index).cloned().unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.by_index.lock().unwrap_or_else(|e| e.into_inner()).values().map(|t| t.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use miroir_core::task::{TaskRecord, Tombstones as Deleted};
    use serde_json::json;

    use super::*;

    fn delete(index: &str, version: u64, ids: &[&str]) -> TaskRecord {
        let mut record: TaskRecord =
            serde_json::from_value(json!({"indexUid": index, "type": "documentDeletion", "nodeTasks": []})).unwrap();
        record.tombstones = Some(Deleted { version, ids: ids.iter().map(|s| s.to_string()).collect() });
        record
    }

    #[test]
    fn the_highest_delete_version_per_id_and_index_is_kept() {
        let records = [delete("movies", 10, &["1", "2"]), delete("movies", 5, &["1"]), delete("books", 7, &["1"]), delete("movies", 12, &["2"])];
        let t = Tombstones::from_records(&records);
        assert_eq!(t.of("movies").get("1"), Some(&10));
        assert_eq!(t.of("movies").get("2"), Some(&12));
        assert_eq!(t.of("books").get("1"), Some(&7));
        assert!(t.of("other").is_empty());
        assert_eq!(t.len(), 3);
    }
}
