//! `GET /batches` and `GET /batches/{uid}`. Simplified: the double
//! processes each task in a batch of its own, so a batch is its task's
//! `batchUid` with one task; its `stats.progressTrace` lists two steps
//! with the task's duration and `internalDatabaseSizes` is empty (real
//! Meilisearch reports its engine's internals there).

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

/// The batch a processed task ran in.
pub fn view(t: &Task) -> Option<Value> {
    let uid = t.batch_uid?;
    if matches!(t.status, Status::Enqueued) {
        return None;
    }
    let details: Map<String, Value> = t
        .details
        .iter()
        .flatten()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let duration = t
        .started_at
        .zip(t.finished_at)
        .and_then(|(s, f)| fmt_duration(f - s));
    let micros = t
        .started_at
        .zip(t.finished_at)
        .map(|(s, f)| (f - s).whole_microseconds() as f64)
        .unwrap_or(0.0);
    let mut stats = Map::new();
    stats.insert("totalNbTasks".into(), json!(1));
    stats.insert("status".into(), json!({ t.status.name(): 1 }));
    stats.insert("types".into(), json!({ t.type_name(): 1 }));
    let mut index_uids = Map::new();
    if let Some(i) = &t.index_uid {
        index_uids.insert(i.clone(), json!(1));
    }
    stats.insert("indexUids".into(), Value::Object(index_uids));
    stats.insert(
        "progressTrace".into(),
        json!({
            "processing tasks": format!("{:.2}µs", micros),
            "writing tasks to disk": "0.00µs",
        }),
    );
    let writes = matches!(
        t.kind,
        TaskKind::DocumentAdditionOrUpdate { .. }
            | TaskKind::DocumentDeletion { .. }
            | TaskKind::DocumentDeletionByFilter { .. }
            | TaskKind::DocumentClear
            | TaskKind::SettingsUpdate { .. }
    ) && t.status == Status::Succeeded;
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
        "startedAt": t.started_at.map(fmt_time),
        "finishedAt": t.finished_at.map(fmt_time),
        "batchStrategy": format!(
            "created batch containing only task with id {} of type `{}` that cannot be batched with any other task.",
            t.uid,
            t.type_name()
        ),
    }))
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
    let mut filter = TaskFilter::parse(&q)?;
    // `uids` are batch uids here
    let batch_uids = filter.uids.take();
    let db = state.lock()?;
    let mut matching: Vec<(u32, Value, bool)> = db
        .tasks
        .values()
        .filter(|t| filter.matches(t))
        .filter(|t| {
            batch_uids
                .as_ref()
                .is_none_or(|u| t.batch_uid.is_some_and(|b| u.contains(&b)))
        })
        .filter_map(|t| view(t).map(|v| (t.batch_uid.unwrap_or_default(), v, visible(&access, t))))
        .collect();
    matching.sort_by_key(|(b, _, _)| *b);
    let (batches, total, limit, next) = page(
        matching,
        |(b, _, _)| *b,
        |(_, _, seen)| *seen,
        &q,
        Code::Other("invalid_batch_limit"),
        Code::Other("invalid_batch_from"),
        Code::Other("invalid_batch_reverse"),
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
    db.tasks
        .values()
        .find(|t| t.batch_uid == Some(uid) && visible(&access, t))
        .and_then(view)
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                Code::Other("batch_not_found"),
                format!("Batch `{uid}` not found."),
            )
        })
}
