use serde_json::{json, Value};

use super::*;

fn task(uid: u64, batch: Option<u64>, kind: &str, status: &str, index: Option<&str>, details: Value) -> Value {
    let finished = !matches!(status, "enqueued" | "processing");
    json!({
        "uid": uid, "batchUid": batch, "indexUid": index, "status": status, "type": kind, "canceledBy": null,
        "details": details, "error": null,
        "duration": if finished { json!(format!("PT0.{uid}S")) } else { Value::Null },
        "enqueuedAt": format!("2026-01-01T00:00:0{uid}Z"),
        "startedAt": if status == "enqueued" { Value::Null } else { json!(format!("2026-01-01T00:01:0{uid}Z")) },
        "finishedAt": if finished { json!(format!("2026-01-01T00:02:0{uid}Z")) } else { Value::Null },
    })
}

/// Task 0 added documents, 1 changed settings, 2 was canceled by 3, 4 deleted tasks,
/// 5 is still enqueued (no batch), 6 is processing.
fn history() -> Batches {
    group([
        task(0, Some(0), "documentAdditionOrUpdate", "succeeded", Some("movies"), json!({"receivedDocuments": 2, "indexedDocuments": 2})),
        task(1, Some(1), "settingsUpdate", "succeeded", Some("movies"), json!({"stopWords": ["the"]})),
        task(2, Some(3), "documentAdditionOrUpdate", "canceled", Some("movies"), json!({"receivedDocuments": 1, "indexedDocuments": 0})),
        task(3, Some(3), "taskCancelation", "succeeded", None, json!({"matchedTasks": 1, "canceledTasks": 1, "originalFilter": "?uids=2"})),
        task(4, Some(4), "taskDeletion", "succeeded", None, json!({"matchedTasks": 1, "deletedTasks": 1, "originalFilter": "?uids=9"})),
        task(5, None, "indexCreation", "enqueued", Some("books"), json!({"primaryKey": null})),
        task(6, Some(6), "documentAdditionOrUpdate", "processing", Some("books"), json!({"receivedDocuments": 5, "indexedDocuments": null})),
    ])
}

fn uids(page: &Value) -> Vec<u64> {
    page["results"].as_array().unwrap().iter().map(|b| b["uid"].as_u64().unwrap()).collect()
}

fn list(query: &str) -> Value {
    page(&TaskQuery::parse(query).unwrap(), &history())
}

#[test]
fn a_canceled_task_is_in_its_cancelations_batch_and_an_enqueued_one_in_none() {
    let batches = history();
    assert_eq!(batches.keys().copied().collect::<Vec<_>>(), [0, 1, 3, 4, 6]);
    let cancel = view(3, &batches[&3]);
    assert_eq!(cancel["stats"], json!({"totalNbTasks": 2, "status": {"succeeded": 1, "canceled": 1},
        "types": {"documentAdditionOrUpdate": 1, "taskCancelation": 1}, "indexUids": {"movies": 1}}));
    assert_eq!(cancel["details"], json!({"receivedDocuments": 1, "indexedDocuments": 0, "matchedTasks": 1, "canceledTasks": 1, "originalFilter": "?uids=2"}));
    assert_eq!(cancel["batchStrategy"], "created batch containing only task with id 3 of type `taskCancelation` that cannot be batched with any other task.");
    assert_eq!((cancel["startedAt"].clone(), cancel["finishedAt"].clone()), (json!("2026-01-01T00:01:02Z"), json!("2026-01-01T00:02:03Z")));
}

#[test]
fn a_batch_shows_its_task_as_a_node_shows_a_batch_of_one() {
    let b = view(0, &history()[&0]);
    assert_eq!(b, json!({"uid": 0, "progress": null, "details": {"receivedDocuments": 2, "indexedDocuments": 2},
        "stats": {"totalNbTasks": 1, "status": {"succeeded": 1}, "types": {"documentAdditionOrUpdate": 1}, "indexUids": {"movies": 1}},
        "duration": "PT0.0S", "startedAt": "2026-01-01T00:01:00Z", "finishedAt": "2026-01-01T00:02:00Z",
        "batchStrategy": "batched all enqueued tasks"}));
    let deletion = view(4, &history()[&4]);
    assert_eq!(deletion["stats"]["indexUids"], json!({}));
    assert_eq!(deletion["batchStrategy"], "stopped after the last task of type `taskDeletion` because they cannot be batched with tasks of any other type.");
    let running = view(6, &history()[&6]);
    assert_eq!((running["finishedAt"].clone(), running["duration"].clone()), (Value::Null, Value::Null));
    assert_eq!(running["stats"]["status"], json!({"processing": 1}));
}

#[test]
fn paging_is_newest_first_with_a_total_of_every_match() {
    let all = list("");
    assert_eq!(uids(&all), [6, 4, 3, 1, 0]);
    assert_eq!((all["total"].clone(), all["from"].clone(), all["next"].clone()), (json!(5), json!(6), Value::Null));
    let p = list("limit=2&from=4");
    assert_eq!(uids(&p), [4, 3]);
    assert_eq!((p["total"].clone(), p["limit"].clone(), p["next"].clone()), (json!(5), json!(2), json!(1)));
    let r = list("reverse=true&limit=2&from=1");
    assert_eq!(uids(&r), [1, 3]);
    assert_eq!(r["next"], 4);
}

#[test]
fn filters_select_batches_as_meilisearch_does() {
    assert_eq!(uids(&list("uids=2")), [3], "the batch holding task 2");
    assert_eq!(uids(&list("batchUids=3,5")), [3]);
    assert_eq!(uids(&list("canceledBy=3")), [3], "the cancelation's own batch");
    assert_eq!(uids(&list("canceledBy=2")), Vec::<u64>::new());
    assert_eq!(uids(&list("statuses=canceled")), [3]);
    assert_eq!(uids(&list("statuses=succeeded")), [4, 3, 1, 0], "a processing batch only matches `processing`");
    assert_eq!(uids(&list("statuses=processing")), [6]);
    assert_eq!(uids(&list("statuses=enqueued")), Vec::<u64>::new());
    assert_eq!(uids(&list("types=documentAdditionOrUpdate")), [6, 3, 0]);
    assert_eq!(uids(&list("indexUids=movies")), [3, 1, 0]);
    assert_eq!(uids(&list("afterFinishedAt=2026-01-01T00:02:01Z")), [4, 3]);
    assert_eq!(uids(&list("beforeStartedAt=2026-01-01T00:01:02Z")), [1, 0]);
    assert_eq!(uids(&list("afterEnqueuedAt=2026-01-01T00:00:03Z")), [6, 4]);
}

#[test]
fn each_task_kind_has_the_strategy_a_node_gives_it_alone() {
    assert_eq!(strategy(7, "indexDeletion"), "stopped after task with id 7 because it deletes the index");
    assert_eq!(strategy(7, "indexCreation"), "created batch containing only task with id 7 of type `indexCreation` that cannot be batched with any other task.");
    assert_eq!(strategy(7, "settingsUpdate"), "batched all enqueued tasks");
    assert_eq!(strategy(7, "documentDeletion"), "batched all enqueued tasks");
}
