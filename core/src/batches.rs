//! `GET /batches`: Miroir's batches, built from its client tasks as one Meilisearch
//! node would batch them if it ran them one at a time.
//!
//! Every client task that left `enqueued` has a batch numbered as the task, except a
//! canceled task, which is in the batch of the `taskCancelation` that canceled it (on a
//! node the cancelation's batch holds the tasks it cancels); see
//! [`crate::task::batch_uid`]. A batch is derived from its tasks' combined views, so it
//! needs nothing stored. What a gateway cannot honestly know is left out in the ways a
//! node itself may show it: `progress` is null, `stats.progressTrace`,
//! `writeChannelCongestion` and `internalDatabaseSizes` are absent (they describe one
//! node's engine, and a node's batch may mix several client tasks).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::timestamp::Instant;
use crate::tasks_query::TaskQuery;

/// Batch uid → its tasks' combined views, in task uid order.
pub type Batches = BTreeMap<u64, Vec<Value>>;

/// Groups task views by their `batchUid` (enqueued tasks have none).
pub fn group(views: impl IntoIterator<Item = Value>) -> Batches {
    let mut batches = Batches::new();
    for view in views {
        if let Some(batch) = view.get("batchUid").and_then(Value::as_u64) {
            batches.entry(batch).or_default().push(view);
        }
    }
    for tasks in batches.values_mut() {
        tasks.sort_by_key(|t| t.get("uid").and_then(Value::as_u64));
    }
    batches
}

fn text<'a>(task: &'a Value, key: &str) -> Option<&'a str> {
    task.get(key).and_then(Value::as_str)
}

fn processing(tasks: &[Value]) -> bool {
    tasks.iter().any(|t| matches!(text(t, "status"), Some("enqueued" | "processing")))
}

/// The task the batch is named after (the cancelation of a batch of canceled tasks).
fn lead(uid: u64, tasks: &[Value]) -> Option<&Value> {
    tasks.iter().find(|t| t.get("uid").and_then(Value::as_u64) == Some(uid)).or_else(|| tasks.first())
}

/// Whether a batch passes Meilisearch's batch filters: a batch matches when one of its
/// tasks does (uids, statuses, types, index uids), `canceledBy` selects the batch of
/// a succeeded cancelation, dates are the batch's. A processing batch matches a status
/// filter only if it names `processing`.
pub fn matches(query: &TaskQuery, uid: u64, tasks: &[Value]) -> bool {
    let any = |key: &str, list: &Option<Vec<String>>| {
        list.as_ref().is_none_or(|l| tasks.iter().any(|t| text(t, key).is_some_and(|v| l.iter().any(|x| x == v))))
    };
    let statuses = match &query.statuses {
        Some(s) if processing(tasks) => s.iter().any(|x| x == "processing"),
        s => any("status", s),
    };
    let canceled_by = query.canceled_by.as_ref().is_none_or(|c| {
        tasks.iter().any(|t| {
            text(t, "type") == Some("taskCancelation")
                && text(t, "status") == Some("succeeded")
                && t.get("uid").and_then(Value::as_u64).is_some_and(|u| c.contains(&u))
        })
    });
    let at = |v: Option<&Value>| v.and_then(Value::as_str).and_then(Instant::parse);
    let enqueued: Vec<Option<Instant>> = tasks.iter().map(|t| at(t.get("enqueuedAt"))).collect();
    let earliest = enqueued.iter().flatten().min().copied();
    let oldest = enqueued.iter().flatten().max().copied();
    let batch = view(uid, tasks);
    query.batch_uids.as_ref().is_none_or(|b| b.contains(&uid))
        && query.uids.as_ref().is_none_or(|u| tasks.iter().any(|t| t.get("uid").and_then(Value::as_u64).is_some_and(|x| u.contains(&x))))
        && statuses
        && canceled_by
        && any("type", &query.types)
        && any("indexUid", &query.index_uids)
        && (query.enqueued.contains(earliest) || query.enqueued.contains(oldest))
        && query.started.contains(at(batch.get("startedAt")))
        && query.finished.contains(at(batch.get("finishedAt")))
}

