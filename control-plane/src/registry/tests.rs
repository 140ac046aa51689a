use std::sync::Arc;

use miroir_core::task::NodeTask;

use super::*;

fn task(index: &str) -> TaskRecord {
    TaskRecord {
        uid: 999,
        index_uid: Some(index.into()),
        kind: "documentAdditionOrUpdate".into(),
        node_tasks: vec![NodeTask { node: "node0".into(), task_uid: 4, hidden: false, documents: 0 }],
        ..TaskRecord::default()
    }
}

/// A shared store in memory that can be told to refuse (as when leadership is lost).
#[derive(Default)]
struct SharedRecords {
    records: Mutex<Vec<TaskRecord>>,
    refuse: std::sync::atomic::AtomicBool,
    floor: std::sync::atomic::AtomicU64,
}

impl Mirror for SharedRecords {
    fn save(&self, record: &TaskRecord) -> Result<(), String> {
        if self.refuse.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("not the leader".into());
        }
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
    fn forget(&self, uids: &[u64], next_uid: u64) -> Result<(), String> {
        if self.refuse.load(std::sync::atomic::Ordering::Relaxed) {
            return Err("not the leader".into());
        }
        self.records.lock().unwrap().retain(|r| !uids.contains(&r.uid));
        self.floor.fetch_max(next_uid, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    fn next_uid_floor(&self) -> Result<u64, String> {
        Ok(self.floor.load(std::sync::atomic::Ordering::Relaxed))
    }
    fn load_all(&self) -> Result<Vec<TaskRecord>, String> {
        Ok(self.records.lock().unwrap().clone())
    }
}

#[test]
fn a_new_leader_reloads_the_shared_records_and_goes_on_after_them() {
    let shared = Arc::new(SharedRecords::default());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let old = Registry::open(a.path()).unwrap().with_mirror(shared.clone());
    for _ in 0..3 {
        old.register(task("movies")).unwrap();
    }
    shared.refuse.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(old.register(task("movies")), Err(RegistryError::Persist { uid: 3, .. })));
    assert!(old.get(3).is_none(), "a record the shared store refused is not kept");
    shared.refuse.store(false, std::sync::atomic::Ordering::Relaxed);

    let new = Registry::open(b.path()).unwrap().with_mirror(shared.clone());
    new.reload_from_mirror().unwrap();
    assert_eq!(new.get(2).unwrap().index_uid.as_deref(), Some("movies"));
    assert_eq!(new.register(task("books")).unwrap().uid, 3);
}

#[test]
fn uids_start_at_zero_and_ignore_the_callers_uid() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path()).unwrap();
    let first = registry.register(task("movies")).unwrap();
    let second = registry.register(task("books")).unwrap();
    assert_eq!((first.uid, second.uid), (0, 1));
    assert_eq!(registry.get(1).unwrap().index_uid.as_deref(), Some("books"));
    assert!(registry.get(2).is_none());
}

#[test]
fn enqueued_at_is_rfc3339_utc_with_fractional_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path()).unwrap();
    let at = registry.register(task("movies")).unwrap().enqueued_at;
    assert!(at.ends_with('Z'), "{at}");
    assert!(OffsetDateTime::parse(&at, &Rfc3339).is_ok(), "{at}");
    // A whole second has no fraction; take a few so one is almost surely fractional.
    let fractional = (0..5).any(|_| registry.register(task("movies")).unwrap().enqueued_at.contains('.'));
    assert!(fractional);
}

#[test]
fn uids_strictly_increase_under_concurrent_registrations() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(Registry::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let registry = registry.clone();
            std::thread::spawn(move || (0..25).map(|_| registry.register(task("movies")).unwrap().uid).collect::<Vec<_>>())
        })
        .collect();
    let mut all = Vec::new();
    for t in threads {
        let uids = t.join().unwrap();
        assert!(uids.windows(2).all(|w| w[0] < w[1]), "each caller sees increasing uids: {uids:?}");
        all.extend(uids);
    }
    all.sort_unstable();
    assert_eq!(all, (0..200).collect::<Vec<u64>>(), "no uid handed out twice, none skipped");
}

#[test]
fn records_survive_a_restart_and_numbering_continues() {
    let dir = tempfile::tempdir().unwrap();
    let before: Vec<TaskRecord> = {
        let registry = Registry::open(dir.path()).unwrap();
        (0..3).map(|_| registry.register(task("movies")).unwrap()).collect()
    };
    let registry = Registry::open(dir.path()).unwrap();
    for record in &before {
        assert_eq!(registry.get(record.uid).as_ref(), Some(record));
    }
    assert_eq!(registry.register(task("movies")).unwrap().uid, 3);
}

