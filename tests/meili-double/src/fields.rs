//! `POST /indexes/{uid}/fields`: the index's top-level fields with what the settings
//! make of each, sorted by name and paged, in Meilisearch 1.50's shape. Nested fields
//! and locales are not modelled. Also `documents/edit`, refused as without its feature.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::indexes::validate_uid;
use crate::params::{body_usize, check_fields, json_object};
use crate::settings::{pattern_matches, Settings};
use crate::AppState;

fn describe(name: &str, s: &Settings) -> Value {
    let listed = |list: Option<Vec<String>>| list.is_none_or(|l| l.iter().any(|p| pattern_matches(p, name)));
    let order = s.ranking_rules().iter().find_map(|r| match r.rsplit_once(':') {
        Some((field, dir)) if field == name && (dir == "asc" || dir == "desc") => Some(dir.to_string()),
        _ => None,
    });
    let rule = s.filter_rules().into_iter().find(|r| r.patterns.iter().any(|p| pattern_matches(p, name)));
    let (equality, comparison) = rule.as_ref().map_or((false, false), |r| (r.filter, r.comparison));
    let mut ranking = Map::new();
    ranking.insert("enabled".into(), json!(order.is_some()));
    if let Some(order) = order {
        ranking.insert("order".into(), json!(order));
    }
    json!({
        "name": name,
        "displayed": {"enabled": listed(s.displayed())},
        "searchable": {"enabled": listed(s.searchable())},
        "sortable": {"enabled": s.sortable().iter().any(|p| pattern_matches(p, name))},
        "distinct": {"enabled": s.distinct().as_deref() == Some(name)},
        "rankingRule": ranking,
        "filterable": {
            "enabled": rule.is_some(),
            "sortBy": s.sort_facet_values_by(name),
            "facetSearch": rule.is_some() && equality,
            "equality": equality,
            "comparison": comparison,
        },
        "localized": {"locales": []},
    })
}

/// Whether a described field passes the body's `filter`.
fn passes(field: &Value, filter: &Map<String, Value>) -> bool {
    filter.iter().all(|(key, wanted)| match key.as_str() {
        "attributePatterns" => wanted.as_array().is_none_or(|ps| {
            ps.iter().filter_map(Value::as_str).any(|p| field["name"].as_str().is_some_and(|n| pattern_matches(p, n)))
        }),
        other => wanted.is_null() || field.get(other).map(|f| &f["enabled"]) == Some(wanted),
    })
}

/// `POST /indexes/{uid}/fields`
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &["offset", "limit", "filter"], "")?;
    let offset = body_usize(&obj, "offset", Code::InvalidIndexOffset)?.unwrap_or(0);
    let limit = body_usize(&obj, "limit", Code::InvalidIndexLimit)?.unwrap_or(20);
    let filter = match obj.get("filter") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(_) => return Err(ApiError::new(Code::BadRequest, "Invalid value type at `.filter`: expected an object")),
    };
    let db = state.lock()?;
    let index = db.indexes.get(&uid).ok_or_else(|| ApiError::IndexNotFound(uid.clone()))?;
    let mut names: Vec<&String> = index.fields.iter().collect();
    names.sort();
    let fields: Vec<Value> = names.into_iter().map(|n| describe(n, &index.settings)).filter(|f| passes(f, &filter)).collect();
    let total = fields.len();
    let results: Vec<Value> = fields.into_iter().skip(offset).take(limit).collect();
    Ok(Json(json!({"results": results, "offset": offset, "limit": limit, "total": total})))
}

/// `POST /indexes/{uid}/documents/edit`: the double has no experimental features, so it
/// refuses as Meilisearch 1.50 does while `editDocumentsByFunction` is off.
pub async fn edit_documents(Path(uid): Path<String>) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    Err(ApiError::new(
        Code::Other("feature_not_enabled"),
        "Using the documents edit route requires enabling the `edit documents by function` experimental feature. See https://github.com/orgs/meilisearch/discussions/762",
    ))
}
