//! Client-visible tasks: one per client request, backed by the node tasks it caused.
//!
//! The task registry (in the control plane, so every gateway resolves the same uid)
//! stores a [`TaskRecord`]; a read combines it with the node tasks' current state.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What the registry keeps for one client task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// Assigned by the registry.
    #[serde(default)]
    pub uid: u64,
    pub index_uid: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    /// Assigned by the registry (RFC 3339).
    #[serde(default)]
    pub enqueued_at: String,
    pub node_tasks: Vec<NodeTask>,
    /// Set when Miroir itself failed the task (a batch no node would accept).
    #[serde(default)]
    pub error: Option<Value>,
    /// Details known when the task was created (`receivedDocuments`, `providedIds`, ...).
    #[serde(default)]
    pub details: Map<String, Value>,
    /// How many nodes hold each document: node counts are divided by it.
    #[serde(default = "one")]
    pub copies: u32,
    /// Ids of write owners that did not take the write: their call failed (no answer,
    /// 5xx, no task) or they were `down` and skipped. The control plane marks them
    /// down and repairs them; it learns this before the client gets its 202.
    #[serde(default)]
    pub missed: Vec<String>,
    /// For deletions by id: the deleted ids and the delete's version stamp, so
    /// anti-entropy never brings an older copy of them back.
    #[serde(default)]
    pub tombstones: Option<Tombstones>,
    /// The client's `customMetadata` query parameter: Meilisearch shows it with the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_metadata: Option<String>,
    /// For a `taskCancelation`: the client tasks whose node tasks it asked the nodes
    /// to cancel (the registry derives their `canceled_by` from it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancels: Vec<u64>,
    /// Filled in by the registry when it hands a record out, never stored: the
    /// `taskCancelation` client task that asked for this one's cancelation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_by: Option<u64>,
}

fn one() -> u32 {
    1
}

/// An empty record of one copy: callers name only what they know.
impl Default for TaskRecord {
    fn default() -> Self {
        TaskRecord {
            uid: 0,
            index_uid: None,
            kind: String::new(),
            enqueued_at: String::new(),
            node_tasks: Vec::new(),
            error: None,
            details: Map::new(),
            copies: one(),
            missed: Vec::new(),
            tombstones: None,
            custom_metadata: None,
            cancels: Vec::new(),
            canceled_by: None,
        }
    }
}

impl TaskRecord {
    /// A swap the control plane has registered but not yet enqueued on the nodes: it
    /// gets its node tasks (every swap has one per node) or an error later.
    pub fn is_pending(&self) -> bool {
        self.kind == "indexSwap" && self.node_tasks.is_empty() && self.error.is_none()
    }
}

/// Ids deleted at a version (the delete's stamp).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstones {
    pub version: u64,
    /// Canonical ids (see [`crate::id`]): the string form a node keys documents by.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeTask {
    pub node: String,
    pub task_uid: u64,
    /// Bookkeeping Miroir adds (e.g. its own settings): counts toward status only.
    #[serde(default)]
    pub hidden: bool,
    /// Documents (or ids) the call carried: node counts are scaled by the client's
    /// count over the sum of these, so a replica down or a copy not sent keeps the
    /// task's counts right. 0 (records without it, broadcasts): divide by `copies`.
    #[serde(default)]
    pub documents: u64,
}

/// Marks the tasks `cancelation` asked to cancel as `canceled_by` it, unless an
/// earlier cancelation already claimed them (the first one reached their node tasks).
pub fn link_cancelation(records: &mut std::collections::BTreeMap<u64, TaskRecord>, cancelation: &TaskRecord) {
    for uid in &cancelation.cancels {
        if let Some(record) = records.get_mut(uid) {
            record.canceled_by.get_or_insert(cancelation.uid);
        }
    }
}

