//! The task filters shared by `GET /tasks`, `POST /tasks/cancel`,
//! `DELETE /tasks` and `GET /batches`: uids, batch uids, `canceledBy`,
//! statuses, types, index uids and the six date bounds, parsed with
//! Meilisearch's messages.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

use super::{Status, Task, STATUSES, TYPES};
use crate::error::{ApiError, ApiResult, Code};
use crate::params::QueryParams;

/// The filter parameters, in the order Meilisearch lists them.
pub const FILTER_PARAMS: [&str; 12] = [
    "uids",
    "batchUids",
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

/// A date bound: (parameter, strictly after?).
const DATES: [(&str, &str, bool); 6] = [
    ("afterEnqueuedAt", "invalid_task_after_enqueued_at", true),
    ("beforeEnqueuedAt", "invalid_task_before_enqueued_at", false),
    ("afterStartedAt", "invalid_task_after_started_at", true),
    ("beforeStartedAt", "invalid_task_before_started_at", false),
    ("afterFinishedAt", "invalid_task_after_finished_at", true),
    ("beforeFinishedAt", "invalid_task_before_finished_at", false),
];

#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    pub uids: Option<Vec<u32>>,
    pub batch_uids: Option<Vec<u32>>,
    pub canceled_by: Option<Vec<u32>>,
    pub statuses: Option<Vec<String>>,
    pub types: Option<Vec<String>>,
    pub index_uids: Option<Vec<String>>,
    /// One bound per entry of `DATES`.
    pub dates: [Option<OffsetDateTime>; 6],
    /// Whether any filter parameter was given at all (`*` counts).
    pub given: bool,
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

/// `YYYY-MM-DD` (an `after` bound then means from the next day) or RFC 3339.
fn parse_date(s: &str, after: bool) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let day = time::Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    let t = day.midnight().assume_utc();
    Some(if after { t + Duration::days(1) } else { t })
}

impl TaskFilter {
    pub fn parse(q: &QueryParams) -> ApiResult<Self> {
        let mut f = TaskFilter {
            uids: parse_uid_list(q, "uids", Code::InvalidTaskUids)?,
            batch_uids: parse_uid_list(q, "batchUids", Code::Other("invalid_batch_uids"))?,
            canceled_by: parse_uid_list(q, "canceledBy", Code::Other("invalid_task_canceled_by"))?,
            statuses: parse_enum_list(
                q,
                "statuses",
                &STATUSES,
                Code::InvalidTaskStatuses,
                "status",
            )?,
            types: parse_enum_list(q, "types", &TYPES, Code::InvalidTaskTypes, "type")?,
            index_uids: None,
            dates: Default::default(),
            given: FILTER_PARAMS.iter().any(|p| q.get(p).is_some()),
        };
        f.index_uids = match q.list("indexUids") {
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
        for (i, (name, code, after)) in DATES.iter().enumerate() {
            if let Some(raw) = q.get(name) {
                f.dates[i] = Some(parse_date(raw, *after).ok_or_else(|| {
                    ApiError::new(
                        Code::Other(code),
                        format!("Invalid value in parameter `{name}`: `{raw}` is an invalid date-time. It should follow the YYYY-MM-DD or RFC 3339 date-time format."),
                    )
                })?);
            }
        }
        Ok(f)
    }

    pub fn matches(&self, t: &Task) -> bool {
        let in_list = |list: &Option<Vec<u32>>, v: Option<u32>| {
            list.as_ref()
                .is_none_or(|l| v.is_some_and(|v| l.contains(&v)))
        };
        let times = [
            Some(t.enqueued_at),
            Some(t.enqueued_at),
            t.started_at,
            t.started_at,
            t.finished_at,
            t.finished_at,
        ];
        let dates_ok = DATES.iter().enumerate().all(|(i, (_, _, after))| {
            self.dates[i].is_none_or(|bound| {
                times[i].is_some_and(|at| if *after { at > bound } else { at < bound })
            })
        });
        in_list(&self.uids, Some(t.uid))
            && in_list(&self.batch_uids, t.batch_uid)
            && in_list(&self.canceled_by, t.canceled_by)
            && self
                .statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == t.status.name()))
            && self
                .types
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == t.type_name()))
            // tasks not tied to one index (swaps, cancelations, deletions)
            // never match an `indexUids` filter, as in Meilisearch
            && self
                .index_uids
                .as_ref()
                .is_none_or(|s| t.index_uid.as_ref().is_some_and(|i| s.contains(i)))
            && dates_ok
    }
}

/// Whether a task is finished (it can be deleted, not canceled).
pub fn finished(t: &Task) -> bool {
    matches!(
        t.status,
        Status::Succeeded | Status::Failed | Status::Canceled
    )
}

/// `details.originalFilter` of cancelation and deletion tasks.
pub fn original_filter(raw: Option<&str>) -> Value {
    Value::String(format!("?{}", raw.unwrap_or_default()))
}