/// Sums counts and keeps the first other value, as Meilisearch accumulates a batch's details.
fn merge_details(tasks: &[Value]) -> Map<String, Value> {
    let mut details = Map::new();
    for task in tasks {
        for (k, v) in task.get("details").and_then(Value::as_object).into_iter().flatten() {
            match details.get_mut(k) {
                None => {
                    details.insert(k.clone(), v.clone());
                }
                Some(slot) => match (slot.as_u64(), v.as_u64()) {
                    (Some(a), Some(b)) => *slot = json!(a + b),
                    _ if slot.is_null() => *slot = v.clone(),
                    _ => {}
                },
            }
        }
    }
    details
}

fn counts<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Map<String, Value> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for v in values.flatten() {
        *counts.entry(v).or_default() += 1;
    }
    counts.into_iter().map(|(k, n)| (k.to_string(), json!(n))).collect()
}

/// The batch object of `GET /batches/{uid}`.
pub fn view(uid: u64, tasks: &[Value]) -> Value {
    let started = tasks.iter().filter_map(|t| text(t, "startedAt")).min_by_key(|s| Instant::parse(s));
    let last = tasks.iter().filter(|t| text(t, "finishedAt").is_some()).max_by_key(|t| text(t, "finishedAt").and_then(Instant::parse));
    let done = !processing(tasks);
    let finished = last.and_then(|t| text(t, "finishedAt")).filter(|_| done);
    let duration = last.and_then(|t| t.get("duration").cloned()).filter(|_| done).unwrap_or(Value::Null);
    let strategy = lead(uid, tasks)
        .map(|t| strategy(t.get("uid").and_then(Value::as_u64).unwrap_or(uid), text(t, "type").unwrap_or_default()))
        .unwrap_or_default();
    let mut details = merge_details(tasks);
    if done {
        // A node shows counts it never filled (`originalFilter` of a deletion by id,
        // `indexedDocuments` of a canceled addition) in the task, not in its batch.
        details.retain(|_, v| !v.is_null());
    }
    json!({
        "uid": uid,
        "progress": null,
        "details": details,
        "stats": {
            "totalNbTasks": tasks.len(),
            "status": counts(tasks.iter().map(|t| text(t, "status"))),
            "types": counts(tasks.iter().map(|t| text(t, "type"))),
            "indexUids": counts(tasks.iter().map(|t| text(t, "indexUid"))),
        },
        "duration": duration,
        "startedAt": started,
        "finishedAt": finished,
        "batchStrategy": strategy,
    })
}

/// What a Meilisearch 1.50 node says (`batchStrategy`) when it batches this task alone
/// (its scheduler's `BatchStopReason` for a task with an otherwise empty queue).
pub fn strategy(uid: u64, kind: &str) -> String {
    match kind {
        "taskCancelation" | "indexCreation" | "indexUpdate" | "indexSwap" | "documentEdition" | "indexCompaction" | "export"
        | "dumpCreation" => {
            format!("created batch containing only task with id {uid} of type `{kind}` that cannot be batched with any other task.")
        }
        "taskDeletion" | "snapshotCreation" | "upgradeDatabase" => {
            format!("stopped after the last task of type `{kind}` because they cannot be batched with tasks of any other type.")
        }
        "indexDeletion" => format!("stopped after task with id {uid} because it deletes the index"),
        "networkTopologyChange" => format!("stopped after task with id {uid} because it is a network topology change task"),
        _ => "batched all enqueued tasks".to_string(),
    }
}

/// One page of the batches passing `query`, as `GET /batches` answers: newest first
/// (oldest first with `reverse`), from `from` on; `total` counts every match.
pub fn page(query: &TaskQuery, batches: &Batches) -> Value {
    let matching: Vec<(u64, &Vec<Value>)> = batches.iter().filter(|(uid, tasks)| matches(query, **uid, tasks)).map(|(u, t)| (*u, t)).collect();
    let total = matching.len();
    let ordered: Box<dyn Iterator<Item = &(u64, &Vec<Value>)>> =
        if query.reverse { Box::new(matching.iter()) } else { Box::new(matching.iter().rev()) };
    let mut from_on = ordered.filter(|(uid, _)| query.from.is_none_or(|f| if query.reverse { *uid >= f } else { *uid <= f }));
    let results: Vec<Value> = from_on.by_ref().take(query.limit).map(|(uid, tasks)| view(*uid, tasks)).collect();
    let next = from_on.next().map(|(uid, _)| *uid);
    let from = results.first().and_then(|b| b.get("uid").cloned());
    json!({"results": results, "total": total, "limit": query.limit, "from": from, "next": next})
}

#[cfg(test)]
#[path = "batches_tests.rs"]
mod tests;
