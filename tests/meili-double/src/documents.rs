//! `/indexes/{uid}/documents` routes: add or replace (POST), add or update
//! (PUT), get one, list and fetch, delete one, by batch, by filter, clear.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::filter::{self, Filter};
use crate::indexes::validate_uid;
use crate::params::{
    body_string_list, body_usize, check_fields, custom_metadata, invalid_type, json_body,
    json_object, parse_skip_creation, QueryParams,
};
use crate::payload::{self, Document};
use crate::sort::{self, SortBy};
use crate::store::Index;
use crate::tasks::TaskKind;
use crate::AppState;

type Accepted = (StatusCode, Json<Value>);

async fn add_documents(
    state: Arc<AppState>,
    uid: String,
    raw_query: Option<String>,
    headers: HeaderMap,
    body: Body,
    merge: bool,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    let q = QueryParams::parse(raw_query.as_deref());
    q.check_known(&[
        "primaryKey",
        "csvDelimiter",
        "customMetadata",
        "skipCreation",
    ])?;
    let primary_key = q.get("primaryKey").map(str::to_string);
    let delimiter = payload::parse_csv_delimiter(q.get("csvDelimiter"))?;
    let format = payload::negotiate(&headers, delimiter)?;
    let bytes = payload::read_limited(body, state.payload_limit)
        .await
        .map_err(|e| match e {
            None => ApiError::PayloadTooLarge(state.payload_limit),
            Some(msg) => ApiError::new(
                Code::Internal,
                format!("Error while receiving the playload. `{msg}`."),
            ),
        })?;
    let skip_creation = parse_skip_creation(q.get("skipCreation"))?;
    let custom_metadata = q.get("customMetadata").map(str::to_string);
    let docs = payload::parse(format, &bytes)?;
    let mut details = Map::new();
    details.insert("receivedDocuments".into(), json!(docs.len()));
    details.insert("indexedDocuments".into(), Value::Null);
    let summary = state.enqueue_with_metadata(
        Some(uid),
        TaskKind::DocumentAdditionOrUpdate {
            primary_key,
            merge,
            skip_creation,
        },
        Some(details),
        Some(docs),
        custom_metadata,
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// `POST /indexes/{uid}/documents`: add or replace documents.
pub async fn replace(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Accepted> {
    add_documents(state, uid, raw, headers, body, false).await
}

/// `PUT /indexes/{uid}/documents`: add or update (merge) documents.
pub async fn update(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Accepted> {
    add_documents(state, uid, raw, headers, body, true).await
}

/// Keeps the requested `fields` (dotted paths allowed). The documents routes
/// ignore `displayedAttributes`, as Meilisearch's do.
pub fn project(doc: &Document, fields: Option<&[String]>) -> Document {
    match fields {
        Some(fields) => select(doc, fields),
        None => doc.clone(),
    }
}

/// Selects fields (with `*` meaning all, and dotted paths into objects) keeping document order.
pub fn select(doc: &Document, fields: &[String]) -> Document {
    if fields.iter().any(|f| f == "*") {
        return doc.clone();
    }
    let mut out = Map::new();
    for (key, value) in doc {
        if fields.iter().any(|f| f == key) {
            out.insert(key.clone(), value.clone());
            continue;
        }
        let nested: Vec<String> = fields
            .iter()
            .filter_map(|f| {
                f.strip_prefix(key.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                    .map(str::to_string)
            })
            .collect();
        if nested.is_empty() {
            continue;
        }
        match value {
            Value::Object(inner) => {
                let sub = select(inner, &nested);
                if !sub.is_empty() {
                    out.insert(key.clone(), Value::Object(sub));
                }
            }
            Value::Array(items) => {
                let picked: Vec<Value> = items
                    .iter()
                    .filter_map(|item| match item {
                        Value::Object(inner) => {
                            let sub = select(inner, &nested);
                            (!sub.is_empty()).then_some(Value::Object(sub))
                        }
                        _ => None,
                    })
                    .collect();
                if !picked.is_empty() {
                    out.insert(key.clone(), Value::Array(picked));
                }
            }
            _ => {}
        }
    }
    out
}

/// Parses a documents-route filter; syntax errors are `invalid_document_filter`.
fn parse_document_filter(value: &Value) -> ApiResult<Option<Filter>> {
    let parsed =
        filter::parse_value(value).map_err(|e| ApiError::new(Code::InvalidDocumentFilter, e))?;
    if let Some(e) = parsed.as_ref().and_then(Filter::feature_error) {
        return Err(ApiError::new(Code::Other("feature_not_enabled"), e));
    }
    Ok(parsed)
}

/// Checks sort expressions against the sortable attributes (documents routes).
pub fn parse_sorts(
    sorts: &[String],
    index: &Index,
    code: Code,
    prefix: &str,
) -> ApiResult<Vec<SortBy>> {
    let sortable = index.settings.sortable();
    let mut out = Vec::new();
    for expr in sorts {
        let by = sort::parse(expr).map_err(|e| ApiError::new(code, sort::syntax_message(&e)))?;
        if !sortable
            .iter()
            .any(|s| crate::settings::pattern_matches(s, &by.field))
        {
            let message = if sortable.is_empty() {
                format!("{prefix}Attribute `{}` is not sortable. This index does not have configured sortable attributes.", by.field)
            } else {
                format!(
                    "{prefix}Attribute `{}` is not sortable. Available sortable attributes are: `{}`.",
                    by.field,
                    sortable.join(", ")
                )
            };
            return Err(ApiError::new(code, message));
        }
        out.push(by);
    }
    Ok(out)
}

struct Browse {
    offset: usize,
    limit: usize,
    fields: Option<Vec<String>>,
    ids: Option<Vec<String>>,
    filter: Option<Value>,
    sort: Option<Vec<String>>,
}

fn browse(state: &AppState, uid: &str, query: Browse) -> ApiResult<Json<Value>> {
    let filter = match &query.filter {
        Some(v) => parse_document_filter(v)?,
        None => None,
    };
    let db = state.lock()?;
    let index = db
        .indexes
        .get(uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.to_string()))?;
    let sorts = match &query.sort {
        Some(list) => parse_sorts(list, index, Code::InvalidDocumentSort, "")?,
        None => Vec::new(),
    };
    if let Some(f) = &filter {
        f.check_filterable(&index.settings)
            .map_err(|e| ApiError::new(Code::InvalidDocumentFilter, e))?;
    }
    let mut candidates: Vec<&Document> = match &query.ids {
        Some(ids) => {
            let mut internal: Vec<u32> = ids
                .iter()
                .filter_map(|id| index.ext_ids.get(id).copied())
                .collect();
            internal.sort_unstable();
            internal.dedup();
            internal
                .iter()
                .filter_map(|i| index.docs.get(i))
                .map(|d| &d.doc)
                .collect()
        }
        None => index.docs.values().map(|d| &d.doc).collect(),
    };
    if let Some(f) = &filter {
        candidates.retain(|d| f.matches(d));
    }
    if !sorts.is_empty() {
        candidates.sort_by(|a, b| {
            sorts
                .iter()
                .map(|s| sort::compare(a, b, s))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    let total = candidates.len();
    // the documents routes ignore `displayedAttributes`, as Meilisearch's do
    let results: Vec<Value> = candidates
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|d| Value::Object(project(d, query.fields.as_deref())))
        .collect();
    Ok(Json(
        json!({"results": results, "offset": query.offset, "limit": query.limit, "total": total}),
    ))
}

const BROWSE_PARAMS: [&str; 8] = [
    "offset",
    "limit",
    "fields",
    "retrieveVectors",
    "ids",
    "filter",
    "sort",
    "useNetwork",
];

/// `GET /indexes/{uid}/documents`
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    let q = QueryParams::parse(raw.as_deref());
    q.check_known(&BROWSE_PARAMS)?;
    let query = Browse {
        offset: q.usize("offset", Code::InvalidDocumentOffset)?.unwrap_or(0),
        limit: q.usize("limit", Code::InvalidDocumentLimit)?.unwrap_or(20),
        fields: q.list("fields"),
        ids: q.list("ids"),
        filter: q.get("filter").map(|f| Value::String(f.to_string())),
        sort: q.list("sort"),
    };
    q.bool("retrieveVectors", Code::InvalidDocumentRetrieveVectors)?;
    browse(&state, &uid, query)
}

fn id_list(value: Option<&Value>) -> ApiResult<Option<Vec<String>>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) if !n.is_f64() => Ok(n.to_string()),
                other => Err(ApiError::new(
                    Code::InvalidDocumentIds,
                    format!("In `.ids[{i}]`: Document identifier `{other}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."),
                )),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(other) => Err(invalid_type(".ids", "an array", other, Code::InvalidDocumentIds)),
    }
}

/// `POST /indexes/{uid}/documents/fetch`
pub async fn fetch(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &BROWSE_PARAMS, "")?;
    let query = Browse {
        offset: body_usize(&obj, "offset", Code::InvalidDocumentOffset)?.unwrap_or(0),
        limit: body_usize(&obj, "limit", Code::InvalidDocumentLimit)?.unwrap_or(20),
        fields: body_string_list(&obj, "fields", Code::InvalidDocumentFields)?,
        ids: id_list(obj.get("ids"))?,
        filter: obj.get("filter").filter(|v| !v.is_null()).cloned(),
        sort: body_string_list(&obj, "sort", Code::InvalidDocumentSort)?,
    };
    browse(&state, &uid, query)
}

/// `GET /indexes/{uid}/documents/{id}`
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path((uid, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    validate_uid(&uid)?;
    let q = QueryParams::parse(raw.as_deref());
    q.check_known(&["fields", "retrieveVectors", "useNetwork"])?;
    q.bool("retrieveVectors", Code::InvalidDocumentRetrieveVectors)?;
    let fields = q.list("fields");
    let db = state.lock()?;
    let index = db
        .indexes
        .get(&uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.clone()))?;
    let doc = index
        .get(&id)
        .ok_or_else(|| ApiError::DocumentNotFound(id.clone()))?;
    Ok(Json(Value::Object(project(doc, fields.as_deref()))))
}

fn deletion_details(provided: usize) -> Map<String, Value> {
    let mut details = Map::new();
    details.insert("providedIds".into(), json!(provided));
    details.insert("deletedDocuments".into(), Value::Null);
    details.insert("originalFilter".into(), Value::Null);
    details
}

/// `DELETE /indexes/{uid}/documents/{id}`
pub async fn delete_one(
    State(state): State<Arc<AppState>>,
    Path((uid, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    let summary = state.enqueue_with_metadata(
        Some(uid),
        TaskKind::DocumentDeletion { ids: vec![id] },
        Some(deletion_details(1)),
        None,
        custom_metadata(raw.as_deref()),
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// `POST /indexes/{uid}/documents/delete-batch`
pub async fn delete_batch(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    let value = json_body(&headers, &body, state.payload_limit)?;
    let Value::Array(items) = value else {
        let found = match &value {
            Value::Object(_) => "map",
            Value::String(_) => "string",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            _ => "number",
        };
        return Err(ApiError::new(
            Code::BadRequest,
            format!("Json deserialize error: invalid type: {found}, expected a sequence at line 1 column 0"),
        ));
    };
    let ids: Vec<String> = items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
        .collect();
    let n = ids.len();
    let summary = state.enqueue_with_metadata(
        Some(uid),
        TaskKind::DocumentDeletion { ids },
        Some(deletion_details(n)),
        None,
        custom_metadata(raw.as_deref()),
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// `POST /indexes/{uid}/documents/delete`
pub async fn delete_by_filter(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    check_fields(&obj, &["filter"], "")?;
    let Some(filter) = obj.get("filter") else {
        return Err(ApiError::new(
            Code::MissingDocumentFilter,
            "Missing field `filter`",
        ));
    };
    if parse_document_filter(filter)?.is_none() {
        return Err(ApiError::new(
            Code::InvalidDocumentFilter,
            "Sending an empty filter is forbidden.",
        ));
    }
    let mut details = Map::new();
    details.insert("providedIds".into(), json!(0));
    details.insert("deletedDocuments".into(), Value::Null);
    details.insert("originalFilter".into(), json!(filter.to_string()));
    let summary = state.enqueue_with_metadata(
        Some(uid),
        TaskKind::DocumentDeletionByFilter {
            filter: filter.clone(),
        },
        Some(details),
        None,
        custom_metadata(raw.as_deref()),
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

/// `DELETE /indexes/{uid}/documents`
pub async fn clear(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Accepted> {
    validate_uid(&uid)?;
    let mut details = Map::new();
    details.insert("deletedDocuments".into(), Value::Null);
    let summary = state.enqueue_with_metadata(
        Some(uid),
        TaskKind::DocumentClear,
        Some(details),
        None,
        custom_metadata(raw.as_deref()),
    )?;
    Ok((StatusCode::ACCEPTED, Json(summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_keeps_requested_and_nested_fields() {
        let doc =
            json!({"id": 1, "title": "x", "meta": {"a": 1, "b": 2}, "cast": [{"n": "a", "r": 1}]});
        let doc = doc.as_object().unwrap();
        let out = select(doc, &["title".into(), "meta.b".into(), "cast.n".into()]);
        assert_eq!(
            Value::Object(out),
            json!({"title": "x", "meta": {"b": 2}, "cast": [{"n": "a"}]})
        );
        assert_eq!(select(doc, &["*".into()]).len(), 4);
    }

    #[test]
    fn project_keeps_requested_fields_only() {
        let doc = json!({"id": 1, "title": "x", "secret": 2});
        let doc = doc.as_object().unwrap();
        assert_eq!(
            Value::Object(project(doc, None)),
            json!({"id": 1, "title": "x", "secret": 2})
        );
        let out = project(doc, Some(&["title".to_string(), "secret".to_string()]));
        assert_eq!(Value::Object(out), json!({"title": "x", "secret": 2}));
    }
}
