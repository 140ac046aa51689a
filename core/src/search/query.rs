//! The client's search query, and the query each node gets.
//!
//! A node must answer for its shards only, deep enough for the client's page, with the
//! per-rule ranking details the merge compares. Everything else passes unchanged, so
//! highlighting, cropping, `matchingStrategy`, `rankingScoreThreshold`, `locales`,
//! `hybrid` and so on behave per node as on one node.
//!
//! Validation is left to the nodes wherever they can do it: a field Miroir rewrites is
//! rewritten only when its value is one Meilisearch accepts; otherwise it is sent as the
//! client wrote it, so every node refuses it with the error a single node gives.

use serde_json::{Map, Value};

use super::fields;
use super::settings::MergeSettings;
use crate::error::{Code, MeiliError};

/// Meilisearch's default `limit` and `hitsPerPage`.
pub const DEFAULT_SEARCH_LIMIT: u64 = 20;

/// How the client pages, as Meilisearch decides it: `page` or `hitsPerPage` present
/// (even alone) means page mode with exhaustive totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    OffsetLimit { offset: u64, limit: u64 },
    Pages { page: u64, hits_per_page: u64 },
}

impl Paging {
    /// The slice of the ranked list the client sees, `(skip, take)`, after Meilisearch's
    /// cap: nothing past `maxTotalHits` is reachable.
    pub fn window(self, max_total_hits: u64) -> (u64, u64) {
        let (offset, limit) = match self {
            Paging::OffsetLimit { offset, limit } => (offset, limit),
            // Page 0 is valid and shows no hit.
            Paging::Pages { page, hits_per_page } => match page.checked_sub(1) {
                Some(p) => (hits_per_page.saturating_mul(p), hits_per_page),
                None => (0, 0),
            },
        };
        let offset = offset.min(max_total_hits);
        (offset, limit.min(max_total_hits - offset))
    }
}

/// The client's search body and what the gateway reads in it.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    body: Map<String, Value>,
    /// `None` when a paging field has a value Meilisearch refuses: the nodes will say so.
    paging: Option<Paging>,
    /// The merge orders hybrid answers the way Meilisearch's hybrid search does.
    kind: SearchKind,
}

/// Which of Meilisearch's searches the query runs; it decides how hits compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SearchKind {
    /// Keyword or semantic only: hits compare rule by rule.
    Ranked,
    /// Keyword and semantic results mixed by weighted score (`hybrid.semanticRatio`).
    Hybrid { semantic_ratio: f32 },
}

impl SearchQuery {
    /// Reads a `POST /indexes/{uid}/search` body (or the object built from GET params).
    pub fn from_json(body: &[u8]) -> Result<SearchQuery, MeiliError> {
        SearchQuery::from_value(crate::json_body::parse::<Value>(body)?)
    }

    /// Only the gateway must refuse a body that is not an object: it cannot restrict
    /// one to a node's shards. Meilisearch refuses it with this same error.
    pub fn from_value(body: Value) -> Result<SearchQuery, MeiliError> {
        let Value::Object(body) = body else {
            return Err(MeiliError::new(
                Code::BadRequest,
                format!("Invalid value type: expected an object, but found {}", fields::describe(&body)),
            ));
        };
        let paging = read_paging(&body);
        let kind = read_kind(&body);
        Ok(SearchQuery { body, paging, kind })
    }

    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    pub fn paging(&self) -> Option<Paging> {
        self.paging
    }

    pub fn kind(&self) -> SearchKind {
        self.kind
    }

    /// `q` as the answer echoes it.
    pub fn q(&self) -> &str {
        self.body.get("q").and_then(Value::as_str).unwrap_or("")
    }

    pub fn shows_ranking_score(&self) -> bool {
        self.flag("showRankingScore")
    }

    pub fn shows_ranking_score_details(&self) -> bool {
        self.flag("showRankingScoreDetails")
    }

