//! Meilisearch-shaped errors: `{"message","code","type","link"}` with the
//! HTTP status Meilisearch 1.50 uses for each code
//! (see meilisearch-types/src/error.rs upstream).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The error codes the double can produce, with their status and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BadRequest,
    DocumentNotFound,
    IndexAlreadyExists,
    IndexNotFound,
    IndexPrimaryKeyAlreadyExists,
    IndexPrimaryKeyMultipleCandidatesFound,
    IndexPrimaryKeyNoCandidateFound,
    Internal,
    InvalidApiKey,
    InvalidContentType,
    InvalidDocumentCsvDelimiter,
    InvalidDocumentFields,
    InvalidDocumentFilter,
    InvalidDocumentRetrieveVectors,
    InvalidDocumentSort,
    InvalidDocumentId,
    InvalidDocumentIds,
    InvalidDocumentLimit,
    InvalidDocumentOffset,
    InvalidIndexLimit,
    InvalidIndexOffset,
    InvalidIndexPrimaryKey,
    InvalidIndexUid,
    InvalidSearchAttributesToRetrieve,
    InvalidSearchAttributesToSearchOn,
    InvalidSearchAttributesToCrop,
    InvalidSearchAttributesToHighlight,
    InvalidSearchCropLength,
    InvalidSearchCropMarker,
    InvalidSearchDistinct,
    InvalidSearchFacets,
    InvalidSearchFilter,
    InvalidSearchHighlightPostTag,
    InvalidSearchHighlightPreTag,
    InvalidSearchHitsPerPage,
    InvalidSearchLimit,
    InvalidSearchMatchingStrategy,
    InvalidSearchOffset,
    InvalidSearchPage,
    InvalidSearchQ,
    InvalidSearchRankingScoreThreshold,
    InvalidSearchShowMatchesPosition,
    InvalidSearchShowRankingScore,
    InvalidSearchShowRankingScoreDetails,
    InvalidSearchSort,
    InvalidSettingsDisplayedAttributes,
    InvalidSettingsDistinctAttribute,
    InvalidSettingsFaceting,
    InvalidSettingsFilterableAttributes,
    InvalidSettingsPagination,
    InvalidSettingsRankingRules,
    InvalidSettingsSearchableAttributes,
    InvalidSettingsSortableAttributes,
    InvalidSettingsStopWords,
    InvalidSettingsSynonyms,
    InvalidSettingsTypoTolerance,
    InvalidSkipCreation,
    InvalidTaskFrom,
    InvalidTaskIndexUids,
    InvalidTaskLimit,
    InvalidTaskStatuses,
    InvalidTaskTypes,
    InvalidTaskUids,
    MalformedPayload,
    MissingAuthorizationHeader,
    MissingContentType,
    MissingDocumentFilter,
    MissingDocumentId,
    MissingIndexUid,
    MissingPayload,
    PayloadTooLarge,
    TaskNotFound,
    /// Any other code, given by name (used for settings keys the double only stores).
    Other(&'static str),
}