#[test]
fn a_torn_final_line_is_dropped_and_later_records_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let registry = Registry::open(dir.path()).unwrap();
        registry.register(task("movies")).unwrap();
        registry.register(task("books")).unwrap();
    }
    let path = dir.path().join(LOG_FILE);
    let mut log = OpenOptions::new().append(true).open(&path).unwrap();
    log.write_all(br#"{"uid":2,"indexUid":"torn","ty"#).unwrap();
    drop(log);

    let registry = Registry::open(dir.path()).unwrap();
    assert_eq!(registry.page(None, 10).total, 2);
    assert_eq!(registry.register(task("after")).unwrap().uid, 2);
    drop(registry);

    // The new record did not glue onto the torn bytes.
    let registry = Registry::open(dir.path()).unwrap();
    assert_eq!(registry.get(2).unwrap().index_uid.as_deref(), Some("after"));
    assert_eq!(registry.page(None, 10).total, 3);
}

#[test]
fn a_complete_last_record_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut record = task("movies");
    record.uid = 5;
    std::fs::write(dir.path().join(LOG_FILE), serde_json::to_vec(&record).unwrap()).unwrap();
    let registry = Registry::open(dir.path()).unwrap();
    assert_eq!(registry.get(5), Some(record));
    assert_eq!(registry.register(task("next")).unwrap().uid, 6);
    drop(registry);
    assert_eq!(Registry::open(dir.path()).unwrap().page(None, 10).total, 2);
}

#[test]
fn a_bad_line_before_the_last_is_corruption_not_a_torn_write() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_json::to_string(&task("movies")).unwrap();
    std::fs::write(dir.path().join(LOG_FILE), format!("{good}\nnot json\n{good}\n")).unwrap();
    let err = Registry::open(dir.path()).unwrap_err();
    assert!(matches!(err, RegistryError::Corrupt { line: 2, .. }), "{err}");
}

#[test]
fn pages_go_newest_first_and_name_where_the_next_starts() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path()).unwrap();
    for _ in 0..5 {
        registry.register(task("movies")).unwrap();
    }
    let uids = |p: &Page| p.results.iter().map(|r| r.uid).collect::<Vec<_>>();
    let first = registry.page(None, 2);
    assert_eq!((uids(&first), first.next), (vec![4, 3], Some(2)));
    let last = registry.page(Some(1), 2);
    assert_eq!((uids(&last), last.next), (vec![1, 0], None));
    assert_eq!(last.total, 5);
}

#[test]
fn forgotten_records_stay_forgotten_after_a_restart_and_their_uids_stay_spent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let registry = Registry::open(dir.path()).unwrap();
        for _ in 0..4 {
            registry.register(task("movies")).unwrap();
        }
        assert_eq!(registry.forget(&[1, 3, 9]).unwrap(), 2, "only held records count");
        assert!(registry.get(1).is_none() && registry.get(3).is_none());
        assert_eq!(registry.page(None, 10).total, 2);
        assert_eq!(registry.forget(&[1]).unwrap(), 0);
    }
    let registry = Registry::open(dir.path()).unwrap();
    assert!(registry.get(1).is_none() && registry.get(3).is_none(), "a restart does not bring them back");
    assert_eq!(registry.get(2).unwrap().index_uid.as_deref(), Some("movies"));
    assert_eq!(registry.register(task("books")).unwrap().uid, 4, "the newest uid, forgotten, is not reused");
    drop(registry);
    assert_eq!(Registry::open(dir.path()).unwrap().page(None, 10).total, 3);
}

#[test]
fn the_shared_store_forgets_too() {
    let shared = Arc::new(SharedRecords::default());
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path()).unwrap().with_mirror(shared.clone());
    for _ in 0..3 {
        registry.register(task("movies")).unwrap();
    }
    registry.forget(&[1, 2]).unwrap();
    assert_eq!(shared.load_all().unwrap().iter().map(|r| r.uid).collect::<Vec<_>>(), [0]);
    let leader = Registry::open(tempfile::tempdir().unwrap().path()).unwrap().with_mirror(shared.clone());
    leader.reload_from_mirror().unwrap();
    assert!(leader.get(2).is_none());
    assert_eq!(leader.register(task("books")).unwrap().uid, 3, "a new leader does not reuse the forgotten newest uid");
    shared.refuse.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(registry.forget(&[0]), Err(RegistryError::Persist { uid: 0, .. })));
    assert!(registry.get(0).is_some(), "a deletion the shared store refused is not applied");
}