    fn flag(&self, name: &str) -> bool {
        self.body.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The attribute `distinct` applies to: the query's own, else the index setting.
    pub fn distinct_attribute<'a>(&'a self, settings: &'a MergeSettings) -> Option<&'a str> {
        match self.body.get("distinct") {
            Some(Value::String(d)) => Some(d),
            _ => settings.distinct_attribute.as_deref(),
        }
    }

    /// Attributes the node query adds to `attributesToRetrieve` so the merge sees them
    /// (the `distinct` attribute and, with it, the named facets), and the merge strips
    /// again.
    pub fn added_attributes(&self, settings: &MergeSettings) -> Vec<String> {
        let Some(Value::Array(wanted)) = self.body.get("attributesToRetrieve") else {
            return Vec::new(); // absent or null: every displayed attribute comes back
        };
        if !wanted.iter().all(Value::is_string) {
            return Vec::new(); // refused by the nodes
        }
        let wanted: Vec<&str> = wanted.iter().filter_map(Value::as_str).collect();
        let covers = |attr: &str| {
            wanted.iter().any(|w| *w == "*" || *w == attr || attr.strip_prefix(w).is_some_and(|r| r.starts_with('.')))
        };
        // The shard orders tied hits the same whichever replica served them.
        let mut added: Vec<String> = Vec::new();
        if !covers(crate::wire::SHARD_FIELD) {
            added.push(crate::wire::SHARD_FIELD.to_string());
        }
        let Some(distinct) = self.distinct_attribute(settings) else {
            return added;
        };
        // With `distinct`, a hit dropped as a duplicate comes off the facet counts of
        // the values it shows, so named facets are retrieved too (patterns are not).
        let facets = match self.body.get("facets") {
            Some(Value::Array(facets)) => {
                facets.iter().filter_map(Value::as_str).filter(|f| !f.contains('*')).collect()
            }
            _ => Vec::new(),
        };
        for attr in std::iter::once(distinct).chain(facets) {
            if !covers(attr) && !added.iter().any(|a| a == attr) {
                added.push(attr.to_string());
            }
        }
        added
    }
}

fn read_kind(body: &Map<String, Value>) -> SearchKind {
    let Some(Value::Object(hybrid)) = body.get("hybrid") else {
        return SearchKind::Ranked;
    };
    let ratio = match hybrid.get("semanticRatio") {
        None | Some(Value::Null) => 0.5,
        Some(v) => match v.as_f64() {
            Some(r) => r as f32,
            None => return SearchKind::Ranked,
        },
    };
    let has_q = body.get("q").and_then(Value::as_str).is_some_and(|q| !q.trim().is_empty());
    // As Meilisearch's `search_kind`: ratio 0 is keyword only, 1 or no `q` semantic only.
    if has_q && ratio > 0.0 && ratio < 1.0 {
        SearchKind::Hybrid { semantic_ratio: ratio }
    } else {
        SearchKind::Ranked
    }
}

/// `Some(Some(n))` a valid number, `Some(None)` absent or null, `None` refused.
fn optional_count(body: &Map<String, Value>, name: &str) -> Option<Option<u64>> {
    match body.get(name) {
        None | Some(Value::Null) => Some(None),
        Some(v) => v.as_u64().map(Some),
    }
}

/// `offset` and `limit` have defaults but no `null`.
fn defaulted_count(body: &Map<String, Value>, name: &str, default: u64) -> Option<u64> {
    match body.get(name) {
        None => Some(default),
        Some(v) => v.as_u64(),
    }
}

pub(super) fn read_paging(body: &Map<String, Value>) -> Option<Paging> {
    let offset = defaulted_count(body, "offset", 0)?;
    let limit = defaulted_count(body, "limit", DEFAULT_SEARCH_LIMIT)?;
    let page = optional_count(body, "page")?;
    let hits_per_page = optional_count(body, "hitsPerPage")?;
    Some(match (page, hits_per_page) {
        (None, None) => Paging::OffsetLimit { offset, limit },
        (page, hits_per_page) => {
            Paging::Pages { page: page.unwrap_or(1), hits_per_page: hits_per_page.unwrap_or(DEFAULT_SEARCH_LIMIT) }
        }
    })
}

/// The filter clause keeping a node to `shards`.
pub fn shard_filter(shards: &[u32]) -> String {
    crate::wire::shard_filter(shards)
}

/// ANDs the shard clause to the client's filter, in Meilisearch's array form (an array
/// is an AND of its elements, so the client's array is extended, never nested). A
/// filter of a type Meilisearch refuses is left alone for the node to refuse.
pub(super) fn restrict_to_shards(body: &mut Map<String, Value>, shards: &[u32]) -> Result<(), MeiliError> {
    if shards.is_empty() {
        return Err(MeiliError::new(Code::Internal, "A node query must name at least one shard."));
    }
    let clause = Value::String(shard_filter(shards));
    // In place: key order decides which error a node reports first.
    let Some(filter) = body.get_mut("filter") else {
        body.insert("filter".to_string(), Value::Array(vec![clause]));
        return Ok(());
    };
    match filter {
        Value::Null => *filter = Value::Array(vec![clause]),
        Value::String(_) => *filter = Value::Array(vec![filter.take(), clause]),
        Value::Array(all) => all.push(clause),
        _ => {}
    }
    Ok(())
}

/// The body sent to one node of a sharded search: the client's query restricted to
/// `shards`, asking for every hit up to the end of the client's page, with the ranking
/// details the merge compares.
pub fn node_query(query: &SearchQuery, shards: &[u32], settings: &MergeSettings) -> Result<Value, MeiliError> {
    let mut body = query.body.clone();
    restrict_to_shards(&mut body, shards)?;
    match query.paging {
        Some(Paging::OffsetLimit { offset, limit }) => {
            body.insert("offset".into(), 0.into());
            body.insert("limit".into(), offset.saturating_add(limit).into());
        }
        Some(Paging::Pages { page, hits_per_page }) => {
            // Page 1 of the whole prefix keeps `totalHits` exhaustive on the node.
            body.insert("page".into(), 1.into());
            body.insert("hitsPerPage".into(), page.saturating_mul(hits_per_page).into());
        }
        None => {} // a paging value the nodes refuse
    }
    for flag in ["showRankingScoreDetails", "showRankingScore"] {
        if matches!(body.get(flag), None | Some(Value::Bool(_))) {
            body.insert(flag.into(), true.into());
        }
    }
    let added = query.added_attributes(settings);
    if let (false, Some(Value::Array(wanted))) = (added.is_empty(), body.get_mut("attributesToRetrieve")) {
        wanted.extend(added.into_iter().map(Value::String));
    }
    Ok(Value::Object(body))
}

/// The body sent to one node of a sharded `POST /indexes/{uid}/facet-search`: the
/// client's, restricted to `shards`.
pub fn node_facet_search_query(body: &Value, shards: &[u32]) -> Result<Value, MeiliError> {
    let Value::Object(body) = body else {
        return Err(MeiliError::new(
            Code::BadRequest,
            format!("Invalid value type: expected an object, but found {}", fields::describe(body)),
        ));
    };
    let mut body = body.clone();
    restrict_to_shards(&mut body, shards)?;
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(v: Value) -> SearchQuery {
        SearchQuery::from_value(v).unwrap()
    }

    fn node(v: Value, shards: &[u32]) -> Value {
        node_query(&query(v), shards, &MergeSettings::default()).unwrap()
    }

    #[test]
    fn absent_filter_becomes_the_shard_clause_alone() {
        assert_eq!(node(json!({"q": "a"}), &[1, 5, 9])["filter"], json!([crate::wire::shard_filter(&[1, 5, 9])]));
        assert_eq!(node(json!({"filter": null}), &[2])["filter"], json!([crate::wire::shard_filter(&[2])]));
    }

    #[test]
    fn string_filter_is_anded_with_the_shard_clause() {
        let f = node(json!({"filter": "genre = horror OR genre = drama"}), &[3])["filter"].clone();
        assert_eq!(f, json!(["genre = horror OR genre = drama", crate::wire::shard_filter(&[3])]));
    }

    #[test]
    fn array_filter_is_extended_not_nested() {
        // Nesting the client's array would turn its AND into an OR.
        let f = node(json!({"filter": [["a = 1", "b = 2"], "c = 3"]}), &[0, 1])["filter"].clone();
        assert_eq!(f, json!([["a = 1", "b = 2"], "c = 3", crate::wire::shard_filter(&[0, 1])]));
    }

    #[test]
    fn filter_of_a_refused_type_reaches_the_node_unchanged() {
        assert_eq!(node(json!({"filter": 42}), &[0])["filter"], json!(42));
    }

    #[test]
    fn offset_limit_fetches_the_whole_prefix_from_offset_zero() {
        let b = node(json!({"offset": 40, "limit": 20}), &[0]);
        assert_eq!((b["offset"].clone(), b["limit"].clone()), (json!(0), json!(60)));
        let b = node(json!({}), &[0]);
        assert_eq!((b["offset"].clone(), b["limit"].clone()), (json!(0), json!(20)));
    }

    #[test]
    fn page_mode_fetches_page_one_of_the_whole_prefix() {
        let b = node(json!({"page": 3, "hitsPerPage": 10}), &[0]);
        assert_eq!((b["page"].clone(), b["hitsPerPage"].clone()), (json!(1), json!(30)));
        let b = node(json!({"hitsPerPage": 7}), &[0]);
        assert_eq!((b["page"].clone(), b["hitsPerPage"].clone()), (json!(1), json!(7)));
        let b = node(json!({"page": 2}), &[0]);
        assert_eq!(b["hitsPerPage"], json!(40));
        let b = node(json!({"page": 0, "hitsPerPage": 5}), &[0]);
        assert_eq!(b["hitsPerPage"], json!(0));
    }

    #[test]
    fn overflowing_paging_saturates() {
        let b = node(json!({"offset": u64::MAX, "limit": 5}), &[0]);
        assert_eq!(b["limit"], json!(u64::MAX));
    }

    #[test]
    fn refused_paging_values_reach_the_node_unchanged() {
        let b = node(json!({"offset": "doggo", "limit": 5}), &[0]);
        assert_eq!((b["offset"].clone(), b["limit"].clone()), (json!("doggo"), json!(5)));
        let b = node(json!({"limit": -1}), &[0]);
        assert_eq!(b["limit"], json!(-1));
        let b = node(json!({"offset": null}), &[0]);
        assert_eq!(b["offset"], Value::Null);
        let b = node(json!({"page": 1.5}), &[0]);
        assert_eq!(b["page"], json!(1.5));
    }

    #[test]
    fn ranking_details_are_forced_unless_refused() {
        let b = node(json!({"showRankingScore": false}), &[0]);
        assert_eq!((b["showRankingScore"].clone(), b["showRankingScoreDetails"].clone()), (json!(true), json!(true)));
        let b = node(json!({"showRankingScoreDetails": "yes"}), &[0]);
        assert_eq!(b["showRankingScoreDetails"], json!("yes"));
    }

    #[test]
    fn hidden_distinct_attribute_is_retrieved_for_the_merge() {
        let b = node(json!({"distinct": "sku", "attributesToRetrieve": ["title"]}), &[0]);
        assert_eq!(b["attributesToRetrieve"], json!(["title", "_miroir_shard", "sku"]));
        let b = node(json!({"distinct": "sku", "attributesToRetrieve": ["*"]}), &[0]);
        assert_eq!(b["attributesToRetrieve"], json!(["*"]));
        let b = node(json!({"distinct": "a.b", "attributesToRetrieve": ["a"]}), &[0]);
        assert_eq!(b["attributesToRetrieve"], json!(["a", "_miroir_shard"]));
        let b = node(json!({"distinct": "sku"}), &[0]);
        assert!(b.get("attributesToRetrieve").is_none());
    }

    #[test]
    fn with_distinct_named_facets_are_retrieved_too() {
        let b = node(
            json!({"distinct": "sku", "attributesToRetrieve": ["title"], "facets": ["color", "sku", "a.*"]}),
            &[0],
        );
        assert_eq!(b["attributesToRetrieve"], json!(["title", "_miroir_shard", "sku", "color"]));
        let b = node(json!({"attributesToRetrieve": ["title"], "facets": ["color"]}), &[0]);
        assert_eq!(b["attributesToRetrieve"], json!(["title", "_miroir_shard"]), "the shard orders tied hits");
    }

    #[test]
    fn settings_distinct_attribute_is_retrieved_too() {
        let settings = MergeSettings { distinct_attribute: Some("sku".into()), ..MergeSettings::default() };
        let q = query(json!({"attributesToRetrieve": ["title"]}));
        let b = node_query(&q, &[0], &settings).unwrap();
        assert_eq!(b["attributesToRetrieve"], json!(["title", "_miroir_shard", "sku"]));
        assert_eq!(q.added_attributes(&settings), vec!["_miroir_shard".to_string(), "sku".to_string()]);
    }

    #[test]
    fn filter_keeps_its_place_among_the_fields() {
        let b = node(json!({"filter": "a = 1", "q": "x"}), &[0]);
        assert_eq!(b.as_object().unwrap().keys().next().map(String::as_str), Some("filter"));
    }

    #[test]
    fn other_fields_pass_unchanged_and_in_order() {
        let b = node(json!({"q": "x", "facets": ["genre"], "sort": ["year:desc"], "matchingStrategy": "all"}), &[0]);
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).take(4).collect();
        assert_eq!(keys, ["q", "facets", "sort", "matchingStrategy"]);
        assert_eq!(b["facets"], json!(["genre"]));
        assert_eq!(b["sort"], json!(["year:desc"]));
    }

