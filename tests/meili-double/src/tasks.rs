//! Tasks: the task model, its Meilisearch JSON views, and the `/tasks` routes.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::error::{ApiError, ApiResult, Code, ErrorBody};
use crate::params::QueryParams;
use crate::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Enqueued,
    Processing,
    Succeeded,
    Failed,
    Canceled,
}

pub const STATUSES: [&str; 5] = ["enqueued", "processing", "succeeded", "failed", "canceled"];

pub const TYPES: [&str; 18] = [
    "documentAdditionOrUpdate",
    "documentEdition",
    "documentDeletion",
    "settingsUpdate",
    "indexCreation",
    "indexDeletion",
    "indexUpdate",
    "indexSwap",
    "taskCancelation",
    "taskDeletion",
    "dumpCreation",
    "snapshotCreation",
    "export",
    "upgradeDatabase",
    "indexCompaction",
    "networkTopologyChange",
    "dsrUpdate",
    "dsrClear",
];

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Enqueued => "enqueued",
            Status::Processing => "processing",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
        }
    }
}

/// What a task does, with what it needs to be processed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum TaskKind {
    DocumentAdditionOrUpdate {
        primary_key: Option<String>,
        merge: bool,
    },
    DocumentDeletion {
        ids: Vec<String>,
    },
    DocumentDeletionByFilter {
        filter: Value,
    },
    DocumentClear,
    SettingsUpdate {
        settings: Map<String, Value>,
    },
    IndexCreation {
        primary_key: Option<String>,
    },
    IndexUpdate {
        primary_key: Option<String>,
    },
    IndexDeletion,
}

