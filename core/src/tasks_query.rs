//! `GET /tasks` query parameters, parsed and checked as Meilisearch does, and the
//! tests a task must pass to be listed.
//!
//! Some filters need only the registry's record (uids, types, index uids, enqueue
//! dates): the control plane applies those when it pages through records. The others
//! (statuses, canceledBy, start and finish dates) need the task's combined state, so
//! the filter applies them to the combined views.

use serde_json::Value;

use crate::error::{Code, MeiliError};
use crate::task::TaskRecord;
use crate::timestamp::Instant;

pub const DEFAULT_LIMIT: usize = 20;

const PARAMS: [&str; 15] = [
    "limit", "from", "reverse", "batchUids", "uids", "canceledBy", "types", "statuses", "indexUids",
    "afterEnqueuedAt", "beforeEnqueuedAt", "afterStartedAt", "beforeStartedAt", "afterFinishedAt", "beforeFinishedAt",
];
const STATUSES: [&str; 5] = ["enqueued", "processing", "succeeded", "failed", "canceled"];
const TYPES: [&str; 18] = [
    "documentAdditionOrUpdate", "documentEdition", "documentDeletion", "settingsUpdate", "indexCreation", "indexDeletion",
    "indexUpdate", "indexSwap", "taskCancelation", "taskDeletion", "dumpCreation", "snapshotCreation", "export",
    "upgradeDatabase", "indexCompaction", "networkTopologyChange", "dsrUpdate", "dsrClear",
];

/// A date range bound: `after` is exclusive, as is `before`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    pub after: Option<Instant>,
    pub before: Option<Instant>,
}

impl Range {
    pub(crate) fn contains(&self, at: Option<Instant>) -> bool {
        match at {
            Some(at) => self.after.is_none_or(|a| at > a) && self.before.is_none_or(|b| at < b),
            None => self.after.is_none() && self.before.is_none(),
        }
    }

