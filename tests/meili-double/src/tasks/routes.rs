//! `GET /tasks`, `GET /tasks/{uid}`, `POST /tasks/cancel` and
//! `DELETE /tasks`. Cancelation and deletion are tasks of their own
//! (answered 200 with the enqueued task) whose details count the tasks the
//! filter matched when they were registered.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use super::query::{original_filter, TaskFilter, FILTER_PARAMS};
use super::{Task, TaskKind};
use crate::access::Access;
use crate::error::{ApiError, ApiResult, Code};
use crate::params::QueryParams;
use crate::AppState;

/// Pages `matching` (ascending uids) like Meilisearch: newest first unless
/// `reverse`, starting at `from`, `limit + 1` taken to know the `next` uid.
/// As in Meilisearch, what a restricted key may not see (`visible`) is
/// removed from that window afterwards, and `total` counts it anyway.
#[allow(clippy::too_many_arguments)]
pub fn page<T>(
    matching: Vec<T>,
    uid: impl Fn(&T) -> u32,
    visible: impl Fn(&T) -> bool,
    q: &QueryParams,
    limit_code: Code,
    from_code: Code,
    reverse_code: Code,
) -> ApiResult<(Vec<T>, usize, usize, Option<u32>)> {
    let limit = q.usize("limit", limit_code)?.unwrap_or(20);
    let from = q.usize("from", from_code)?.map(|v| v as u32);
    let reverse = q.bool("reverse", reverse_code)?.unwrap_or(false);
    let total = matching.len();
    let ordered: Box<dyn Iterator<Item = T>> = if reverse {
        Box::new(matching.into_iter())
    } else {
        Box::new(matching.into_iter().rev())
    };
    let mut window: Vec<T> = ordered
        .filter(|t| from.is_none_or(|f| if reverse { uid(t) >= f } else { uid(t) <= f }))
        .take(limit.saturating_add(1))
        .filter(|t| visible(t))
        .collect();
    let next = window.get(limit).map(&uid);
    window.truncate(limit);
    Ok((window, total, limit, next))
}

/// `GET /tasks`
pub async fn list_tasks(
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
    let filter = TaskFilter::parse(&q)?;
    let db = state.lock()?;
    let matching: Vec<&Task> = db.tasks.values().filter(|t| filter.matches(t)).collect();
    let (tasks, total, limit, next) = page(
        matching,
        |t| t.uid,
        |t| visible(&access, t),
        &q,
        Code::InvalidTaskLimit,
        Code::InvalidTaskFrom,
        Code::Other("invalid_task_reverse"),
    )?;
    let results: Vec<Value> = tasks.iter().map(|t| t.view()).collect();
    let from_out = results.first().and_then(|t| t["uid"].as_u64());
    Ok(Json(json!({
        "results": results,
        "total": total,
        "limit": limit,
        "from": from_out,
        "next": next,
    })))
}

/// Whether a key restricted to some indexes sees a task: only tasks of one
/// index it reaches (Meilisearch's `get_task_ids_from_authorized_indexes`).
pub fn visible(access: &Access, t: &Task) -> bool {
    access.all_indexes() || t.index_uid.as_deref().is_some_and(|i| access.allows(i))
}

/// `GET /tasks/{uid}`
pub async fn get_task(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let Ok(uid) = uid.parse::<u32>() else {
        return Err(ApiError::new(
            Code::InvalidTaskUids,
            format!("Task uid `{uid}` is invalid. It should only contain numeric characters."),
        ));
    };
    let db = state.lock()?;
    match db.tasks.get(&uid).filter(|t| visible(&access, t)) {
        Some(t) => Ok(Json(t.view())),
        None => Err(ApiError::TaskNotFound(uid as u64)),
    }
}

/// Parses the filter of a cancelation or deletion, which needs at least one.
fn required_filter(raw: Option<&str>, what: &str) -> ApiResult<(QueryParams, TaskFilter)> {
    let q = QueryParams::parse(raw);
    q.check_known(&FILTER_PARAMS)?;
    let filter = TaskFilter::parse(&q)?;
    if !filter.given {
        return Err(ApiError::new(
            Code::Other("missing_task_filters"),
            format!("Query parameters to filter the tasks to {what} are missing. Available query parameters are: `uids`, `indexUids`, `statuses`, `types`, `canceledBy`, `beforeEnqueuedAt`, `afterEnqueuedAt`, `beforeStartedAt`, `afterStartedAt`, `beforeFinishedAt`, `afterFinishedAt`."),
        ));
    }
    Ok((q, filter))
}

fn register(
    state: &AppState,
    access: &Access,
    raw: Option<&str>,
    filter: &TaskFilter,
    counted: &str,
    kind: impl FnOnce(Vec<u32>) -> TaskKind,
) -> ApiResult<Json<Value>> {
    let uids: Vec<u32> = state
        .lock()?
        .tasks
        .values()
        .filter(|t| filter.matches(t) && visible(access, t))
        .map(|t| t.uid)
        .collect();
    let mut details = Map::new();
    details.insert("matchedTasks".into(), json!(uids.len()));
    details.insert(counted.into(), Value::Null);
    details.insert("originalFilter".into(), original_filter(raw));
    state
        .enqueue(None, kind(uids), Some(details), None)
        .map(Json)
}

/// `POST /tasks/cancel`
pub async fn cancel_tasks(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let (_, filter) = required_filter(raw.as_deref(), "cancel")?;
    register(&state, &access, raw.as_deref(), &filter, "canceledTasks", |uids| {
        TaskKind::TaskCancelation { uids }
    })
}

/// `DELETE /tasks`
pub async fn delete_tasks(
    State(state): State<Arc<AppState>>,
    access: Option<Extension<Access>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let access = access.map(|Extension(a)| a).unwrap_or_default();
    let (_, filter) = required_filter(raw.as_deref(), "delete")?;
    register(&state, &access, raw.as_deref(), &filter, "deletedTasks", |uids| {
        TaskKind::TaskDeletion { uids }
    })
}
