//! The client's federated request as the gateway reads it, and each node's part.
//!
//! Reading is conservative: anything the gateway cannot read with certainty makes
//! [`FederatedRequest::from_value`] give `None`, and the flow lets one node answer the
//! client's request as sent. Every such case is one a node refuses (checked against
//! Meilisearch 1.50), so the client gets exactly a single node's error, never a
//! partial answer.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::search::query::{read_paging, restrict_to_shards, Paging};
use crate::search::{MergeSettings, SearchQuery};

/// One query of a federated request.
#[derive(Debug, Clone)]
pub struct FederatedQuery {
    pub index: String,
    /// The query without `indexUid` and `federationOptions`: what ranks its hits.
    pub search: SearchQuery,
    /// `federationOptions.weight` (default 1).
    pub weight: f64,
    /// The client's query object, as sent.
    object: Map<String, Value>,
}

/// A federated multi-search request.
#[derive(Debug, Clone)]
pub struct FederatedRequest {
    pub queries: Vec<FederatedQuery>,
    federation: Map<String, Value>,
    /// The federation's paging (offset/limit or page/hitsPerPage).
    pub paging: Paging,
    /// `federation.distinct`: one hit per value across every query.
    pub distinct: Option<String>,
    /// `federation.mergeFacets`: `Some(max)` merges the indexes' facets into one
    /// distribution, cut at `max` when given.
    pub merge_facets: Option<Option<u64>>,
}

fn is_null_or(v: Option<&Value>, ok: impl Fn(&Value) -> bool) -> bool {
    v.is_none_or(|v| v.is_null() || ok(v))
}

impl FederatedQuery {
    fn from_value(query: &Value) -> Option<FederatedQuery> {
        let object = query.as_object()?.clone();
        let index = object.get("indexUid")?.as_str()?.to_string();
        let mut weight = 1.0;
        match object.get("federationOptions") {
            None | Some(Value::Null) => {}
            Some(Value::Object(options)) => {
                // `remote` and `queryPosition` need the `network` feature nodes lack.
                if !is_null_or(options.get("remote"), |_| false) || !is_null_or(options.get("queryPosition"), |_| false) {
                    return None;
                }
                if let Some(w) = options.get("weight") {
                    weight = w.as_f64().filter(|w| *w >= 0.0)?;
                }
                if options.keys().any(|k| !matches!(k.as_str(), "weight" | "remote" | "queryPosition")) {
                    return None;
                }
            }
            Some(_) => return None,
        }
        let mut search = object.clone();
        search.shift_remove("indexUid");
        search.shift_remove("federationOptions");
        let search = SearchQuery::from_value(Value::Object(search)).ok()?;
        Some(FederatedQuery { index, search, weight, object })
    }
}

