//! `GET /batches` and `GET /batches/{uid}`. Simplified: the double
//! processes each task in a batch of its own, except that the tasks a
//! cancelation cancels join its batch (as on Meilisearch); a batch's
//! `stats.progressTrace` lists two steps with its duration and
//! `internalDatabaseSizes` is empty (real Meilisearch reports its engine's
//! internals there). A batch matches the filters when one of its tasks does.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use crate::access::Access;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::QueryParams;
use crate::tasks::query::{TaskFilter, FILTER_PARAMS};
use crate::tasks::routes::{page, visible};
use crate::tasks::{fmt_duration, fmt_time, Status, Task, TaskKind};
use crate::AppState;

/// The batch a processed task ran in, with the tasks a cancelation canceled.
pub fn view(tasks: &[&Task]) -> Option<Value> {
    let lead = tasks
        .iter()
        .find(|t| matches!(t.kind, TaskKind::TaskCancelation { .. }))
        .or_else(|| tasks.first())?;
    let uid = lead.batch_uid?;
    if matches!(lead.status, Status::Enqueued) {
        return None;
    }
    let mut details: Map<String, Value> = Map::new();
    for t in tasks {
        for (k, v) in t.details.iter().flatten().filter(|(_, v)| !v.is_null()) {
            match (details.get(k).and_then(Value::as_u64), v.as_u64()) {
                (Some(a), Some(b)) => details.insert(k.clone(), json!(a + b)),
                (None, _) if !details.contains_key(k) => details.insert(k.clone(), v.clone()),
                _ => None,
            };
        }
    }
    let duration = lead
        .started_at
        .zip(lead.finished_at)
        .and_then(|(s, f)| fmt_duration(f - s));
    let micros = lead
        .started_at
        .zip(lead.finished_at)
        .map(|(s, f)| (f - s).whole_microseconds() as f64)
        .unwrap_or(0.0);
    let count = |key: &dyn Fn(&Task) -> Option<String>| {
        let mut counts = Map::new();
        for t in tasks {
            if let Some(k) = key(t) {
                let n = counts.get(&k).and_then(Value::as_u64).unwrap_or(0);
                counts.insert(k, json!(n + 1));
            }
        }
        Value::Object(counts)
    };
    let mut stats = Map::new();
    stats.insert("totalNbTasks".into(), json!(tasks.len()));
    stats.insert("status".into(), count(&|t| Some(t.status.name().to_string())));
    stats.insert("types".into(), count(&|t| Some(t.type_name().to_string())));
    stats.insert("indexUids".into(), count(&|t| t.index_uid.clone()));
    stats.insert(
        "progressTrace".into(),
        json!({
            "processing tasks": format!("{:.2}µs", micros),
            "writing tasks to disk": "0.00µs",
        }),
    );
    let writes = matches!(
        lead.kind,
        TaskKind::DocumentAdditionOrUpdate { .. }
            | TaskKind::DocumentDeletion { .. }
            | TaskKind::DocumentDeletionByFilter { .. }
            | TaskKind::DocumentClear
            | TaskKind::SettingsUpdate { .. }
    ) && lead.status == Status::Succeeded;
    if writes {
        stats.insert(
            "writeChannelCongestion".into(),
            json!({"attempts": 0, "blocking_attempts": 0, "blocking_ratio": 0.0}),
        );
        stats.insert("internalDatabaseSizes".into(), json!({}));
    }
    Some(json!({
        "uid": uid,
        "progress": null,
        "details": details,
        "stats": stats,
        "duration": duration,
        "startedAt": lead.started_at.map(fmt_time),
        "finishedAt": lead.finished_at.map(fmt_time),
        "batchStrategy": strategy(lead.uid, lead.type_name()),
    }))
}

/// What Meilisearch says of a batch of this task alone (its scheduler's stop reason).
fn strategy(uid: u32, kind: &str) -> String {
    match kind {
        "taskCancelation" | "indexCreation" | "indexUpdate" | "indexSwap" | "documentEdition" => format!(
            "created batch containing only task with id {uid} of type `{kind}` that cannot be batched with any other task."
        ),
        "taskDeletion" => format!(
            "stopped after the last task of type `{kind}` because they cannot be batched with tasks of any other type."
        ),
        "indexDeletion" => format!("stopped after task with id {uid} because it deletes the index"),
        _ => "batched all enqueued tasks".to_string(),
    }
}

/// Batch uid → its tasks (those processed: enqueued tasks have no batch).
fn batches(db: &crate::store::Db) -> std::collections::BTreeMap<u32, Vec<&Task>> {
    let mut batches: std::collections::BTreeMap<u32, Vec<&Task>> = Default::default();
    for t in db.tasks.values() {
        if let Some(b) = t.batch_uid {
            batches.entry(b).or_default().push(t);
        }
    }
    batches
}

/// `GET /batches`
pub async fn list(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let q = QueryParams::parse(raw.as_deref());
    // GET lists `batchUids` before `uids`, the cancel/delete routes after
    let mut accepted = vec!["limit", "from", "reverse", "batchUids", "uids"];
    accepted.extend(&FILTER_PARAMS[2..]);
    q.check_known(&accepted)?;
    // `uids` are task uids: the batches holding those tasks
    let filter = TaskFilter::parse(&q)?;
    let db = state.lock()?;
    let matching: Vec<(u32, Value, bool)> = batches(&db)
        .into_iter()
        .filter(|(_, tasks)| tasks.iter().any(|t| filter.matches(t)))
        .filter_map(|(b, tasks)| {
            let seen = tasks.iter().any(|t| visible(&access, t));
            view(&tasks).map(|v| (b, v, seen))
        })
        .collect();
    let (batches, total, limit, next) = page(
        matching,
        |(b, _, _)| *b,
        |(_, _, seen)| *seen,
        &q,
        Code::InvalidTaskLimit,
        Code::InvalidTaskFrom,
        Code::Other("invalid_task_reverse"),
    )?;
    let from = batches.first().map(|(b, _, _)| *b);
    let results: Vec<Value> = batches.into_iter().map(|(_, v, _)| v).collect();
    Ok(Json(json!({
        "results": results,
        "total": total,
        "limit": limit,
        "from": from,
        "next": next,
    })))
}

/// `GET /batches/{uid}`
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let Ok(uid) = uid.parse::<u32>() else {
        return Err(ApiError::new(
            Code::Other("invalid_batch_uids"),
            format!("Batch uid `{uid}` is invalid. It should only contain numeric characters."),
        ));
    };
    let db = state.lock()?;
    batches(&db)
        .remove(&uid)
        .filter(|tasks| tasks.iter().any(|t| visible(&access, t)))
        .and_then(|tasks| view(&tasks))
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                Code::Other("batch_not_found"),
                format!("Batch `{uid}` not found."),
            )
        })
}