    fn is_set(&self) -> bool {
        self.after.is_some() || self.before.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub limit: usize,
    pub from: Option<u64>,
    pub reverse: bool,
    pub uids: Option<Vec<u64>>,
    pub canceled_by: Option<Vec<u64>>,
    pub types: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub index_uids: Option<Vec<String>>,
    /// Tasks in these batches (see [`crate::task::batch_uid`]).
    pub batch_uids: Option<Vec<u64>>,
    pub enqueued: Range,
    pub started: Range,
    pub finished: Range,
}

impl Default for TaskQuery {
    fn default() -> Self {
        TaskQuery {
            limit: DEFAULT_LIMIT,
            from: None,
            reverse: false,
            uids: None,
            canceled_by: None,
            types: None,
            statuses: None,
            index_uids: None,
            batch_uids: None,
            enqueued: Range::default(),
            started: Range::default(),
            finished: Range::default(),
        }
    }
}

fn invalid(code: Code, param: &str, message: String) -> MeiliError {
    MeiliError::new(code, format!("Invalid value in parameter `{param}`: {message}"))
}

/// A comma-separated list; `*` (or nothing) means no filter.
fn list(value: &str) -> Option<Vec<String>> {
    let items: Vec<String> = value.split(',').map(|s| s.trim().to_string()).collect();
    (!items.iter().any(|s| s == "*")).then_some(items)
}

fn numbers(value: &str, param: &str, code: Code) -> Result<Option<Vec<u64>>, MeiliError> {
    list(value)
        .map(|items| {
            items
                .iter()
                .map(|s| s.parse::<u64>().map_err(|_| invalid(code, param, format!("could not parse `{s}` as a positive integer"))))
                .collect()
        })
        .transpose()
}

fn one_of(value: &str, param: &str, code: Code, allowed: &[&str], what: (&str, &str)) -> Result<Option<Vec<String>>, MeiliError> {
    let Some(items) = list(value) else { return Ok(None) };
    if let Some(bad) = items.iter().find(|s| !allowed.contains(&s.as_str())) {
        let available: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
        return Err(invalid(code, param, format!("`{bad}` is not a valid task {}. Available {} are {}.", what.0, what.1, available.join(", "))));
    }
    Ok(Some(items))
}

fn index_uids(value: &str) -> Result<Option<Vec<String>>, MeiliError> {
    let Some(uids) = list(value) else { return Ok(None) };
    let valid = |u: &str| !u.is_empty() && u.len() <= 512 && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if let Some(bad) = uids.iter().find(|u| !valid(u)) {
        return Err(invalid(
            Code::InvalidIndexUid,
            "indexUids",
            format!("`{bad}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes."),
        ));
    }
    Ok(Some(uids))
}

fn date(value: &str, param: &str, code: Code) -> Result<Option<Instant>, MeiliError> {
    if value == "*" {
        return Ok(None);
    }
    Instant::parse_filter(value).map(Some).ok_or_else(|| {
        invalid(code, param, format!("`{value}` is an invalid date-time. It should follow the YYYY-MM-DD or RFC 3339 date-time format."))
    })
}

impl TaskQuery {
    /// Parses a raw query string (without `?`).
    pub fn parse(query: &str) -> Result<TaskQuery, MeiliError> {
        let mut q = TaskQuery::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let v = value.as_ref();
            match key.as_ref() {
                "limit" => {
                    q.limit = v.parse().map_err(|_| invalid(Code::InvalidTaskLimit, "limit", format!("could not parse `{v}` as a positive integer")))?
                }
                "from" => q.from = Some(v.parse().map_err(|_| invalid(Code::InvalidTaskFrom, "from", format!("could not parse `{v}` as a positive integer")))?),
                "reverse" => {
                    q.reverse = v.parse().map_err(|_| invalid(Code::InvalidTaskReverse, "reverse", format!("could not parse `{v}` as a boolean, expected either `true` or `false`")))?
                }
                "uids" => q.uids = numbers(v, "uids", Code::InvalidTaskUids)?,
                "canceledBy" => q.canceled_by = numbers(v, "canceledBy", Code::InvalidTaskCanceledBy)?,
                "types" => q.types = one_of(v, "types", Code::InvalidTaskTypes, &TYPES, ("type", "types"))?,
                "statuses" => q.statuses = one_of(v, "statuses", Code::InvalidTaskStatuses, &STATUSES, ("status", "statuses"))?,
                "indexUids" => q.index_uids = index_uids(v)?,
                "batchUids" => q.batch_uids = numbers(v, "batchUids", Code::InvalidBatchUids)?,
                "afterEnqueuedAt" => q.enqueued.after = date(v, "afterEnqueuedAt", Code::InvalidTaskAfterEnqueuedAt)?,
                "beforeEnqueuedAt" => q.enqueued.before = date(v, "beforeEnqueuedAt", Code::InvalidTaskBeforeEnqueuedAt)?,
                "afterStartedAt" => q.started.after = date(v, "afterStartedAt", Code::InvalidTaskAfterStartedAt)?,
                "beforeStartedAt" => q.started.before = date(v, "beforeStartedAt", Code::InvalidTaskBeforeStartedAt)?,
                "afterFinishedAt" => q.finished.after = date(v, "afterFinishedAt", Code::InvalidTaskAfterFinishedAt)?,
                "beforeFinishedAt" => q.finished.before = date(v, "beforeFinishedAt", Code::InvalidTaskBeforeFinishedAt)?,
                unknown => {
                    let expected: Vec<String> = PARAMS.iter().map(|p| format!("`{p}`")).collect();
                    return Err(MeiliError::new(Code::BadRequest, format!("Unknown parameter `{unknown}`: expected one of {}", expected.join(", "))));
                }
            }
        }
        Ok(q)
    }

    /// The filters of `POST /tasks/cancel` (`deletion`: `DELETE /tasks`): those of
    /// `GET /tasks` without paging, and at least one of them.
    pub fn parse_bulk(query: &str, deletion: bool) -> Result<TaskQuery, MeiliError> {
        const BULK: [&str; 12] = [
            "uids", "batchUids", "canceledBy", "types", "statuses", "indexUids", "afterEnqueuedAt", "beforeEnqueuedAt",
            "afterStartedAt", "beforeStartedAt", "afterFinishedAt", "beforeFinishedAt",
        ];
        let mut any = false;
        for (key, _) in form_urlencoded::parse(query.as_bytes()) {
            if !BULK.contains(&key.as_ref()) {
                let expected: Vec<String> = BULK.iter().map(|p| format!("`{p}`")).collect();
                return Err(MeiliError::new(Code::BadRequest, format!("Unknown parameter `{key}`: expected one of {}", expected.join(", "))));
            }
            any = true;
        }
        if !any {
            let what = if deletion { "delete" } else { "cancel" };
            return Err(MeiliError::new(
                Code::MissingTaskFilters,
                format!("Query parameters to filter the tasks to {what} are missing. Available query parameters are: `uids`, `indexUids`, `statuses`, `types`, `canceledBy`, `beforeEnqueuedAt`, `afterEnqueuedAt`, `beforeStartedAt`, `afterStartedAt`, `beforeFinishedAt`, `afterFinishedAt`."),
            ));
        }
        TaskQuery::parse(query)
    }

