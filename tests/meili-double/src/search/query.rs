//! The search request: `POST` body and `GET` query parameters validated
//! into a [`SearchQuery`], with Meilisearch's error codes and messages.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::params::{check_fields, invalid_type, QueryParams};

pub const BODY_FIELDS: [&str; 30] = [
    "q",
    "offset",
    "limit",
    "page",
    "hitsPerPage",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "filter",
    "sort",
    "distinct",
    "facets",
    "matchingStrategy",
    "attributesToSearchOn",
    "rankingScoreThreshold",
    "locales",
    "hybrid",
    "vector",
    "retrieveVectors",
    "media",
    "personalize",
    "useNetwork",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
];

const QUERY_PARAMS: [&str; 30] = [
    "q",
    "offset",
    "limit",
    "page",
    "hitsPerPage",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "filter",
    "sort",
    "distinct",
    "facets",
    "matchingStrategy",
    "attributesToSearchOn",
    "rankingScoreThreshold",
    "locales",
    "hybridEmbedder",
    "hybridSemanticRatio",
    "vector",
    "retrieveVectors",
    "personalizeUserContext",
    "useNetwork",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Last,
    All,
    Frequency,
}

/// A validated search request.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
    pub page: Option<usize>,
    pub hits_per_page: Option<usize>,
    pub attributes_to_retrieve: Option<Vec<String>>,
    pub attributes_to_highlight: Option<Vec<String>>,
    pub attributes_to_crop: Option<Vec<String>>,
    pub highlight_pre_tag: Option<String>,
    pub highlight_post_tag: Option<String>,
    pub filter: Option<Value>,
    pub sort: Option<Vec<String>>,
    pub distinct: Option<String>,
    pub facets: Option<Vec<String>>,
    pub strategy: Strategy,
    pub attributes_to_search_on: Option<Vec<String>>,
    pub ranking_score_threshold: Option<f64>,
    pub show_ranking_score: bool,
    pub show_ranking_score_details: bool,
}

pub(crate) fn strategy_from(value: &str, location: &str) -> ApiResult<Strategy> {
    match value {
        "last" => Ok(Strategy::Last),
        "all" => Ok(Strategy::All),
        "frequency" => Ok(Strategy::Frequency),
        other => Err(ApiError::new(
            Code::InvalidSearchMatchingStrategy,
            format!(
                "Unknown value `{other}`{location}: expected one of `last`, `all`, `frequency`"
            ),
        )),
    }
}

fn threshold_error(location: &str) -> ApiError {
    ApiError::new(
        Code::InvalidSearchRankingScoreThreshold,
        format!("Invalid value{location}: the value of `rankingScoreThreshold` is invalid, expected a float between `0.0` and `1.0`."),
    )
}

pub(crate) fn opt_usize(
    obj: &Map<String, Value>,
    key: &str,
    code: Code,
) -> ApiResult<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64().map(|v| v as usize)),
        Some(v) => Err(invalid_type(
            &format!(".{key}"),
            "a positive integer",
            v,
            code,
        )),
    }
}

pub(crate) fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    code: Code,
) -> ApiResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(invalid_type(&format!(".{key}"), "a string", v, code)),
    }
}

pub(crate) fn opt_bool(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(invalid_type(&format!(".{key}"), "a boolean", v, code)),
    }
}

pub(crate) fn opt_list(
    obj: &Map<String, Value>,
    key: &str,
    code: Code,
) -> ApiResult<Option<Vec<String>>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_type(
                    &format!(".{key}[{i}]"),
                    "a string",
                    other,
                    code,
                )),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(v) => Err(invalid_type(&format!(".{key}"), "an array", v, code)),
    }
}

