//! Browsing documents (`GET /indexes/{uid}/documents`, `POST .../documents/fetch`)
//! over shards: what each shard is asked and how the answers become one node's answer.
//!
//! A single Meilisearch lists documents without `sort` in its internal id order (about
//! insertion order, with ids of deleted documents reused), which no sharded gateway can
//! know. Miroir's order without `sort` is shard by shard (ascending shard id), each
//! shard in its node's order: stable across requests, so `offset`/`limit` pages never
//! repeat or skip a document. With `sort` the order is Meilisearch's own, documents
//! with equal sort values ordered by shard. `total` is exact either way.
//!
//! Calls name their shards (`_miroir_shard = s` or `IN [..]` ANDed to the client's
//! filter). Without `sort` a first round asks every shard for its count only
//! (`limit: 0`), and a second fetches only the shards under the client's page, each its
//! own slice; a shallow page (ending within 100 documents) takes one round instead, every
//! shard sending its count and first `offset + limit` documents. With `sort` one call per node returns the first `offset + limit` documents
//! of its shards, each with its shard; they are merged on their sort keys ([`sort`]),
//! the sort fields added to `fields` when the client restricted them and taken out again.

mod merge;
mod sort;

use serde_json::{Map, Value};

pub use merge::{client_document, merge_sorted, window_slices, ShardSlice};
pub use sort::{sort_key, SortRule};

use crate::wire::SHARD_FIELD;

/// Meilisearch's default `limit` for browsing.
pub const DEFAULT_BROWSE_LIMIT: u64 = 20;

/// The client's browse request, as a `documents/fetch` body, and what Miroir reads in it.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowseQuery {
    body: Map<String, Value>,
    pub offset: u64,
    pub limit: u64,
    /// `None`: every field.
    fields: Option<Vec<String>>,
    pub sort: Vec<SortRule>,
}

impl BrowseQuery {
    /// Reads a `documents/fetch` body. `None` when a field Miroir reads has a value
    /// Meilisearch refuses: a node must answer the client's request as it is.
    pub fn from_body(value: Value) -> Option<BrowseQuery> {
        let Value::Object(body) = value else { return None };
        let number = |name: &str, default: u64| match body.get(name) {
            None => Some(default),
            Some(v) => v.as_u64(),
        };
        let offset = number("offset", 0)?;
        let limit = number("limit", DEFAULT_BROWSE_LIMIT)?;
        let fields = match body.get("fields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<Vec<_>>>()?),
            Some(_) => return None,
        };
        let sort = match body.get("sort") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(|v| SortRule::parse(v.as_str()?)).collect::<Option<Vec<_>>>()?,
            Some(_) => return None,
        };
        Some(BrowseQuery { body, offset, limit, fields, sort })
    }

    /// Reads `GET /indexes/{uid}/documents` parameters as Meilisearch converts them to
    /// a fetch body. `None` for a parameter or value a node must judge.
    pub fn from_query_string(query: &str) -> Option<BrowseQuery> {
        let mut body = Map::new();
        for (name, raw) in form_urlencoded::parse(query.as_bytes()) {
            let value = match name.as_ref() {
                "offset" | "limit" => Value::Number(raw.parse::<u64>().ok()?.into()),
                "retrieveVectors" | "useNetwork" => Value::Bool(raw.parse::<bool>().ok()?),
                "fields" if raw == "*" => continue,
                "fields" | "ids" => Value::Array(raw.split(',').map(|s| Value::String(s.trim().to_string())).collect()),
                // A filter that reads as JSON is taken as JSON (an array filter), as Meilisearch does.
                "filter" => serde_json::from_str(&raw).unwrap_or_else(|_| Value::String(raw.to_string())),
                "sort" => Value::Array(split_sort(&raw).into_iter().map(Value::String).collect()),
                _ => return None,
            };
            body.insert(name.into_owned(), value);
        }
        BrowseQuery::from_body(Value::Object(body))
    }

    /// The body asking one shard for its documents `[offset, offset + limit)`.
    /// The second value lists the fields added for the merge, to take out again.
    pub fn shard_body(&self, shard: u32, offset: u64, limit: u64) -> (Value, Vec<String>) {
        self.node_body(&[shard], offset, limit)
    }

    /// The body asking one node for the documents `[offset, offset + limit)` of its
    /// `shards`. A sorted browse also gets each document's shard (the merge orders
    /// tied documents by shard); Miroir's fields are stripped from every answer anyway.
    pub fn node_body(&self, shards: &[u32], offset: u64, limit: u64) -> (Value, Vec<String>) {
        let mut body = self.body.clone();
        restrict_to_shards(&mut body, shards);
        body.insert("offset".into(), offset.into());
        body.insert("limit".into(), limit.into());
        let mut added = Vec::new();
        if let Some(fields) = &self.fields {
            let mut fields = fields.clone();
            for rule in &self.sort {
                let field = rule.field();
                if !covers(&fields, field) {
                    fields.push(field.to_string());
                    added.push(field.to_string());
                }
            }
            if self.is_sorted() && !covers(&fields, SHARD_FIELD) {
                fields.push(SHARD_FIELD.to_string());
            }
            body.insert("fields".into(), Value::Array(fields.into_iter().map(Value::String).collect()));
        }
        (Value::Object(body), added)
    }

    /// Whether documents must be merged on sort keys (else: shard by shard).
    pub fn is_sorted(&self) -> bool {
        !self.sort.is_empty()
    }

    /// The end of the client's page: how deep every shard must answer a sorted browse.
    pub fn depth(&self) -> u64 {
        self.offset.saturating_add(self.limit)
    }

    /// The answer around the page's documents, in Meilisearch's key order.
    pub fn answer(&self, results: Vec<Value>, total: u64) -> Value {
        let mut out = Map::new();
        out.insert("results".into(), Value::Array(results));
        out.insert("offset".into(), self.offset.into());
        out.insert("limit".into(), self.limit.into());
        out.insert("total".into(), total.into());
        Value::Object(out)
    }
}