    /// The tests the registry's record alone decides. A task's batch is its own uid or
    /// the cancelation that canceled it, and only `canceled_by` can name that: both are
    /// candidates here, the combined view decides.
    pub fn matches_record(&self, record: &TaskRecord) -> bool {
        let has = |list: &Option<Vec<String>>, value: Option<&str>| list.as_ref().is_none_or(|l| value.is_some_and(|v| l.iter().any(|x| x == v)));
        let by = |list: &Option<Vec<u64>>| list.as_ref().is_none_or(|l| record.canceled_by.is_some_and(|c| l.contains(&c)));
        self.batch_uids.as_ref().is_none_or(|b| b.contains(&record.uid) || record.canceled_by.is_some_and(|c| b.contains(&c)))
            && by(&self.canceled_by)
            && self.uids.as_ref().is_none_or(|u| u.contains(&record.uid))
            && has(&self.types, Some(&record.kind))
            && has(&self.index_uids, record.index_uid.as_deref())
            && self.enqueued.contains(Instant::parse(&record.enqueued_at))
    }

    /// Whether some test needs the combined view.
    pub fn needs_view(&self) -> bool {
        self.statuses.is_some()
            || self.canceled_by.is_some()
            || self.batch_uids.is_some()
            || self.started.is_set()
            || self.finished.is_set()
    }

    /// The tests on a task's combined view (as [`crate::task::combine`] gives it).
    pub fn matches_view(&self, view: &Value) -> bool {
        let at = |k: &str| view.get(k).and_then(Value::as_str).and_then(Instant::parse);
        self.statuses.as_ref().is_none_or(|s| view.get("status").and_then(Value::as_str).is_some_and(|st| s.iter().any(|x| x == st)))
            && self.canceled_by.as_ref().is_none_or(|c| view.get("canceledBy").and_then(Value::as_u64).is_some_and(|by| c.contains(&by)))
            && self.batch_uids.as_ref().is_none_or(|b| view.get("batchUid").and_then(Value::as_u64).is_some_and(|u| b.contains(&u)))
            && self.started.contains(at("startedAt"))
            && self.finished.contains(at("finishedAt"))
    }