impl FederatedRequest {
    /// Reads the body of `POST /multi-search` whose `federation` is an object; `None`
    /// when a node must answer (refuse) it as sent.
    pub fn from_value(body: &Value) -> Option<FederatedRequest> {
        let body = body.as_object()?;
        let federation = body.get("federation")?.as_object()?.clone();
        let queries = body.get("queries")?.as_array()?.iter().map(FederatedQuery::from_value).collect::<Option<Vec<_>>>()?;
        let paging = read_paging_federation(&federation)?;
        let distinct = match federation.get("distinct") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => return None,
        };
        let merge_facets = match federation.get("mergeFacets") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => match m.get("maxValuesPerFacet") {
                None | Some(Value::Null) => Some(None),
                Some(v) => Some(Some(v.as_u64()?)),
            },
            Some(_) => return None,
        };
        if !federation.get("facetsByIndex").is_none_or(Value::is_object) {
            return None;
        }
        Some(FederatedRequest { queries, federation, paging, distinct, merge_facets })
    }

    /// The indexes the queries search, sorted.
    pub fn indexes(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.queries.iter().map(|q| q.index.as_str()).collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// Names `facetsByIndex` lists for `index` (patterns left out).
    pub fn facet_names(&self, index: &str) -> Vec<&str> {
        let Some(Value::Object(by_index)) = self.federation.get("facetsByIndex") else { return Vec::new() };
        match by_index.get(index) {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).filter(|n| !n.contains('*')).collect(),
            _ => Vec::new(),
        }
    }

    /// Attributes a node must retrieve for query `i` beyond the client's choice (the
    /// shard field; the `distinct` attribute and, with it, the index's facets), which
    /// the merge strips again.
    pub fn added_attributes(&self, i: usize, settings: &MergeSettings) -> Vec<String> {
        let query = &self.queries[i];
        let mut added = query.search.added_attributes(settings);
        let Some(Value::Array(wanted)) = query.search.body().get("attributesToRetrieve") else { return added };
        let Some(distinct) = &self.distinct else { return added };
        let covers = |attr: &str| {
            wanted.iter().filter_map(Value::as_str).any(|w| w == "*" || w == attr || attr.strip_prefix(w).is_some_and(|r| r.starts_with('.')))
        };
        for attr in std::iter::once(distinct.as_str()).chain(self.facet_names(&query.index)) {
            if !covers(attr) && !added.iter().any(|a| a == attr) {
                added.push(attr.to_string());
            }
        }
        added
    }

    /// The request for one node: the queries it serves (`(query, shards)`, in query
    /// order), each restricted to those shards and asking for ranking details; the
    /// federation asking for every hit up to the end of the client's page.
    pub fn node_body(&self, parts: &[(usize, Vec<u32>)], settings: &dyn Fn(&str) -> MergeSettings) -> Value {
        let mut queries = Vec::with_capacity(parts.len());
        for (i, shards) in parts {
            let query = &self.queries[*i];
            let mut object = query.object.clone();
            if restrict_to_shards(&mut object, shards).is_err() {
                continue;
            }
            for flag in ["showRankingScoreDetails", "showRankingScore"] {
                if matches!(object.get(flag), None | Some(Value::Bool(_))) {
                    object.insert(flag.into(), true.into());
                }
            }
            let added = self.added_attributes(*i, &settings(&query.index));
            if let (false, Some(Value::Array(wanted))) = (added.is_empty(), object.get_mut("attributesToRetrieve")) {
                wanted.extend(added.into_iter().map(Value::String));
            }
            queries.push(Value::Object(object));
        }
        let mut federation = self.federation.clone();
        match self.paging {
            Paging::OffsetLimit { offset, limit } => {
                federation.insert("offset".into(), 0.into());
                federation.insert("limit".into(), offset.saturating_add(limit).into());
            }
            Paging::Pages { page: 0, .. } => {}
            Paging::Pages { page, hits_per_page } => {
                federation.insert("page".into(), 1.into());
                federation.insert("hitsPerPage".into(), page.saturating_mul(hits_per_page).into());
            }
        }
        // Facets are merged by the gateway, per index first.
        federation.shift_remove("mergeFacets");
        if let Some(Value::Object(by_index)) = federation.get_mut("facetsByIndex") {
            let all: BTreeSet<&str> = self.queries.iter().map(|q| q.index.as_str()).collect();
            let here: BTreeSet<&str> = parts.iter().map(|(i, _)| self.queries[*i].index.as_str()).collect();
            // An index no query searches is only checked by a node: keep it everywhere.
            by_index.retain(|index, _| here.contains(index.as_str()) || !all.contains(index.as_str()));
        }
        let mut body = Map::new();
        body.insert("federation".into(), Value::Object(federation));
        body.insert("queries".into(), Value::Array(queries));
        Value::Object(body)
    }
}

/// The federation's paging: `offset`/`limit` take no `null`, `page`/`hitsPerPage` do.
fn read_paging_federation(federation: &Map<String, Value>) -> Option<Paging> {
    read_paging(federation)
}