/// Meilisearch's `fix_sort_query_parameters`: commas split rules, but not inside
/// `_geoPoint(lat, lng)`.
fn split_sort(raw: &str) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    let mut merging = false;
    for part in raw.trim_matches('"').split(',').map(str::trim) {
        match rules.last_mut() {
            Some(last) if merging && !part.starts_with("_geoPoint(") => {
                last.push(',');
                last.push_str(part);
                merging = !(part.ends_with("):desc") || part.ends_with("):asc"));
            }
            _ => {
                merging = part.starts_with("_geoPoint(");
                rules.push(part.to_string());
            }
        }
    }
    rules
}

/// Whether `fields` already returns `field`: itself, an ancestor, or `*`.
fn covers(fields: &[String], field: &str) -> bool {
    fields.iter().any(|f| f == "*" || f == field || field.strip_prefix(f.as_str()).is_some_and(|r| r.starts_with('.')))
}

/// ANDs `_miroir_shard = s` (or `IN [..]`) to the client's filter (array form: an AND of
/// its elements). A filter of a type Meilisearch refuses is left for the node to refuse.
fn restrict_to_shards(body: &mut Map<String, Value>, shards: &[u32]) {
    let clause = Value::String(crate::wire::shard_filter(shards));
    match body.get_mut("filter") {
        None => drop(body.insert("filter".into(), Value::Array(vec![clause]))),
        Some(filter @ Value::Null) => *filter = Value::Array(vec![clause]),
        Some(filter @ Value::String(_)) => *filter = Value::Array(vec![filter.take(), clause]),
        Some(Value::Array(all)) => all.push(clause),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_parameters_read_as_meilisearch_reads_them() {
        let q = BrowseQuery::from_query_string("limit=5&fields=title,%20id&sort=_geoPoint(1,%202):asc,rank:desc&filter=a%20%3D%201").unwrap();
        assert_eq!(q.limit, 5);
        assert_eq!(q.offset, 0);
        assert_eq!(q.sort, vec![SortRule::Geo { lat: 1.0, lng: 2.0, asc: true }, SortRule::Field { path: "rank".into(), asc: false }]);
        let (body, added) = q.shard_body(3, 0, 5);
        assert_eq!(body["filter"], json!(["a = 1", crate::wire::shard_filter(&[3])]));
        assert_eq!(body["fields"], json!(["title", "id", "_geo", "rank", "_miroir_shard"]));
        assert_eq!(added, ["_geo", "rank"]);
        let array = BrowseQuery::from_query_string("filter=%5B%22a%20%3D%201%22%5D&fields=*").unwrap();
        let (body, _) = array.shard_body(0, 0, 1);
        assert_eq!(body["filter"], json!(["a = 1", crate::wire::shard_filter(&[0])]));
        assert!(body.get("fields").is_none());
    }

    #[test]
    fn values_a_node_must_judge_are_not_read() {
        assert_eq!(BrowseQuery::from_query_string("limit=-1"), None);
        assert_eq!(BrowseQuery::from_query_string("nope=1"), None);
        assert_eq!(BrowseQuery::from_body(json!({"sort": "a:asc"})), None);
        assert_eq!(BrowseQuery::from_body(json!({"fields": "a"})), None);
        assert_eq!(BrowseQuery::from_body(json!([])), None);
    }

    #[test]
    fn shard_bodies_keep_the_clients_fields_and_add_only_what_the_merge_needs() {
        let q = BrowseQuery::from_body(json!({"filter": [["a = 1", "b = 2"]], "fields": ["meta"], "sort": ["meta.rank:asc", "year:desc"], "ids": [1]})).unwrap();
        let (body, added) = q.shard_body(7, 0, 30);
        assert_eq!(body, json!({"filter": [["a = 1", "b = 2"], crate::wire::shard_filter(&[7])], "fields": ["meta", "year", "_miroir_shard"], "sort": ["meta.rank:asc", "year:desc"], "ids": [1], "offset": 0, "limit": 30}));
        assert_eq!(added, ["year"]);
        let (body, _) = q.node_body(&[2, 9], 0, 30);
        assert_eq!(body["filter"], json!([["a = 1", "b = 2"], crate::wire::shard_filter(&[2, 9])]));
        assert!(q.is_sorted());
        assert_eq!(q.depth(), 20);
    }
}