    /// The registry-side part of the query, for the control plane.
    pub fn record_query(&self, from: Option<u64>, limit: usize) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("limit", &limit.to_string());
        if let Some(from) = from {
            s.append_pair("from", &from.to_string());
        }
        if self.reverse {
            s.append_pair("reverse", "true");
        }
        let join = |v: &[String]| v.join(",");
        if let Some(u) = &self.uids {
            s.append_pair("uids", &u.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
        }
        if let Some(t) = &self.types {
            s.append_pair("types", &join(t));
        }
        let uids = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        if let Some(b) = &self.batch_uids {
            s.append_pair("batchUids", &uids(b));
        }
        if let Some(c) = &self.canceled_by {
            s.append_pair("canceledBy", &uids(c));
        }
        if let Some(i) = &self.index_uids {
            s.append_pair("indexUids", &join(i));
        }
        let nanos = |i: Instant| {
            time::OffsetDateTime::from_unix_timestamp_nanos(i.0)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_default()
        };
        if let Some(a) = self.enqueued.after {
            s.append_pair("afterEnqueuedAt", &nanos(a));
        }
        if let Some(b) = self.enqueued.before {
            s.append_pair("beforeEnqueuedAt", &nanos(b));
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::task::NodeTask;

    fn record(uid: u64, kind: &str, index: &str, at: &str) -> TaskRecord {
        TaskRecord {
            uid,
            index_uid: Some(index.into()),
            kind: kind.into(),
            enqueued_at: at.into(),
            node_tasks: vec![NodeTask { node: "node0".into(), task_uid: uid, hidden: false, documents: 0 }],
            ..TaskRecord::default()
        }
    }

    #[test]
    fn record_filters_select_by_uid_type_index_and_enqueue_date() {
        let q = TaskQuery::parse("types=settingsUpdate,indexCreation&indexUids=movies&afterEnqueuedAt=2026-01-01").unwrap();
        assert!(q.matches_record(&record(1, "indexCreation", "movies", "2026-01-02T00:00:00Z")));
        assert!(!q.matches_record(&record(1, "indexCreation", "books", "2026-01-02T00:00:00Z")));
        assert!(!q.matches_record(&record(1, "documentDeletion", "movies", "2026-01-02T00:00:00Z")));
        assert!(!q.matches_record(&record(1, "indexCreation", "movies", "2025-12-31T23:00:00Z")));
        let q = TaskQuery::parse("uids=3,4&types=*").unwrap();
        assert!(q.matches_record(&record(4, "x", "m", "2026-01-01T00:00:00Z")) && !q.matches_record(&record(5, "x", "m", "")));
    }

    #[test]
    fn view_filters_use_the_combined_status_and_dates() {
        let q = TaskQuery::parse("statuses=failed,canceled&beforeFinishedAt=2026-01-02T00:00:00Z").unwrap();
        assert!(q.needs_view());
        assert!(q.matches_view(&json!({"status": "failed", "finishedAt": "2026-01-01T10:00:00Z"})));
        assert!(!q.matches_view(&json!({"status": "succeeded", "finishedAt": "2026-01-01T10:00:00Z"})));
        assert!(!q.matches_view(&json!({"status": "failed", "finishedAt": null})));
        assert!(!TaskQuery::parse("limit=3&reverse=true").unwrap().needs_view());
    }

    #[test]
    fn bad_parameters_are_meilisearchs_errors() {
        assert_eq!(TaskQuery::parse("statuses=done").unwrap_err().code, Code::InvalidTaskStatuses);
        assert_eq!(TaskQuery::parse("types=fly").unwrap_err().code, Code::InvalidTaskTypes);
        assert_eq!(TaskQuery::parse("limit=-1").unwrap_err().code, Code::InvalidTaskLimit);
        assert_eq!(TaskQuery::parse("uids=a").unwrap_err().code, Code::InvalidTaskUids);
        assert_eq!(TaskQuery::parse("afterStartedAt=yesterday").unwrap_err().code, Code::InvalidTaskAfterStartedAt);
        assert_eq!(TaskQuery::parse("colour=red").unwrap_err().code, Code::BadRequest);
        assert_eq!(TaskQuery::parse("indexUids=a%20b").unwrap_err().code, Code::InvalidIndexUid);
        assert_eq!(TaskQuery::parse("batchUids=x").unwrap_err().code, Code::InvalidBatchUids);
    }

    #[test]
    fn bulk_filters_are_required_and_unpaged() {
        assert_eq!(TaskQuery::parse_bulk("", false).unwrap_err().code, Code::MissingTaskFilters);
        assert_eq!(TaskQuery::parse_bulk("limit=3", true).unwrap_err().code, Code::BadRequest);
        assert_eq!(TaskQuery::parse_bulk("uids=*", false).unwrap().uids, None);
        assert_eq!(TaskQuery::parse_bulk("statuses=enqueued", false).unwrap().statuses, Some(vec!["enqueued".to_string()]));
    }

    #[test]
    fn batch_uids_select_a_task_by_its_own_batch_or_its_cancelations() {
        let q = TaskQuery::parse("batchUids=4,7").unwrap();
        assert!(q.needs_view());
        let mut canceled = record(2, "x", "m", "2026-01-01T00:00:00Z");
        assert!(!q.matches_record(&canceled));
        canceled.canceled_by = Some(4);
        assert!(q.matches_record(&canceled) && q.matches_record(&record(7, "x", "m", "2026-01-01T00:00:00Z")));
        // Enqueued: no batch yet.
        assert!(!q.matches_view(&json!({"uid": 7, "batchUid": null})));
        assert!(q.matches_view(&json!({"uid": 2, "batchUid": 4})));
        let by = TaskQuery::parse("canceledBy=4").unwrap();
        assert!(by.matches_record(&canceled) && !by.matches_record(&record(7, "x", "m", "2026-01-01T00:00:00Z")));
        let back = TaskQuery::parse(&q.record_query(None, 10)).unwrap();
        assert_eq!(back.batch_uids, Some(vec![4, 7]));
    }

    #[test]
    fn the_record_query_round_trips() {
        let q = TaskQuery::parse("types=indexCreation&indexUids=a,b&uids=1,2&reverse=true&beforeEnqueuedAt=2026-01-01T00:00:00Z").unwrap();
        let back = TaskQuery::parse(&q.record_query(Some(9), 50)).unwrap();
        assert_eq!((back.types, back.index_uids, back.uids, back.reverse, back.enqueued), (q.types, q.index_uids, q.uids, true, q.enqueued));
        assert_eq!((back.from, back.limit), (Some(9), 50));
    }
}
