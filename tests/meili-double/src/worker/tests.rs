//! Unit tests of task processing.

use super::*;
use crate::tasks::Task;

fn docs(v: Value) -> Vec<Document> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_object().unwrap().clone())
        .collect()
}

fn run_task(db: &mut Db, kind: TaskKind, documents: Option<Vec<Document>>) -> u32 {
    let uid = db.next_task_uid;
    db.next_task_uid += 1;
    let mut details = Map::new();
    if let Some(d) = &documents {
        details.insert("receivedDocuments".into(), json!(d.len()));
        details.insert("indexedDocuments".into(), Value::Null);
        db.payloads.insert(uid, d.clone());
    }
    db.tasks.insert(
        uid,
        Task::new(uid, Some("movies".into()), kind, Some(details)),
    );
    process_task(db, uid);
    uid
}

#[test]
fn cancelation_runs_first_and_cancels_enqueued_tasks() {
    let mut db = Db::default();
    for uid in 0..3 {
        let kind = TaskKind::IndexCreation { primary_key: None };
        db.tasks
            .insert(uid, Task::new(uid, Some(format!("i{uid}")), kind, None));
    }
    let mut details = Map::new();
    details.insert("canceledTasks".into(), Value::Null);
    let kind = TaskKind::TaskCancelation { uids: vec![1, 2] };
    db.tasks.insert(3, Task::new(3, None, kind, Some(details)));
    db.next_task_uid = 4;
    process_pending(&mut db);
    assert_eq!(db.tasks[&3].status, Status::Succeeded);
    assert_eq!(db.tasks[&3].details.as_ref().unwrap()["canceledTasks"], 2);
    assert_eq!(db.tasks[&0].status, Status::Succeeded);
    for uid in [1, 2] {
        assert_eq!(db.tasks[&uid].status, Status::Canceled);
        assert_eq!(db.tasks[&uid].canceled_by, Some(3));
        // as on Meilisearch: in the cancelation's batch, started with it
        assert_eq!(db.tasks[&uid].batch_uid, db.tasks[&3].batch_uid);
        assert!(db.tasks[&uid].started_at.is_some());
    }
    assert!(db.indexes.contains_key("i0") && !db.indexes.contains_key("i1"));
    // deletion removes finished tasks only
    let kind = TaskKind::TaskDeletion {
        uids: vec![0, 1, 4],
    };
    db.tasks
        .insert(4, Task::new(4, None, kind, Some(Map::new())));
    process_pending(&mut db);
    assert!(!db.tasks.contains_key(&0) && !db.tasks.contains_key(&1));
    assert!(db.tasks.contains_key(&2) && db.tasks.contains_key(&4));
}

#[test]
fn guesses_primary_key_and_indexes_documents() {
    let mut db = Db::default();
    let uid = run_task(
        &mut db,
        TaskKind::DocumentAdditionOrUpdate {
            primary_key: None,
            merge: false,
        },
        Some(docs(
            json!([{"title": "a", "movieId": 1}, {"movieId": "2"}]),
        )),
    );
    let task = &db.tasks[&uid];
    assert_eq!(task.status, Status::Succeeded);
    assert_eq!(task.details.as_ref().unwrap()["indexedDocuments"], 2);
    let index = &db.indexes["movies"];
    assert_eq!(index.primary_key.as_deref(), Some("movieId"));
    assert!(index.get("1").is_some() && index.get("2").is_some());
}

#[test]
fn a_missing_id_fails_the_whole_task() {
    let mut db = Db::default();
    let uid = run_task(
        &mut db,
        TaskKind::DocumentAdditionOrUpdate {
            primary_key: Some("id".into()),
            merge: false,
        },
        Some(docs(json!([{"id": 1}, {"title": "no id"}]))),
    );
    let task = &db.tasks[&uid];
    assert_eq!(task.status, Status::Failed);
    assert_eq!(task.error.as_ref().unwrap().code, "missing_document_id");
    assert_eq!(task.details.as_ref().unwrap()["indexedDocuments"], 0);
    let index = &db.indexes["movies"];
    assert!(index.docs.is_empty());
    assert_eq!(index.primary_key, None);
}

#[test]
fn integer_and_string_ids_are_the_same_document() {
    let mut db = Db::default();
    run_task(
        &mut db,
        TaskKind::DocumentAdditionOrUpdate {
            primary_key: None,
            merge: false,
        },
        Some(docs(json!([{"id": 1, "a": 1}]))),
    );
    run_task(
        &mut db,
        TaskKind::DocumentAdditionOrUpdate {
            primary_key: None,
            merge: true,
        },
        Some(docs(json!([{"id": "1", "b": 2}]))),
    );
    let index = &db.indexes["movies"];
    assert_eq!(index.docs.len(), 1);
    assert_eq!(
        Value::Object(index.get("1").unwrap().clone()),
        json!({"id": "1", "a": 1, "b": 2})
    );
}

#[test]
fn a_different_primary_key_param_fails() {
    let mut db = Db::default();
    run_task(
        &mut db,
        TaskKind::IndexCreation {
            primary_key: Some("id".into()),
        },
        None,
    );
    let uid = run_task(
        &mut db,
        TaskKind::DocumentAdditionOrUpdate {
            primary_key: Some("sku".into()),
            merge: false,
        },
        Some(docs(json!([{"id": 1, "sku": "x"}]))),
    );
    let err = db.tasks[&uid].error.clone().unwrap();
    assert_eq!(err.code, "index_primary_key_already_exists");
    assert_eq!(err.message, "Index already has a primary key: `id`.");
}

#[test]
fn deletions_on_missing_indexes_fail() {
    let mut db = Db::default();
    let uid = run_task(
        &mut db,
        TaskKind::DocumentDeletion {
            ids: vec!["1".into()],
        },
        None,
    );
    assert_eq!(
        db.tasks[&uid].error.as_ref().unwrap().code,
        "index_not_found"
    );
    let uid = run_task(&mut db, TaskKind::IndexCreation { primary_key: None }, None);
    assert_eq!(db.tasks[&uid].status, Status::Succeeded);
    let uid = run_task(&mut db, TaskKind::IndexCreation { primary_key: None }, None);
    assert_eq!(
        db.tasks[&uid].error.as_ref().unwrap().code,
        "index_already_exists"
    );
}
