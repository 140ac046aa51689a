//! The `POST /multi-search` body: `queries` (each a search with `indexUid`
//! and optional `federationOptions`) and an optional `federation`, checked
//! with Meilisearch's error codes and locations (`.queries[i].limit`, ...).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::indexes::validate_uid;
use crate::params::{check_fields, invalid_type, invalid_value};
use crate::search::query::{opt_bool, opt_list, opt_string, opt_usize, BODY_FIELDS};
use crate::search::SearchQuery;

const TOP_FIELDS: [&str; 2] = ["queries", "federation"];
const FEDERATION_FIELDS: [&str; 9] = [
    "limit",
    "offset",
    "page",
    "hitsPerPage",
    "facetsByIndex",
    "mergeFacets",
    "distinct",
    "showPerformanceDetails",
    "personalize",
];
const OPTION_FIELDS: [&str; 3] = ["weight", "remote", "queryPosition"];

/// One query of a multi-search.
#[derive(Debug, Clone)]
pub struct IndexQuery {
    pub index_uid: String,
    pub query: SearchQuery,
    /// `federationOptions.weight` (1.0 by default); `Some` when the query
    /// had `federationOptions` at all.
    pub weight: Option<f64>,
    /// Paging fields the query set (refused in a federated search), in
    /// Meilisearch's order of checking.
    pub paging: Option<&'static str>,
    /// Whether `showPerformanceDetails` was set.
    pub performance_details: bool,
}

/// `federation`.
#[derive(Debug, Clone, Default)]
pub struct Federation {
    pub limit: usize,
    pub offset: usize,
    pub page: Option<usize>,
    pub hits_per_page: Option<usize>,
    /// Index → facet patterns (`None` when given as `null`).
    pub facets_by_index: BTreeMap<String, Option<Vec<String>>>,
    /// `mergeFacets`: `Some(max values per facet)`.
    pub merge_facets: Option<Option<usize>>,
    pub distinct: Option<String>,
}

pub struct MultiSearch {
    pub queries: Vec<IndexQuery>,
    pub federation: Option<Federation>,
}

/// `Invalid value type at `.x`` → `Invalid value type at `.queries[i].x``.
fn relocate(err: ApiError, prefix: &str) -> ApiError {
    let message = err
        .to_string()
        .replacen("at `.", &format!("at `{prefix}."), 1);
    ApiError::new(err.code(), message)
}

fn parse_query(i: usize, v: &Value) -> ApiResult<IndexQuery> {
    let at = format!(".queries[{i}]");
    let Value::Object(obj) = v else {
        return Err(invalid_type(&at, "an object", v, Code::BadRequest));
    };
    let mut accepted = vec!["indexUid"];
    accepted.extend(BODY_FIELDS);
    accepted.push("federationOptions");
    check_fields(obj, &accepted, &at)?;
    let mut search: Map<String, Value> = obj.clone();
    search.remove("indexUid");
    let options = search.remove("federationOptions");
    let query = SearchQuery::from_body(&search).map_err(|e| relocate(e, &at))?;
    let weight =
        match options {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => {
                let oat = format!("{at}.federationOptions");
                check_fields(&o, &OPTION_FIELDS, &oat)?;
                match o.get("weight") {
                    None | Some(Value::Null) => Some(1.0),
                    Some(Value::Number(n)) => match n.as_f64() {
                        Some(w) if w >= 0.0 => Some(w),
                        _ => return Err(invalid_value(
                            &format!("{oat}.weight"),
                            "the value of `weight` is invalid, expected a positive float (>= 0.0).",
                            Code::Other("invalid_multi_search_weight"),
                        )),
                    },
                    Some(other) => {
                        return Err(invalid_type(
                            &format!("{oat}.weight"),
                            "a number",
                            other,
                            Code::Other("invalid_multi_search_weight"),
                        ))
                    }
                }
            }
            Some(other) => {
                return Err(invalid_type(
                    &format!("{at}.federationOptions"),
                    "an object",
                    &other,
                    Code::Other("invalid_multi_search_federation_options"),
                ))
            }
        };
    let index_uid = match obj.get("indexUid") {
        None => {
            return Err(ApiError::new(
                Code::MissingIndexUid,
                format!("Missing field `indexUid` inside `{at}`"),
            ))
        }
        Some(Value::String(s)) => {
            validate_uid(s).map_err(|e| {
                ApiError::new(
                    Code::InvalidIndexUid,
                    format!("Invalid value at `{at}.indexUid`: {e}"),
                )
            })?;
            s.clone()
        }
        Some(other) => {
            return Err(invalid_type(
                &format!("{at}.indexUid"),
                "a string",
                other,
                Code::InvalidIndexUid,
            ))
        }
    };
    let paging = ["offset", "limit", "page", "hitsPerPage"]
        .into_iter()
        .find(|k| obj.get(*k).is_some_and(|v| !v.is_null()));
    let performance_details = obj
        .get("showPerformanceDetails")
        .is_some_and(|v| v.as_bool() == Some(true));
    Ok(IndexQuery {
        index_uid,
        query,
        weight,
        paging,
        performance_details,
    })
}