impl Code {
    pub fn name(&self) -> &'static str {
        use Code::*;
        match self {
            BadRequest => "bad_request",
            DocumentNotFound => "document_not_found",
            IndexAlreadyExists => "index_already_exists",
            IndexNotFound => "index_not_found",
            IndexPrimaryKeyAlreadyExists => "index_primary_key_already_exists",
            IndexPrimaryKeyMultipleCandidatesFound => "index_primary_key_multiple_candidates_found",
            IndexPrimaryKeyNoCandidateFound => "index_primary_key_no_candidate_found",
            Internal => "internal",
            InvalidApiKey => "invalid_api_key",
            InvalidContentType => "invalid_content_type",
            InvalidDocumentCsvDelimiter => "invalid_document_csv_delimiter",
            InvalidDocumentFields => "invalid_document_fields",
            InvalidDocumentFilter => "invalid_document_filter",
            InvalidDocumentRetrieveVectors => "invalid_document_retrieve_vectors",
            InvalidDocumentSort => "invalid_document_sort",
            InvalidDocumentId => "invalid_document_id",
            InvalidDocumentIds => "invalid_document_ids",
            InvalidDocumentLimit => "invalid_document_limit",
            InvalidDocumentOffset => "invalid_document_offset",
            InvalidIndexLimit => "invalid_index_limit",
            InvalidIndexOffset => "invalid_index_offset",
            InvalidIndexPrimaryKey => "invalid_index_primary_key",
            InvalidIndexUid => "invalid_index_uid",
            InvalidSearchAttributesToRetrieve => "invalid_search_attributes_to_retrieve",
            InvalidSearchAttributesToSearchOn => "invalid_search_attributes_to_search_on",
            InvalidSearchAttributesToCrop => "invalid_search_attributes_to_crop",
            InvalidSearchAttributesToHighlight => "invalid_search_attributes_to_highlight",
            InvalidSearchCropLength => "invalid_search_crop_length",
            InvalidSearchCropMarker => "invalid_search_crop_marker",
            InvalidSearchDistinct => "invalid_search_distinct",
            InvalidSearchFacets => "invalid_search_facets",
            InvalidSearchFilter => "invalid_search_filter",
            InvalidSearchHighlightPostTag => "invalid_search_highlight_post_tag",
            InvalidSearchHighlightPreTag => "invalid_search_highlight_pre_tag",
            InvalidSearchHitsPerPage => "invalid_search_hits_per_page",
            InvalidSearchLimit => "invalid_search_limit",
            InvalidSearchMatchingStrategy => "invalid_search_matching_strategy",
            InvalidSearchOffset => "invalid_search_offset",
            InvalidSearchPage => "invalid_search_page",
            InvalidSearchQ => "invalid_search_q",
            InvalidSearchRankingScoreThreshold => "invalid_search_ranking_score_threshold",
            InvalidSearchShowMatchesPosition => "invalid_search_show_matches_position",
            InvalidSearchShowRankingScore => "invalid_search_show_ranking_score",
            InvalidSearchShowRankingScoreDetails => "invalid_search_show_ranking_score_details",
            InvalidSearchSort => "invalid_search_sort",
            InvalidSettingsDisplayedAttributes => "invalid_settings_displayed_attributes",
            InvalidSettingsDistinctAttribute => "invalid_settings_distinct_attribute",
            InvalidSettingsFaceting => "invalid_settings_faceting",
            InvalidSettingsFilterableAttributes => "invalid_settings_filterable_attributes",
            InvalidSettingsPagination => "invalid_settings_pagination",
            InvalidSettingsRankingRules => "invalid_settings_ranking_rules",
            InvalidSettingsSearchableAttributes => "invalid_settings_searchable_attributes",
            InvalidSettingsSortableAttributes => "invalid_settings_sortable_attributes",
            InvalidSettingsStopWords => "invalid_settings_stop_words",
            InvalidSettingsSynonyms => "invalid_settings_synonyms",
            InvalidSettingsTypoTolerance => "invalid_settings_typo_tolerance",
            InvalidTaskFrom => "invalid_task_from",
            InvalidTaskIndexUids => "invalid_task_index_uids",
            InvalidTaskLimit => "invalid_task_limit",
            InvalidSkipCreation => "invalid_skip_creation",
            InvalidTaskStatuses => "invalid_task_statuses",
            InvalidTaskTypes => "invalid_task_types",
            InvalidTaskUids => "invalid_task_uids",
            MalformedPayload => "malformed_payload",
            MissingAuthorizationHeader => "missing_authorization_header",
            MissingContentType => "missing_content_type",
            MissingDocumentFilter => "missing_document_filter",
            MissingDocumentId => "missing_document_id",
            MissingIndexUid => "missing_index_uid",
            MissingPayload => "missing_payload",
            PayloadTooLarge => "payload_too_large",
            TaskNotFound => "task_not_found",
            Other(name) => name,
        }
    }

    pub fn status(&self) -> StatusCode {
        use Code::*;
        match self {
            DocumentNotFound | IndexNotFound | TaskNotFound => StatusCode::NOT_FOUND,
            Other("api_key_not_found" | "batch_not_found") => StatusCode::NOT_FOUND,
            Other("api_key_already_exists") => StatusCode::CONFLICT,
            Other("missing_master_key") => StatusCode::UNAUTHORIZED,
            IndexAlreadyExists => StatusCode::CONFLICT,
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
            InvalidApiKey => StatusCode::FORBIDDEN,
            MissingAuthorizationHeader => StatusCode::UNAUTHORIZED,
            InvalidContentType | MissingContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn error_type(&self) -> &'static str {
        use Code::*;
        match self {
            Internal => "internal",
            InvalidApiKey | MissingAuthorizationHeader => "auth",
            _ => "invalid_request",
        }
    }
}

