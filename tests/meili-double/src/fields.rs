//! `POST /indexes/{uid}/fields`: every field of the index (nested paths
//! included), sorted by name, with what the settings make of it, filtered
//! and paged as Meilisearch 1.50 does. Simplified: a filterable field has
//! every filter feature (the double does not model per-rule `features`)
//! and no field has locales.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::params::{check_fields, invalid_type, json_object};
use crate::search::query::{opt_bool, opt_list, opt_usize};
use crate::settings::pattern_matches;
use crate::store::Index;
use crate::AppState;

const FILTER_FIELDS: [&str; 7] = [
    "attributePatterns",
    "displayed",
    "searchable",
    "sortable",
    "distinct",
    "rankingRule",
    "filterable",
];

fn collect(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(name.clone());
                collect(&name, child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| {
            if i.is_object() || i.is_array() {
                collect(prefix, i, out)
            }
        }),
        _ => {}
    }
}

/// One field as `POST /fields` shows it.
fn describe(index: &Index, name: &str) -> Value {
    let s = &index.settings;
    let matches_any = |list: &[String]| list.iter().any(|p| pattern_matches(p, name));
    let displayed = s.displayed().is_none_or(|l| matches_any(&l));
    let searchable = s.searchable().is_none_or(|l| matches_any(&l));
    let sortable = matches_any(&s.sortable());
    let distinct = s.distinct().as_deref() == Some(name);
    let order = s.ranking_rules().iter().find_map(|r| {
        r.strip_suffix(":asc")
            .filter(|f| *f == name)
            .map(|_| "asc")
            .or_else(|| {
                r.strip_suffix(":desc")
                    .filter(|f| *f == name)
                    .map(|_| "desc")
            })
    });
    let mut ranking_rule = Map::new();
    ranking_rule.insert("enabled".into(), json!(order.is_some()));
    if let Some(o) = order {
        ranking_rule.insert("order".into(), json!(o));
    }
    let filterable = s.is_filterable(name);
    json!({
        "name": name,
        "displayed": {"enabled": displayed},
        "searchable": {"enabled": searchable},
        "sortable": {"enabled": sortable},
        "distinct": {"enabled": distinct},
        "rankingRule": ranking_rule,
        "filterable": {
            "enabled": filterable,
            "sortBy": s.sort_facet_values_by(name),
            "facetSearch": filterable,
            "equality": filterable,
            "comparison": filterable,
        },
        "localized": {"locales": []},
    })
}

/// `POST /indexes/{uid}/fields`
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    crate::indexes::validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &["offset", "limit", "filter"], "")?;
    let offset = opt_usize(&obj, "offset", Code::InvalidIndexOffset)?.unwrap_or(0);
    let limit = opt_usize(&obj, "limit", Code::InvalidIndexLimit)?.unwrap_or(20);
    let filter: Option<Map<String, Value>> = match obj.get("filter") {
        None | Some(Value::Null) => None,
        Some(Value::Object(f)) => {
            check_fields(f, &FILTER_FIELDS, ".filter")?;
            Some(f.clone())
        }
        Some(other) => {
            return Err(invalid_type(
                ".filter",
                "an object",
                other,
                Code::Other("invalid_index_fields_filter"),
            ))
        }
    };
    let patterns = match &filter {
        Some(f) => opt_list(
            f,
            "attributePatterns",
            Code::Other("invalid_index_fields_filter_attribute_patterns"),
        )?,
        None => None,
    };
    let mut wanted: Vec<(&str, Option<bool>)> = Vec::new();
    if let Some(f) = &filter {
        for key in &FILTER_FIELDS[1..] {
            let code = Code::Other("invalid_index_fields_filter");
            let given = f.get(*key).filter(|v| !v.is_null()).is_some();
            let v = opt_bool(f, key, code)?;
            wanted.push((key, given.then_some(v)));
        }
    }
    let db = state.lock()?;
    let index = db
        .indexes
        .get(&uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.clone()))?;
    let mut names: BTreeSet<String> = index.fields.iter().cloned().collect();
    for stored in index.docs.values() {
        collect("", &Value::Object(stored.doc.clone()), &mut names);
    }
    let fields: Vec<Value> = names
        .iter()
        .filter(|n| {
            patterns
                .as_ref()
                .is_none_or(|p| p.iter().any(|p| pattern_matches(p, n)))
        })
        .map(|n| describe(index, n))
        .filter(|f| {
            wanted
                .iter()
                .all(|(key, v)| v.is_none_or(|v| f[*key]["enabled"] == v))
        })
        .collect();
    let total = fields.len();
    let results: Vec<Value> = fields.into_iter().skip(offset).take(limit).collect();
    Ok(Json(
        json!({"results": results, "offset": offset, "limit": limit, "total": total}),
    ))
}