fn parse_federation(v: &Value) -> ApiResult<Option<Federation>> {
    let obj = match v {
        Value::Null => return Ok(None),
        Value::Object(o) => o,
        other => {
            return Err(invalid_type(
                ".federation",
                "an object",
                other,
                Code::BadRequest,
            ))
        }
    };
    check_fields(obj, &FEDERATION_FIELDS, ".federation")?;
    let at = |e: ApiError| relocate(e, ".federation");
    let mut f = Federation {
        limit: opt_usize(obj, "limit", Code::InvalidSearchLimit)
            .map_err(at)?
            .unwrap_or(20),
        offset: opt_usize(obj, "offset", Code::InvalidSearchOffset)
            .map_err(at)?
            .unwrap_or(0),
        page: opt_usize(obj, "page", Code::InvalidSearchPage).map_err(at)?,
        hits_per_page: opt_usize(obj, "hitsPerPage", Code::InvalidSearchHitsPerPage).map_err(at)?,
        distinct: opt_string(obj, "distinct", Code::InvalidSearchDistinct).map_err(at)?,
        ..Default::default()
    };
    opt_bool(
        obj,
        "showPerformanceDetails",
        Code::Other("invalid_search_show_performance_details"),
    )
    .map_err(at)?;
    let facets_code = Code::Other("invalid_multi_search_facets_by_index");
    match obj.get("facetsByIndex") {
        None | Some(Value::Null) => {}
        Some(Value::Object(by_index)) => {
            for (uid, patterns) in by_index {
                let list = opt_list(by_index, uid, facets_code)
                    .map_err(|e| relocate(e, ".federation.facetsByIndex"))?;
                let _ = patterns;
                f.facets_by_index.insert(uid.clone(), list);
            }
        }
        Some(other) => {
            return Err(invalid_type(
                ".federation.facetsByIndex",
                "an object",
                other,
                facets_code,
            ))
        }
    }
    match obj.get("mergeFacets") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            check_fields(m, &["maxValuesPerFacet"], ".federation.mergeFacets")?;
            let max = opt_usize(
                m,
                "maxValuesPerFacet",
                Code::Other("invalid_multi_search_max_values_per_facet"),
            )
            .map_err(|e| relocate(e, ".federation.mergeFacets"))?;
            f.merge_facets = Some(max);
        }
        Some(other) => {
            return Err(invalid_type(
                ".federation.mergeFacets",
                "an object",
                other,
                Code::Other("invalid_multi_search_merge_facets"),
            ))
        }
    }
    Ok(Some(f))
}

impl MultiSearch {
    /// Validates the body, field by field in the order they appear.
    pub fn parse(obj: &Map<String, Value>) -> ApiResult<Self> {
        check_fields(obj, &TOP_FIELDS, "")?;
        let mut queries = None;
        let mut federation = None;
        for (key, v) in obj {
            match key.as_str() {
                "queries" => {
                    let Value::Array(items) = v else {
                        return Err(invalid_type(".queries", "an array", v, Code::BadRequest));
                    };
                    queries = Some(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, q)| parse_query(i, q))
                            .collect::<ApiResult<Vec<_>>>()?,
                    );
                }
                _ => federation = parse_federation(v)?,
            }
        }
        let queries =
            queries.ok_or_else(|| ApiError::new(Code::BadRequest, "Missing field `queries`"))?;
        Ok(MultiSearch {
            queries,
            federation,
        })
    }
}