/// Recomputes every record's `canceled_by` from the cancelations held (after a load,
/// or a forget that may have dropped a cancelation).
pub fn link_cancelations(records: &mut std::collections::BTreeMap<u64, TaskRecord>) {
    let cancelations: Vec<TaskRecord> = records.values().filter(|r| !r.cancels.is_empty()).cloned().collect();
    records.values_mut().for_each(|r| r.canceled_by = None);
    for cancelation in &cancelations {
        link_cancelation(records, cancelation);
    }
}

/// The summary a write answers with (HTTP 202), as Meilisearch shapes it.
pub fn summary(record: &TaskRecord) -> Value {
    with_metadata(
        record,
        json!({
            "taskUid": record.uid,
            "indexUid": record.index_uid,
            "status": "enqueued",
            "type": record.kind,
            "enqueuedAt": record.enqueued_at,
        }),
    )
}

/// Adds `customMetadata` when the client gave one; Meilisearch omits the field otherwise.
fn with_metadata(record: &TaskRecord, mut task: Value) -> Value {
    if let (Some(metadata), Some(fields)) = (&record.custom_metadata, task.as_object_mut()) {
        fields.insert("customMetadata".into(), json!(metadata));
    }
    task
}

/// The task as `GET /tasks/{uid}` shows it, from the record and each node task's
/// current JSON (`node_views[i]` belongs to `record.node_tasks[i]`).
pub fn combine(record: &TaskRecord, node_views: &[Value]) -> Value {
    let mut details = record.details.clone();
    if let Some(error) = &record.error {
        return view(record, "failed", details, error.clone(), Some(&record.enqueued_at), Some(&record.enqueued_at), json!("PT0S"));
    }
    if record.is_pending() {
        return view(record, "enqueued", details, Value::Null, None, None, Value::Null);
    }
    let status_of = |v: &Value| v.get("status").and_then(Value::as_str).unwrap_or("enqueued").to_string();
    let statuses: Vec<String> = node_views.iter().map(status_of).collect();
    let done = |s: &str| matches!(s, "succeeded" | "failed" | "canceled");
    let status = if let Some(i) = statuses.iter().position(|s| s == "failed") {
        let mut error = node_views[i].get("error").cloned().unwrap_or(Value::Null);
        crate::scrub::scrub_error(&mut error);
        // A failed task keeps its details (an index update's `primaryKey`, ...), as the node shows them.
        for (k, value) in node_views[i].get("details").and_then(Value::as_object).into_iter().flatten() {
            details.entry(k.clone()).or_insert_with(|| value.clone());
        }
        let (started, finished, duration) = timing(node_views);
        return view(record, "failed", hide_settings(record, details), error, started.as_deref(), finished.as_deref(), duration);
    } else if statuses.iter().any(|s| s == "canceled") && statuses.iter().all(|s| done(s)) {
        "canceled"
    } else if statuses.iter().all(|s| s == "succeeded") {
        "succeeded"
    } else if statuses.iter().any(|s| s != "enqueued") {
        "processing"
    } else {
        "enqueued"
    };
    let finished = status == "succeeded" || status == "canceled";
    for (task, v) in record.node_tasks.iter().zip(node_views) {
        if task.hidden {
            continue;
        }
        let Some(node_details) = v.get("details").and_then(Value::as_object) else { continue };
        for (k, value) in node_details {
            if record.details.contains_key(k) {
                continue;
            }
            let slot = details.entry(k.clone()).or_insert(Value::Null);
            if let (Some(n), true) = (value.as_u64(), finished) {
                *slot = json!(slot.as_u64().unwrap_or(0) + n);
            } else if slot.is_null() && !value.is_number() {
                *slot = value.clone();
            }
        }
    }
    let scale = count_scale(record);
    for v in details.values_mut() {
        if let (Some(n), true) = (v.as_u64(), finished) {
            *v = json!(scale(n));
        }
    }
    // Counts Miroir knew at enqueue time are not divided.
    for (k, v) in &record.details {
        details.insert(k.clone(), v.clone());
    }
    let details = hide_settings(record, details);
    let (started, finished_at, duration) = timing(node_views);
    let finished_at = if finished { finished_at } else { None };
    let duration = if finished { duration } else { Value::Null };
    view(record, status, details, Value::Null, started.as_deref(), finished_at.as_deref(), duration)
}

