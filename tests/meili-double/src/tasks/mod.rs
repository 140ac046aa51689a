//! Tasks: the task model and its Meilisearch JSON views; the `/tasks`
//! routes and filters are in the submodules.

pub mod query;
pub mod routes;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::error::ErrorBody;

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
        /// `skipCreation=true`: only documents already in the index are updated.
        #[serde(default)]
        skip_creation: bool,
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
    /// Cancels the enqueued tasks among `uids`.
    TaskCancelation {
        uids: Vec<u32>,
    },
    /// Deletes the finished tasks among `uids`.
    TaskDeletion {
        uids: Vec<u32>,
    },
    /// Swaps (or renames, `rename`) pairs of indexes.
    IndexSwap {
        swaps: Vec<(String, String, bool)>,
    },
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
            TaskKind::TaskCancelation { .. } => "taskCancelation",
            TaskKind::TaskDeletion { .. } => "taskDeletion",
            TaskKind::IndexSwap { .. } => "indexSwap",
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
    /// The client's `customMetadata` query parameter, shown with the task.
    #[serde(default)]
    pub custom_metadata: Option<String>,
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
            custom_metadata: None,
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
        if let Some(metadata) = &self.custom_metadata {
            out.insert("customMetadata".into(), json!(metadata));
        }
        Value::Object(out)
    }

    /// The summarized task answered with 202 when a task is enqueued.
    pub fn summary(&self) -> Value {
        let mut summary = json!({
            "taskUid": self.uid,
            "indexUid": self.index_uid,
            "status": self.status.name(),
            "type": self.type_name(),
            "enqueuedAt": fmt_time(self.enqueued_at),
        });
        if let (Some(metadata), Some(out)) = (&self.custom_metadata, summary.as_object_mut()) {
            out.insert("customMetadata".into(), json!(metadata));
        }
        summary
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