/// The errors of the double. Each maps to a [`Code`] and a message worded
/// like Meilisearch's.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("The Authorization header is missing. It must use the bearer authorization method.")]
    MissingAuthorizationHeader,
    #[error("The provided API key is invalid.")]
    InvalidApiKey,
    #[error("Index `{0}` not found.")]
    IndexNotFound(String),
    #[error("Index `{0}` already exists.")]
    IndexAlreadyExists(String),
    #[error("`{0}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes.")]
    InvalidIndexUid(String),
    #[error("Document `{0}` not found.")]
    DocumentNotFound(String),
    #[error("Task `{0}` not found.")]
    TaskNotFound(u64),
    #[error("A Content-Type header is missing. Accepted values for the Content-Type header are: {}", quote_list(.0))]
    MissingContentType(Vec<&'static str>),
    #[error("The Content-Type `{}` is invalid. Accepted values for the Content-Type header are: {}", .0, quote_list(.1))]
    InvalidContentType(String, Vec<&'static str>),
    #[error("The Content-Type `{0}` does not support the use of a csv delimiter. The csv delimiter can only be used with the Content-Type `text/csv`.")]
    CsvDelimiterWithWrongContentType(String),
    #[error("A {0} payload is missing.")]
    MissingPayload(&'static str),
    #[error("The provided payload reached the size limit. The maximum accepted payload size is {}.", human_size(*.0))]
    PayloadTooLarge(u64),
    #[error("{0}")]
    MalformedPayload(String),
    #[error("Index already has a primary key: `{0}`.")]
    PrimaryKeyAlreadyExists(String),
    /// Any other error: the code and an already formatted message.
    #[error("{1}")]
    Other(Code, String),
    /// An error answered with another status than its code's (Meilisearch
    /// answers 400 for `index_not_found` inside a multi-search).
    #[error("{2}")]
    WithStatus(StatusCode, Code, String),
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError::Other(code, message.into())
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::MissingAuthorizationHeader => Code::MissingAuthorizationHeader,
            ApiError::InvalidApiKey => Code::InvalidApiKey,
            ApiError::IndexNotFound(_) => Code::IndexNotFound,
            ApiError::IndexAlreadyExists(_) => Code::IndexAlreadyExists,
            ApiError::InvalidIndexUid(_) => Code::InvalidIndexUid,
            ApiError::DocumentNotFound(_) => Code::DocumentNotFound,
            ApiError::TaskNotFound(_) => Code::TaskNotFound,
            ApiError::MissingContentType(_) => Code::MissingContentType,
            ApiError::InvalidContentType(..) => Code::InvalidContentType,
            // Meilisearch answers `invalid_content_type` here, not
            // `invalid_document_csv_delimiter` (meilisearch/src/error.rs).
            ApiError::CsvDelimiterWithWrongContentType(_) => Code::InvalidContentType,
            ApiError::MissingPayload(_) => Code::MissingPayload,
            ApiError::PayloadTooLarge(_) => Code::PayloadTooLarge,
            ApiError::MalformedPayload(_) => Code::MalformedPayload,
            ApiError::PrimaryKeyAlreadyExists(_) => Code::IndexPrimaryKeyAlreadyExists,
            ApiError::Other(code, _) => *code,
            ApiError::WithStatus(_, code, _) => *code,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::WithStatus(status, _, _) => *status,
            other => other.code().status(),
        }
    }

    /// The same error (code and status) with `prefix` before its message,
    /// as Meilisearch's "Inside `.queries[i]`: " context.
    pub fn prefixed(self, prefix: &str) -> ApiError {
        let status = self.status();
        ApiError::WithStatus(status, self.code(), format!("{prefix}{self}"))
    }

    /// The same error answered with `status`.
    pub fn with_status(self, status: StatusCode) -> ApiError {
        ApiError::WithStatus(status, self.code(), self.to_string())
    }

    /// The serializable body of this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code(), self.to_string())
    }
}

fn quote_list(items: &[&'static str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Formats a byte count like the `byte-unit` crate does in Meilisearch's
/// payload-too-large message: binary units when the count is a multiple of
/// 1024, decimal units otherwise, with the largest unit that keeps it >= 1.
pub fn human_size(bytes: u64) -> String {
    let (base, units): (f64, [&str; 6]) = if bytes % 1024 == 0 && bytes != 0 {
        (1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
    } else {
        (1000.0, ["B", "KB", "MB", "GB", "TB", "PB"])
    };
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= base && unit < units.len() - 1 {
        value /= base;
        unit += 1;
    }
    format!("{value} {}", units[unit])
}

/// The JSON body of an error, as stored in failed tasks and sent over HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    pub code: String,
    #[serde(rename = "type")]
    pub error_type: String,
    pub link: String,
}

impl ErrorBody {
    pub fn new(code: Code, message: String) -> Self {
        ErrorBody {
            message,
            code: code.name().to_string(),
            error_type: code.error_type().to_string(),
            link: format!("https://docs.meilisearch.com/errors#{}", code.name()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status(), &self.body())
    }
}

/// Builds a JSON error response with an arbitrary status (used by fault injection too).
pub fn error_response(status: StatusCode, body: &ErrorBody) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
    }
    response
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_meilisearch_shape() {
        let body = ApiError::IndexNotFound("movies".into()).body();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["message"], "Index `movies` not found.");
        assert_eq!(json["code"], "index_not_found");
        assert_eq!(json["type"], "invalid_request");
        assert_eq!(
            json["link"],
            "https://docs.meilisearch.com/errors#index_not_found"
        );
    }

    #[test]
    fn statuses_follow_meilisearch() {
        assert_eq!(
            Code::MissingAuthorizationHeader.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(Code::InvalidApiKey.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Code::MissingContentType.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            Code::PayloadTooLarge.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(Code::IndexAlreadyExists.status(), StatusCode::CONFLICT);
        assert_eq!(Code::MalformedPayload.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ApiError::CsvDelimiterWithWrongContentType("x".into()).code(),
            Code::InvalidContentType
        );
    }

    #[test]
    fn human_size_matches_byte_unit_style() {
        assert_eq!(human_size(100_000_000), "100 MB");
        assert_eq!(human_size(1024), "1 KiB");
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(104_857_600), "100 MiB");
    }
}
