//! Meilisearch-shaped errors: `{message, code, type, link}` with a fixed HTTP status per code.
//!
//! The codes, statuses and types are Meilisearch 1.50's (`meilisearch-types/src/error.rs`);
//! the `miroir_*` codes are Miroir's own, for conditions a single node never has.

use serde::Serialize;

/// The error family, as Meilisearch reports it in `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Internal,
    Auth,
    System,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request",
            ErrorType::Internal => "internal",
            ErrorType::Auth => "auth",
            ErrorType::System => "system",
        }
    }
}

macro_rules! codes {
    ($($variant:ident => ($name:literal, $status:literal, $ty:ident)),* $(,)?) => {
        /// Every error code Miroir can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant),* }

        impl Code {
            pub fn name(self) -> &'static str { match self { $(Code::$variant => $name),* } }
            pub fn status(self) -> u16 { match self { $(Code::$variant => $status),* } }
            pub fn error_type(self) -> ErrorType { match self { $(Code::$variant => ErrorType::$ty),* } }
        }
    };
}

codes! {
    BadRequest => ("bad_request", 400, InvalidRequest),
    DocumentNotFound => ("document_not_found", 404, InvalidRequest),
    IndexNotFound => ("index_not_found", 404, InvalidRequest),
    IndexPrimaryKeyAlreadyExists => ("index_primary_key_already_exists", 400, InvalidRequest),
    IndexPrimaryKeyMultipleCandidatesFound => ("index_primary_key_multiple_candidates_found", 400, InvalidRequest),
    IndexPrimaryKeyNoCandidateFound => ("index_primary_key_no_candidate_found", 400, InvalidRequest),
    Internal => ("internal", 500, Internal),
    InvalidContentType => ("invalid_content_type", 415, InvalidRequest),
    InvalidDocumentCsvDelimiter => ("invalid_document_csv_delimiter", 400, InvalidRequest),
    InvalidDocumentId => ("invalid_document_id", 400, InvalidRequest),
    InvalidIndexUid => ("invalid_index_uid", 400, InvalidRequest),
    InvalidTaskUids => ("invalid_task_uids", 400, InvalidRequest),
    InvalidSwapIndexes => ("invalid_swap_indexes", 400, InvalidRequest),
    InvalidSwapRename => ("invalid_swap_rename", 400, InvalidRequest),
    InvalidSwapDuplicateIndexFound => ("invalid_swap_duplicate_index_found", 400, InvalidRequest),
    MissingSwapIndexes => ("missing_swap_indexes", 400, InvalidRequest),
    IndexAlreadyExists => ("index_already_exists", 409, InvalidRequest),
    MalformedPayload => ("malformed_payload", 400, InvalidRequest),
    MissingContentType => ("missing_content_type", 415, InvalidRequest),
    MissingDocumentId => ("missing_document_id", 400, InvalidRequest),
    MissingPayload => ("missing_payload", 400, InvalidRequest),
    PayloadTooLarge => ("payload_too_large", 413, InvalidRequest),
    TaskNotFound => ("task_not_found", 404, InvalidRequest),
    MissingAuthorizationHeader => ("missing_authorization_header", 401, Auth),
    InvalidApiKey => ("invalid_api_key", 403, Auth),
    InvalidTaskStatuses => ("invalid_task_statuses", 400, InvalidRequest),
    InvalidTaskTypes => ("invalid_task_types", 400, InvalidRequest),
    InvalidTaskIndexUids => ("invalid_task_index_uids", 400, InvalidRequest),
    InvalidTaskCanceledBy => ("invalid_task_canceled_by", 400, InvalidRequest),
    InvalidTaskLimit => ("invalid_task_limit", 400, InvalidRequest),
    InvalidTaskFrom => ("invalid_task_from", 400, InvalidRequest),
    InvalidTaskReverse => ("invalid_task_reverse", 400, InvalidRequest),
    InvalidTaskBeforeEnqueuedAt => ("invalid_task_before_enqueued_at", 400, InvalidRequest),
    InvalidTaskAfterEnqueuedAt => ("invalid_task_after_enqueued_at", 400, InvalidRequest),
    InvalidTaskBeforeStartedAt => ("invalid_task_before_started_at", 400, InvalidRequest),
    InvalidTaskAfterStartedAt => ("invalid_task_after_started_at", 400, InvalidRequest),
    InvalidTaskBeforeFinishedAt => ("invalid_task_before_finished_at", 400, InvalidRequest),
    InvalidTaskAfterFinishedAt => ("invalid_task_after_finished_at", 400, InvalidRequest),
    MissingTaskFilters => ("missing_task_filters", 400, InvalidRequest),
    InvalidBatchUids => ("invalid_batch_uids", 400, InvalidRequest),
    BatchNotFound => ("batch_not_found", 404, InvalidRequest),
    MiroirReservedField => ("miroir_reserved_field", 400, InvalidRequest),
    MiroirUnsupportedRoute => ("miroir_unsupported_route", 501, InvalidRequest),
    MiroirNodeUnavailable => ("miroir_node_unavailable", 503, System),
    MiroirShardsUnavailable => ("miroir_shards_unavailable", 503, System),
    MiroirWriteQuorumUnavailable => ("miroir_write_quorum_unavailable", 503, System),
    MiroirInvalidConfig => ("miroir_invalid_config", 500, Internal),
}

/// An error as Meilisearch would answer it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct MeiliError {
    pub code: Code,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    code: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    link: String,
}

impl MeiliError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        MeiliError { code, message: message.into() }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The JSON object Meilisearch puts in an error answer or a failed task's `error`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self.body()).unwrap_or(serde_json::Value::Null)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.body()).unwrap_or_default()
    }

    fn body(&self) -> Body<'_> {
        Body {
            message: &self.message,
            code: self.code.name(),
            kind: self.code.error_type().as_str(),
            link: format!("https://docs.meilisearch.com/errors#{}", self.code.name()),
        }
    }
}

pub const ACCEPTED_CONTENT_TYPES: &str = "`application/json`, `application/x-ndjson`, `text/csv`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_meilisearch_shape() {
        let err = MeiliError::new(Code::MissingPayload, "A json payload is missing.");
        let v = err.to_value();
        assert_eq!(v["code"], "missing_payload");
        assert_eq!(v["type"], "invalid_request");
        assert_eq!(v["link"], "https://docs.meilisearch.com/errors#missing_payload");
        assert_eq!(v["message"], "A json payload is missing.");
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn content_type_errors_are_415() {
        assert_eq!(Code::InvalidContentType.status(), 415);
        assert_eq!(Code::MissingContentType.status(), 415);
        assert_eq!(Code::PayloadTooLarge.status(), 413);
    }
}
