//! The index settings a sharded search needs, read from `GET /indexes/{uid}/settings`.
//!
//! Every node holds the same settings, so any node's answer serves. A merge needs them
//! because one node's answer cannot show them: how far paging reaches (`maxTotalHits`),
//! where facet lists are cut and in which order, and which attribute `distinct` uses
//! when the query names none.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Code, MeiliError};

/// Meilisearch's default `pagination.maxTotalHits`.
pub const DEFAULT_MAX_TOTAL_HITS: u64 = 1000;
/// Meilisearch's default `faceting.maxValuesPerFacet`.
pub const DEFAULT_MAX_VALUES_PER_FACET: u64 = 100;

/// `faceting.sortFacetValuesBy`: how one facet's values are ordered before the cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FacetOrder {
    /// `"alpha"`: by value (Meilisearch's default).
    #[default]
    Alpha,
    /// `"count"`: by number of matching documents, most first.
    Count,
}

/// What the merge needs from the index settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeSettings {
    /// `pagination.maxTotalHits`: caps totals and how deep paging reaches.
    pub max_total_hits: u64,
    /// `faceting.maxValuesPerFacet` as the client must see it. Nodes may keep a larger
    /// value so their own cut loses nothing; the gateway cuts to this one.
    pub max_values_per_facet: u64,
    /// `faceting.sortFacetValuesBy`: per facet name, with `"*"` as the default.
    pub sort_facet_values_by: BTreeMap<String, FacetOrder>,
    /// `distinctAttribute`, used when the query has no `distinct` of its own.
    pub distinct_attribute: Option<String>,
}

impl Default for MergeSettings {
    fn default() -> Self {
        MergeSettings {
            max_total_hits: DEFAULT_MAX_TOTAL_HITS,
            max_values_per_facet: DEFAULT_MAX_VALUES_PER_FACET,
            sort_facet_values_by: BTreeMap::from([("*".to_string(), FacetOrder::Alpha)]),
            distinct_attribute: None,
        }
    }
}

impl MergeSettings {
    /// Parses the body of `GET /indexes/{uid}/settings`. Absent keys take Meilisearch's
    /// defaults; a key of the wrong type is an error, since it means the node is not
    /// the Meilisearch we expect.
    pub fn from_settings_json(body: &[u8]) -> Result<MergeSettings, MeiliError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| bad(&format!("is not JSON ({e})")))?;
        MergeSettings::from_settings(&value)
    }

    /// As [`MergeSettings::from_settings_json`], from an already parsed body.
    pub fn from_settings(settings: &Value) -> Result<MergeSettings, MeiliError> {
        let Some(settings) = settings.as_object() else {
            return Err(bad("is not an object"));
        };
        let mut out = MergeSettings::default();
        if let Some(pagination) = present(settings.get("pagination")) {
            if let Some(max) = present(pagination.get("maxTotalHits")) {
                out.max_total_hits = max.as_u64().ok_or_else(|| bad("has a non-integer `pagination.maxTotalHits`"))?;
            }
        }
        if let Some(faceting) = present(settings.get("faceting")) {
            if let Some(max) = present(faceting.get("maxValuesPerFacet")) {
                out.max_values_per_facet =
                    max.as_u64().ok_or_else(|| bad("has a non-integer `faceting.maxValuesPerFacet`"))?;
            }
            if let Some(sort) = present(faceting.get("sortFacetValuesBy")) {
                let sort = sort.as_object().ok_or_else(|| bad("has a non-object `faceting.sortFacetValuesBy`"))?;
                for (facet, order) in sort {
                    let order = match order.as_str() {
                        Some("alpha") => FacetOrder::Alpha,
                        Some("count") => FacetOrder::Count,
                        _ => return Err(bad(&format!("has an unknown `sortFacetValuesBy` order for `{facet}`"))),
                    };
                    out.sort_facet_values_by.insert(facet.clone(), order);
                }
            }
        }
        if let Some(distinct) = present(settings.get("distinctAttribute")) {
            let distinct = distinct.as_str().ok_or_else(|| bad("has a non-string `distinctAttribute`"))?;
            out.distinct_attribute = Some(distinct.to_string());
        }
        Ok(out)
    }

    /// The order of one facet: its own entry, else `"*"`, else alphabetical — as
    /// Meilisearch's `OrderByMap::get`.
    pub fn facet_order(&self, facet: &str) -> FacetOrder {
        self.sort_facet_values_by.get(facet).or_else(|| self.sort_facet_values_by.get("*")).copied().unwrap_or_default()
    }
}

/// `null` reads as absent, as in Meilisearch's own settings answers.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

fn bad(what: &str) -> MeiliError {
    MeiliError::new(Code::Internal, format!("A node's index settings {what}."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_settings_answer_gives_every_merge_setting() {
        let s = MergeSettings::from_settings(&json!({
            "displayedAttributes": ["*"],
            "distinctAttribute": "sku",
            "faceting": {"maxValuesPerFacet": 7, "sortFacetValuesBy": {"*": "alpha", "genre": "count"}},
            "pagination": {"maxTotalHits": 50}
        }))
        .unwrap();
        assert_eq!(s.max_total_hits, 50);
        assert_eq!(s.max_values_per_facet, 7);
        assert_eq!(s.distinct_attribute.as_deref(), Some("sku"));
        assert_eq!(s.facet_order("genre"), FacetOrder::Count);
        assert_eq!(s.facet_order("color"), FacetOrder::Alpha);
    }

    #[test]
    fn absent_keys_take_meilisearch_defaults() {
        let s = MergeSettings::from_settings(&json!({"distinctAttribute": null})).unwrap();
        assert_eq!(s, MergeSettings::default());
        assert_eq!(s.max_total_hits, 1000);
        assert_eq!(s.max_values_per_facet, 100);
    }

    #[test]
    fn star_order_applies_to_unlisted_facets() {
        let s = MergeSettings::from_settings(&json!({"faceting": {"sortFacetValuesBy": {"*": "count"}}})).unwrap();
        assert_eq!(s.facet_order("anything"), FacetOrder::Count);
    }

    #[test]
    fn wrongly_typed_settings_are_refused() {
        assert!(MergeSettings::from_settings(&json!({"pagination": {"maxTotalHits": "x"}})).is_err());
        assert!(MergeSettings::from_settings(&json!({"faceting": {"sortFacetValuesBy": {"*": "random"}}})).is_err());
        assert!(MergeSettings::from_settings_json(b"[").is_err());
        assert!(MergeSettings::from_settings(&json!([])).is_err());
    }
}