impl SearchQuery {
    /// Validates a `POST` body.
    pub fn from_body(obj: &Map<String, Value>) -> ApiResult<Self> {
        check_fields(obj, &BODY_FIELDS, "")?;
        let threshold = match obj.get("rankingScoreThreshold") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if (0.0..=1.0).contains(&f) => Some(f),
                _ => return Err(threshold_error(" at `.rankingScoreThreshold`")),
            },
            Some(v) => {
                return Err(invalid_type(
                    ".rankingScoreThreshold",
                    "a number",
                    v,
                    Code::InvalidSearchRankingScoreThreshold,
                ))
            }
        };
        let strategy = match obj.get("matchingStrategy") {
            None | Some(Value::Null) => Strategy::Last,
            Some(Value::String(s)) => strategy_from(s, " at `.matchingStrategy`")?,
            Some(v) => {
                return Err(invalid_type(
                    ".matchingStrategy",
                    "a string",
                    v,
                    Code::InvalidSearchMatchingStrategy,
                ))
            }
        };
        opt_bool(
            obj,
            "showMatchesPosition",
            Code::InvalidSearchShowMatchesPosition,
        )?;
        let show_ranking_score_details = opt_bool(
            obj,
            "showRankingScoreDetails",
            Code::InvalidSearchShowRankingScoreDetails,
        )?;
        opt_usize(obj, "cropLength", Code::InvalidSearchCropLength)?;
        opt_string(obj, "cropMarker", Code::InvalidSearchCropMarker)?;
        opt_list(obj, "attributesToCrop", Code::InvalidSearchAttributesToCrop)?;
        Ok(SearchQuery {
            q: opt_string(obj, "q", Code::InvalidSearchQ)?,
            offset: opt_usize(obj, "offset", Code::InvalidSearchOffset)?,
            limit: opt_usize(obj, "limit", Code::InvalidSearchLimit)?,
            page: opt_usize(obj, "page", Code::InvalidSearchPage)?,
            hits_per_page: opt_usize(obj, "hitsPerPage", Code::InvalidSearchHitsPerPage)?,
            attributes_to_retrieve: opt_list(
                obj,
                "attributesToRetrieve",
                Code::InvalidSearchAttributesToRetrieve,
            )?,
            attributes_to_highlight: opt_list(
                obj,
                "attributesToHighlight",
                Code::InvalidSearchAttributesToHighlight,
            )?,
            attributes_to_crop: opt_list(
                obj,
                "attributesToCrop",
                Code::InvalidSearchAttributesToCrop,
            )?,
            highlight_pre_tag: opt_string(
                obj,
                "highlightPreTag",
                Code::InvalidSearchHighlightPreTag,
            )?,
            highlight_post_tag: opt_string(
                obj,
                "highlightPostTag",
                Code::InvalidSearchHighlightPostTag,
            )?,
            filter: obj.get("filter").filter(|v| !v.is_null()).cloned(),
            sort: opt_list(obj, "sort", Code::InvalidSearchSort)?,
            distinct: opt_string(obj, "distinct", Code::InvalidSearchDistinct)?,
            facets: opt_list(obj, "facets", Code::InvalidSearchFacets)?,
            strategy,
            attributes_to_search_on: opt_list(
                obj,
                "attributesToSearchOn",
                Code::InvalidSearchAttributesToSearchOn,
            )?,
            ranking_score_threshold: threshold,
            show_ranking_score: opt_bool(
                obj,
                "showRankingScore",
                Code::InvalidSearchShowRankingScore,
            )?,
            show_ranking_score_details,
        })
    }

    /// Validates `GET` query parameters.
    pub fn from_query(q: &QueryParams) -> ApiResult<Self> {
        q.check_known(&QUERY_PARAMS)?;
        let threshold = match q.get("rankingScoreThreshold") {
            None => None,
            Some(raw) => match raw.parse::<f64>() {
                Ok(f) if (0.0..=1.0).contains(&f) => Some(f),
                _ => return Err(threshold_error(" in parameter `rankingScoreThreshold`")),
            },
        };
        let strategy = match q.get("matchingStrategy") {
            None => Strategy::Last,
            Some(s) => strategy_from(s, " for parameter `matchingStrategy`")?,
        };
        q.bool(
            "showMatchesPosition",
            Code::InvalidSearchShowMatchesPosition,
        )?;
        let show_ranking_score_details = q
            .bool(
                "showRankingScoreDetails",
                Code::InvalidSearchShowRankingScoreDetails,
            )?
            .unwrap_or(false);
        q.usize("cropLength", Code::InvalidSearchCropLength)?;
        Ok(SearchQuery {
            q: q.get("q").map(str::to_string),
            offset: q.usize("offset", Code::InvalidSearchOffset)?,
            limit: q.usize("limit", Code::InvalidSearchLimit)?,
            page: q.usize("page", Code::InvalidSearchPage)?,
            hits_per_page: q.usize("hitsPerPage", Code::InvalidSearchHitsPerPage)?,
            attributes_to_retrieve: q.list("attributesToRetrieve"),
            attributes_to_highlight: q.list("attributesToHighlight"),
            attributes_to_crop: q.list("attributesToCrop"),
            highlight_pre_tag: q.get("highlightPreTag").map(str::to_string),
            highlight_post_tag: q.get("highlightPostTag").map(str::to_string),
            filter: q.get("filter").map(|f| Value::String(f.to_string())),
            sort: q.list("sort"),
            distinct: q.get("distinct").map(str::to_string),
            facets: q.list("facets"),
            strategy,
            attributes_to_search_on: q.list("attributesToSearchOn"),
            ranking_score_threshold: threshold,
            show_ranking_score: q
                .bool("showRankingScore", Code::InvalidSearchShowRankingScore)?
                .unwrap_or(false),
            show_ranking_score_details,
        })
    }
}