/// A settings update's details without Miroir's own settings.
fn hide_settings(record: &TaskRecord, details: Map<String, Value>) -> Map<String, Value> {
    if record.kind != "settingsUpdate" {
        return details;
    }
    let mut settings = Value::Object(details);
    crate::settings::hide(crate::settings::SettingsRoute::All, &mut settings);
    match settings {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Turns a sum of node counts into the client's count: scaled by the documents the
/// client sent over the copies the counted node tasks carried, or divided by `copies`.
fn count_scale(record: &TaskRecord) -> impl Fn(u64) -> u64 {
    let carried: u64 = record.node_tasks.iter().filter(|t| !t.hidden).map(|t| t.documents).sum();
    let sent = ["receivedDocuments", "providedIds"].iter().find_map(|k| record.details.get(*k)?.as_u64());
    // A cancelation: the nodes count node tasks, the client its tasks.
    let sent = sent.or_else(|| (record.kind == "taskCancelation").then_some(record.cancels.len() as u64));
    let copies = u64::from(record.copies.max(1));
    move |n: u64| match sent {
        Some(sent) if carried > 0 => ((u128::from(n) * u128::from(sent) + u128::from(carried) / 2) / u128::from(carried)) as u64,
        _ => n / copies,
    }
}

/// Earliest start, latest finish and the last finisher's duration.
fn timing(node_views: &[Value]) -> (Option<String>, Option<String>, Value) {
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let started = node_views.iter().filter_map(|v| field(v, "startedAt")).min();
    let last = node_views.iter().filter(|v| field(v, "finishedAt").is_some()).max_by_key(|v| field(v, "finishedAt"));
    let finished = last.and_then(|v| field(v, "finishedAt"));
    let duration = last.and_then(|v| v.get("duration").cloned()).unwrap_or(Value::Null);
    (started, finished, duration)
}

/// The batch a client task shows, as one Meilisearch node batches Miroir's tasks: none
/// while enqueued; a canceled task is in the batch of the `taskCancelation` that
/// canceled it (as on a node, where the cancelation's batch holds the tasks it cancels);
/// any other task has a batch of its own, numbered as the task.
pub fn batch_uid(record: &TaskRecord, status: &str) -> Option<u64> {
    match status {
        "enqueued" => None,
        "canceled" => Some(record.canceled_by.unwrap_or(record.uid)),
        _ => Some(record.uid),
    }
}

fn view(
    record: &TaskRecord,
    status: &str,
    details: Map<String, Value>,
    error: Value,
    started: Option<&str>,
    finished: Option<&str>,
    duration: Value,
) -> Value {
    let mut details = details;
    if matches!(status, "enqueued" | "processing") {
        // Meilisearch counts these when the task runs: null until then.
        for key in ["canceledTasks", "deletedTasks"] {
            if let Some(v) = details.get_mut(key) {
                *v = Value::Null;
            }
        }
    }
    let canceled_by = if status == "canceled" { record.canceled_by } else { None };
    let task = json!({
        "uid": record.uid,
        "batchUid": batch_uid(record, status),
        "indexUid": record.index_uid,
        "status": status,
        "type": record.kind,
        "canceledBy": canceled_by,
        "details": details,
        "error": error,
        "duration": duration,
        "enqueuedAt": record.enqueued_at,
        "startedAt": started,
        "finishedAt": finished,
    });
    with_metadata(record, task)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        TaskRecord {
            uid: 7,
            index_uid: Some("movies".into()),
            kind: "documentAdditionOrUpdate".into(),
            enqueued_at: "2026-01-01T00:00:00Z".into(),
            node_tasks: vec![
                NodeTask { node: "node0".into(), task_uid: 3, hidden: false, documents: 0 },
                NodeTask { node: "node1".into(), task_uid: 9, hidden: false, documents: 0 },
            ],
            details: [("receivedDocuments".to_string(), json!(10))].into_iter().collect(),
            copies: 2,
            ..TaskRecord::default()
        }
    }

    fn node(status: &str, indexed: u64) -> Value {
        json!({"status": status, "details": {"receivedDocuments": indexed, "indexedDocuments": indexed},
               "startedAt": "2026-01-01T00:00:01Z", "finishedAt": "2026-01-01T00:00:02Z", "duration": "PT1S"})
    }

    #[test]
    fn succeeded_only_when_every_node_task_succeeded() {
        let r = record();
        assert_eq!(combine(&r, &[node("succeeded", 8), node("processing", 12)])["status"], "processing");
        assert_eq!(combine(&r, &[node("enqueued", 8), node("enqueued", 12)])["status"], "enqueued");
        let done = combine(&r, &[node("succeeded", 8), node("succeeded", 12)]);
        assert_eq!(done["status"], "succeeded");
        assert_eq!(done["details"]["indexedDocuments"], 10, "replica counts are not counted twice");
        assert_eq!(done["details"]["receivedDocuments"], 10);
    }

    #[test]
    fn counts_stay_right_when_a_replica_carried_no_copy() {
        // RF 2, 10 documents, but one replica of 4 of them was down: 16 copies sent.
        let mut r = record();
        r.node_tasks[0].documents = 10;
        r.node_tasks[1].documents = 6;
        let done = combine(&r, &[node("succeeded", 10), node("succeeded", 6)]);
        assert_eq!(done["details"]["indexedDocuments"], 10);
        // The task of the down replica's part is left out by the reader: still right.
        r.node_tasks.truncate(1);
        assert_eq!(combine(&r, &[node("succeeded", 10)])["details"]["indexedDocuments"], 10);
    }

    #[test]
    fn a_failed_node_task_fails_the_task_with_its_error() {
        let mut failed = node("failed", 0);
        failed["error"] = json!({"code": "internal"});
        failed["details"] = json!({"primaryKey": "title", "receivedDocuments": 0});
        let v = combine(&record(), &[node("succeeded", 8), failed]);
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"]["code"], "internal");
        // The details stay, the ones Miroir knew at enqueue time first.
        assert_eq!(v["details"], json!({"primaryKey": "title", "receivedDocuments": 10}));
    }

    #[test]
    fn custom_metadata_shows_only_when_the_client_gave_one() {
        let mut r = record();
        let done = [node("succeeded", 8), node("succeeded", 12)];
        assert!(summary(&r).get("customMetadata").is_none() && combine(&r, &done).get("customMetadata").is_none());
        r.custom_metadata = Some("import-7".into());
        assert_eq!(summary(&r)["customMetadata"], "import-7");
        assert_eq!(combine(&r, &done)["customMetadata"], "import-7");
        let mut failed = node("failed", 0);
        failed["error"] = json!({"code": "internal"});
        assert_eq!(combine(&r, &[failed])["customMetadata"], "import-7");
        // The registry stores and returns it.
        let stored: TaskRecord = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(stored.custom_metadata.as_deref(), Some("import-7"));
    }

    #[test]
    fn records_without_the_rebalance_fields_still_parse() {
        let old = json!({"uid": 1, "indexUid": "m", "type": "documentDeletion", "nodeTasks": []});
        let r: TaskRecord = serde_json::from_value(old).unwrap();
        assert!(r.missed.is_empty());
        assert_eq!(r.tombstones, None);
        let new = json!({"indexUid": "m", "type": "documentDeletion", "nodeTasks": [], "missed": ["node1"],
                         "tombstones": {"version": 17, "ids": ["a", "42"]}});
        let r: TaskRecord = serde_json::from_value(new).unwrap();
        assert_eq!(r.missed, vec!["node1".to_string()]);
        assert_eq!(r.tombstones, Some(Tombstones { version: 17, ids: vec!["a".into(), "42".into()] }));
    }

    #[test]
    fn the_batch_appears_when_the_task_leaves_the_queue() {
        let r = record();
        assert_eq!(combine(&r, &[node("enqueued", 0), node("enqueued", 0)])["batchUid"], Value::Null);
        assert_eq!(combine(&r, &[node("processing", 0), node("enqueued", 0)])["batchUid"], 7);
        assert_eq!(combine(&r, &[node("succeeded", 5), node("succeeded", 5)])["batchUid"], 7);
    }

    #[test]
    fn a_canceled_task_names_its_cancelation_and_sits_in_its_batch() {
        let mut r = record();
        r.canceled_by = Some(9);
        let running = combine(&r, &[node("processing", 0), node("enqueued", 0)]);
        assert_eq!((running["canceledBy"].clone(), running["batchUid"].clone()), (Value::Null, json!(7)), "not canceled yet");
        let canceled = combine(&r, &[node("canceled", 0), node("canceled", 0)]);
        assert_eq!((canceled["canceledBy"].clone(), canceled["batchUid"].clone()), (json!(9), json!(9)));
        // A cancelation that came too late: the task finished, it is not canceled.
        let done = combine(&r, &[node("succeeded", 5), node("succeeded", 5)]);
        assert_eq!((done["canceledBy"].clone(), done["batchUid"].clone()), (Value::Null, json!(7)));
    }

    #[test]
    fn a_cancelation_counts_client_tasks_not_node_tasks() {
        // Two client tasks; their node tasks: 2 on node0, 1 on node1 (RF 2 of 3 nodes).
        let mut r = record();
        (r.kind, r.cancels, r.copies) = ("taskCancelation".into(), vec![1, 2], 3);
        r.details = [("matchedTasks".to_string(), json!(2))].into_iter().collect();
        (r.node_tasks[0].documents, r.node_tasks[1].documents) = (2, 1);
        let canceled = |n: u64| json!({"status": "succeeded", "details": {"canceledTasks": n}});
        assert_eq!(combine(&r, &[canceled(2), canceled(1)])["details"]["canceledTasks"], 2);
        assert_eq!(combine(&r, &[canceled(0), canceled(0)])["details"]["canceledTasks"], 0);
    }

    #[test]
    fn deleted_and_canceled_counts_are_null_until_the_task_ran() {
        let mut r = record();
        r.kind = "taskDeletion".into();
        r.details = [("matchedTasks".to_string(), json!(2)), ("deletedTasks".to_string(), json!(2))].into_iter().collect();
        let queued = combine(&r, &[json!({"status": "enqueued"}), json!({"status": "enqueued"})]);
        assert_eq!((queued["details"]["matchedTasks"].clone(), queued["details"]["deletedTasks"].clone()), (json!(2), Value::Null));
        let done = combine(&r, &[node("succeeded", 0), node("succeeded", 0)]);
        assert_eq!(done["details"]["deletedTasks"], 2);
    }

    #[test]
    fn the_first_cancelation_to_ask_is_the_one_named() {
        let mut records: std::collections::BTreeMap<u64, TaskRecord> = [(7, record())].into_iter().collect();
        let mut first = record();
        (first.uid, first.kind, first.cancels) = (8, "taskCancelation".into(), vec![7, 99]);
        let mut second = first.clone();
        second.uid = 9;
        link_cancelation(&mut records, &first);
        records.insert(8, first);
        link_cancelation(&mut records, &second);
        records.insert(9, second);
        assert_eq!(records[&7].canceled_by, Some(8));
        records.remove(&8);
        link_cancelations(&mut records);
        assert_eq!(records[&7].canceled_by, Some(9), "relinked without the forgotten cancelation");
        let stored = serde_json::to_value(&records[&7]).unwrap();
        assert!(stored.get("cancels").is_none(), "empty fields stay out of the log");
    }

    #[test]
    fn a_task_miroir_failed_itself_reports_its_error() {
        let mut r = record();
        r.node_tasks.clear();
        r.error = Some(json!({"code": "missing_document_id"}));
        let v = combine(&r, &[]);
        assert_eq!(v["status"], "failed");
        assert_eq!(v["error"]["code"], "missing_document_id");
    }
}