    #[test]
    fn non_object_body_is_refused_as_meilisearch_does() {
        let err = SearchQuery::from_value(json!([])).unwrap_err();
        assert_eq!(err.code, Code::BadRequest);
        assert_eq!(err.message, "Invalid value type: expected an object, but found an array: `[]`");
    }

    #[test]
    fn no_shard_is_an_error_not_an_unrestricted_query() {
        assert!(node_query(&query(json!({})), &[], &MergeSettings::default()).is_err());
    }

    #[test]
    fn paging_window_is_capped_by_max_total_hits() {
        assert_eq!(Paging::OffsetLimit { offset: 990, limit: 20 }.window(1000), (990, 10));
        assert_eq!(Paging::OffsetLimit { offset: 2000, limit: 20 }.window(1000), (1000, 0));
        assert_eq!(Paging::Pages { page: 0, hits_per_page: 20 }.window(1000), (0, 0));
        assert_eq!(Paging::Pages { page: 3, hits_per_page: 20 }.window(1000), (40, 20));
    }

    #[test]
    fn hybrid_kind_follows_meilisearch_search_kind() {
        let k = |v: Value| query(v).kind();
        assert_eq!(k(json!({"q": "a", "hybrid": {"embedder": "e"}})), SearchKind::Hybrid { semantic_ratio: 0.5 });
        assert_eq!(k(json!({"q": "a", "hybrid": {"embedder": "e", "semanticRatio": 1.0}})), SearchKind::Ranked);
        assert_eq!(k(json!({"q": "a", "hybrid": {"embedder": "e", "semanticRatio": 0.0}})), SearchKind::Ranked);
        assert_eq!(k(json!({"q": "  ", "hybrid": {"embedder": "e"}})), SearchKind::Ranked);
        assert_eq!(k(json!({"q": "a"})), SearchKind::Ranked);
    }

    #[test]
    fn facet_search_is_restricted_to_shards() {
        let b = node_facet_search_query(&json!({"facetName": "genre", "filter": "x = 1"}), &[4]).unwrap();
        assert_eq!(b["filter"], json!(["x = 1", crate::wire::shard_filter(&[4])]));
        assert_eq!(b["facetName"], json!("genre"));
    }
}