impl TaskKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            TaskKind::DocumentAdditionOrUpdate { .. } => "documentAdditionOrUpdate",
            TaskKind::DocumentDeletion { .. }
            | TaskKind::DocumentDeletionByFilter { .. }
            | TaskKind::DocumentClear => "documentDeletion",
            TaskKind::SettingsUpdate { .. } => "settingsUpdate",
            TaskKind::IndexCreation { .. } => "indexCreation",
            TaskKind::IndexUpdate { .. } => "indexUpdate",
            TaskKind::IndexDeletion => "indexDeletion",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Task {
    pub uid: u32,
    pub batch_uid: Option<u32>,
    pub index_uid: Option<String>,
    pub status: Status,
    pub kind: TaskKind,
    pub details: Option<Map<String, Value>>,
    pub error: Option<ErrorBody>,
    pub canceled_by: Option<u32>,
    #[serde(with = "time::serde::rfc3339")]
    pub enqueued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

pub fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// ISO-8601 duration as Meilisearch prints it (`PT0.012345S`).
pub fn fmt_duration(d: Duration) -> Option<String> {
    if d.is_negative() {
        return None;
    }
    let secs = d.whole_seconds();
    let days = secs / 86_400;
    let secs = secs - days * 86_400;
    let nanos = d.subsec_nanoseconds();
    let mut out = String::from("P");
    if days != 0 {
        out.push_str(&format!("{days}D"));
    }
    if secs != 0 || nanos != 0 || days == 0 {
        if nanos == 0 {
            out.push_str(&format!("T{secs}S"));
        } else if nanos % 1_000_000 == 0 {
            out.push_str(&format!("T{secs}.{:03}S", nanos / 1_000_000));
        } else if nanos % 1_000 == 0 {
            out.push_str(&format!("T{secs}.{:06}S", nanos / 1_000));
        } else {
            out.push_str(&format!("T{secs}.{nanos:09}S"));
        }
    }
    Some(out)
}

impl Task {
    pub fn new(
        uid: u32,
        index_uid: Option<String>,
        kind: TaskKind,
        details: Option<Map<String, Value>>,
    ) -> Self {
        Task {
            uid,
            batch_uid: None,
            index_uid,
            status: Status::Enqueued,
            kind,
            details,
            error: None,
            canceled_by: None,
            enqueued_at: OffsetDateTime::now_utc(),
            started_at: None,
            finished_at: None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    /// The full task object of `GET /tasks/{uid}`.
    pub fn view(&self) -> Value {
        let mut out = Map::new();
        out.insert("uid".into(), json!(self.uid));
        out.insert("batchUid".into(), json!(self.batch_uid));
        out.insert("indexUid".into(), json!(self.index_uid));
        out.insert("status".into(), json!(self.status.name()));
        out.insert("type".into(), json!(self.type_name()));
        out.insert("canceledBy".into(), json!(self.canceled_by));
        if let Some(details) = &self.details {
            out.insert("details".into(), Value::Object(details.clone()));
        }
        out.insert(
            "error".into(),
            self.error.as_ref().map(|e| json!(e)).unwrap_or(Value::Null),
        );
        let duration = self
            .started_at
            .zip(self.finished_at)
            .and_then(|(s, f)| fmt_duration(f - s));
        out.insert("duration".into(), json!(duration));
        out.insert("enqueuedAt".into(), json!(fmt_time(self.enqueued_at)));
        out.insert("startedAt".into(), json!(self.started_at.map(fmt_time)));
        out.insert("finishedAt".into(), json!(self.finished_at.map(fmt_time)));
        Value::Object(out)
    }

    /// The summarized task answered with 202 when a task is enqueued.
    pub fn summary(&self) -> Value {
        json!({
            "taskUid": self.uid,
            "indexUid": self.index_uid,
            "status": self.status.name(),
            "type": self.type_name(),
            "enqueuedAt": fmt_time(self.enqueued_at),
        })
    }
}

fn parse_uid_list(q: &QueryParams, name: &str, code: Code) -> ApiResult<Option<Vec<u32>>> {
    let Some(list) = q.list(name) else {
        return Ok(None);
    };
    if list.iter().any(|s| s == "*") {
        return Ok(None);
    }
    list.iter()
        .map(|s| {
            s.parse::<u32>().map_err(|_| {
                ApiError::new(
                    code,
                    format!("Invalid value in parameter `{name}`: could not parse `{s}` as a positive integer"),
                )
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Some)
}

fn parse_enum_list(
    q: &QueryParams,
    name: &str,
    accepted: &[&str],
    code: Code,
    what: &str,
) -> ApiResult<Option<Vec<String>>> {
    let Some(list) = q.list(name) else {
        return Ok(None);
    };
    if list.iter().any(|s| s == "*") {
        return Ok(None);
    }
    let mut out = Vec::new();
    for s in list {
        match accepted.iter().find(|a| a.eq_ignore_ascii_case(&s)) {
            Some(a) => out.push(a.to_string()),
            None => {
                let available = accepted
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let plural = if what == "status" {
                    "statuses"
                } else {
                    "types"
                };
                return Err(ApiError::new(
                    code,
                    format!("Invalid value in parameter `{name}`: `{s}` is not a valid task {what}. Available {plural} are {available}."),
                ));
            }
        }
    }
    Ok(Some(out))
}

const TASK_PARAMS: [&str; 15] = [
    "limit",
    "from",
    "reverse",
    "batchUids",
    "uids",
    "canceledBy",
    "types",
    "statuses",
    "indexUids",
    "afterEnqueuedAt",
    "beforeEnqueuedAt",
    "afterStartedAt",
    "beforeStartedAt",
    "afterFinishedAt",
    "beforeFinishedAt",
];

/// `GET /tasks`
pub async fn list_tasks(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let q = QueryParams::parse(raw.as_deref());
    q.check_known(&TASK_PARAMS)?;
    let limit = q.usize("limit", Code::InvalidTaskLimit)?.unwrap_or(20);
    let from = q.usize("from", Code::InvalidTaskFrom)?.map(|v| v as u32);
    let reverse = q
        .bool("reverse", Code::Other("invalid_task_reverse"))?
        .unwrap_or(false);
    let uids = parse_uid_list(&q, "uids", Code::InvalidTaskUids)?;
    let batch_uids = parse_uid_list(&q, "batchUids", Code::Other("invalid_task_batch_uids"))?;
    let canceled_by = parse_uid_list(&q, "canceledBy", Code::Other("invalid_task_canceled_by"))?;
    let statuses = parse_enum_list(
        &q,
        "statuses",
        &STATUSES,
        Code::InvalidTaskStatuses,
        "status",
    )?;
    let types = parse_enum_list(&q, "types", &TYPES, Code::InvalidTaskTypes, "type")?;
    let index_uids = match q.list("indexUids") {
        Some(list) if !list.iter().any(|s| s == "*") => {
            for uid in &list {
                crate::indexes::validate_uid(uid).map_err(|e| {
                    ApiError::new(
                        Code::InvalidIndexUid,
                        format!("Invalid value in parameter `indexUids`: {e}"),
                    )
                })?;
            }
            Some(list)
        }
        _ => None,
    };

    let db = state
        .db
        .lock()
        .map_err(|_| ApiError::new(Code::Internal, "poisoned state"))?;
    let matching: Vec<&Task> = db
        .tasks
        .values()
        .filter(|t| uids.as_ref().is_none_or(|u| u.contains(&t.uid)))
        .filter(|t| {
            batch_uids
                .as_ref()
                .is_none_or(|u| t.batch_uid.is_some_and(|b| u.contains(&b)))
        })
        .filter(|t| {
            canceled_by
                .as_ref()
                .is_none_or(|u| t.canceled_by.is_some_and(|c| u.contains(&c)))
        })
        .filter(|t| {
            statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == t.status.name()))
        })
        .filter(|t| {
            types
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == t.type_name()))
        })
        .filter(|t| {
            index_uids
                .as_ref()
                .is_none_or(|s| t.index_uid.as_ref().is_some_and(|i| s.contains(i)))
        })
        .collect();
    let total = matching.len();
    let mut ordered: Vec<&Task> = if reverse {
        matching
            .into_iter()
            .filter(|t| from.is_none_or(|f| t.uid >= f))
            .collect()
    } else {
        matching
            .into_iter()
            .rev()
            .filter(|t| from.is_none_or(|f| t.uid <= f))
            .collect()
    };
    let next = ordered.get(limit).map(|t| t.uid);
    ordered.truncate(limit);
    let results: Vec<Value> = ordered.iter().map(|t| t.view()).collect();
    let from_out = results.first().and_then(|t| t["uid"].as_u64());
    Ok(Json(json!({
        "results": results,
        "total": total,
        "limit": limit,
        "from": from_out,
        "next": next,
    })))
}

/// `GET /tasks/{uid}`
pub async fn get_task(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
) -> ApiResult<Json<Value>> {
    let Ok(uid) = uid.parse::<u32>() else {
        return Err(ApiError::new(
            Code::InvalidTaskUids,
            format!("Task uid `{uid}` is invalid. It should only contain numeric characters."),
        ));
    };
    let db = state
        .db
        .lock()
        .map_err(|_| ApiError::new(Code::Internal, "poisoned state"))?;
    match db.tasks.get(&uid) {
        Some(t) => Ok(Json(t.view())),
        None => Err(ApiError::TaskNotFound(uid as u64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_meilisearch_precision() {
        assert_eq!(fmt_duration(Duration::ZERO).unwrap(), "PT0S");
        assert_eq!(
            fmt_duration(Duration::milliseconds(12)).unwrap(),
            "PT0.012S"
        );
        assert_eq!(
            fmt_duration(Duration::microseconds(1_234_567)).unwrap(),
            "PT1.234567S"
        );
        assert_eq!(
            fmt_duration(Duration::nanoseconds(5)).unwrap(),
            "PT0.000000005S"
        );
        assert_eq!(fmt_duration(Duration::days(1)).unwrap(), "P1D");
        assert!(fmt_duration(Duration::seconds(-1)).is_none());
    }

    #[test]
    fn task_view_has_meilisearch_keys_in_order() {
        let t = Task::new(3, Some("movies".into()), TaskKind::IndexDeletion, None);
        let v = t.view();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            vec![
                "uid",
                "batchUid",
                "indexUid",
                "status",
                "type",
                "canceledBy",
                "error",
                "duration",
                "enqueuedAt",
                "startedAt",
                "finishedAt"
            ]
        );
        assert_eq!(t.summary()["type"], "indexDeletion");
    }
}
