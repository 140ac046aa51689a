//! Index settings: defaults as Meilisearch 1.50 returns them, validation of
//! updates (with deserr-style messages and per-setting error codes), and the
//! typed accessors the search and filter code need.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::params::{check_fields, invalid_type, invalid_value};

/// How a setting's value is validated and normalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Array of strings; `*` anywhere means all (`["*"]`).
    Wildcard,
    /// Array of strings, sorted and deduplicated.
    StringSet,
    FilterableRules,
    RankingRules,
    Synonyms,
    OptString,
    ProximityPrecision,
    TypoTolerance,
    Faceting,
    Pagination,
    AnyObject,
    OptU64,
    OptArray,
    Bool,
    PrefixSearch,
    AnyArray,
}

/// One index setting.
pub struct SettingDef {
    pub key: &'static str,
    /// The sub-route under `/indexes/{uid}/settings/`.
    pub route: &'static str,
    /// Whether the sub-route updates with PATCH (else PUT).
    pub patch: bool,
    pub code: Code,
    kind: Kind,
}

/// All settings, in the order Meilisearch serializes them.
pub const SETTINGS: &[SettingDef] = &[
    SettingDef {
        key: "displayedAttributes",
        route: "displayed-attributes",
        patch: false,
        code: Code::InvalidSettingsDisplayedAttributes,
        kind: Kind::Wildcard,
    },
    SettingDef {
        key: "searchableAttributes",
        route: "searchable-attributes",
        patch: false,
        code: Code::InvalidSettingsSearchableAttributes,
        kind: Kind::Wildcard,
    },
    SettingDef {
        key: "filterableAttributes",
        route: "filterable-attributes",
        patch: false,
        code: Code::InvalidSettingsFilterableAttributes,
        kind: Kind::FilterableRules,
    },
    SettingDef {
        key: "sortableAttributes",
        route: "sortable-attributes",
        patch: false,
        code: Code::InvalidSettingsSortableAttributes,
        kind: Kind::StringSet,
    },
    SettingDef {
        key: "foreignKeys",
        route: "foreign-keys",
        patch: false,
        code: Code::Other("invalid_settings_foreign_keys"),
        kind: Kind::AnyArray,
    },
    SettingDef {
        key: "rankingRules",
        route: "ranking-rules",
        patch: false,
        code: Code::InvalidSettingsRankingRules,
        kind: Kind::RankingRules,
    },
    SettingDef {
        key: "stopWords",
        route: "stop-words",
        patch: false,
        code: Code::InvalidSettingsStopWords,
        kind: Kind::StringSet,
    },
    SettingDef {
        key: "nonSeparatorTokens",
        route: "non-separator-tokens",
        patch: false,
        code: Code::Other("invalid_settings_non_separator_tokens"),
        kind: Kind::StringSet,
    },
    SettingDef {
        key: "separatorTokens",
        route: "separator-tokens",
        patch: false,
        code: Code::Other("invalid_settings_separator_tokens"),
        kind: Kind::StringSet,
    },
    SettingDef {
        key: "dictionary",
        route: "dictionary",
        patch: false,
        code: Code::Other("invalid_settings_dictionary"),
        kind: Kind::StringSet,
    },
    SettingDef {
        key: "synonyms",
        route: "synonyms",
        patch: false,
        code: Code::InvalidSettingsSynonyms,
        kind: Kind::Synonyms,
    },
    SettingDef {
        key: "distinctAttribute",
        route: "distinct-attribute",
        patch: false,
        code: Code::InvalidSettingsDistinctAttribute,
        kind: Kind::OptString,
    },
    SettingDef {
        key: "proximityPrecision",
        route: "proximity-precision",
        patch: false,
        code: Code::Other("invalid_settings_proximity_precision"),
        kind: Kind::ProximityPrecision,
    },
    SettingDef {
        key: "typoTolerance",
        route: "typo-tolerance",
        patch: true,
        code: Code::InvalidSettingsTypoTolerance,
        kind: Kind::TypoTolerance,
    },
    SettingDef {
        key: "faceting",
        route: "faceting",
        patch: true,
        code: Code::InvalidSettingsFaceting,
        kind: Kind::Faceting,
    },
    SettingDef {
        key: "pagination",
        route: "pagination",
        patch: true,
        code: Code::InvalidSettingsPagination,
        kind: Kind::Pagination,
    },
    SettingDef {
        key: "embedders",
        route: "embedders",
        patch: true,
        code: Code::Other("invalid_settings_embedders"),
        kind: Kind::AnyObject,
    },
    SettingDef {
        key: "searchCutoffMs",
        route: "search-cutoff-ms",
        patch: false,
        code: Code::Other("invalid_settings_search_cutoff_ms"),
        kind: Kind::OptU64,
    },
    SettingDef {
        key: "localizedAttributes",
        route: "localized-attributes",
        patch: false,
        code: Code::Other("invalid_settings_localized_attributes"),
        kind: Kind::OptArray,
    },
    SettingDef {
        key: "facetSearch",
        route: "facet-search",
        patch: false,
        code: Code::Other("invalid_settings_facet_search"),
        kind: Kind::Bool,
    },
    SettingDef {
        key: "prefixSearch",
        route: "prefix-search",
        patch: false,
        code: Code::Other("invalid_settings_prefix_search"),
        kind: Kind::PrefixSearch,
    },
    SettingDef {
        key: "chat",
        route: "chat",
        patch: true,
        code: Code::Other("invalid_settings_index_chat"),
        kind: Kind::AnyObject,
    },
];

pub fn def_by_route(route: &str) -> Option<&'static SettingDef> {
    SETTINGS.iter().find(|d| d.route == route)
}

pub const DEFAULT_RANKING_RULES: [&str; 7] = [
    "words",
    "typo",
    "proximity",
    "attributeRank",
    "sort",
    "wordPosition",
    "exactness",
];

/// The default value of a setting, as `GET /indexes/{uid}/settings` shows it.
pub fn default_value(key: &str) -> Value {
    match key {
        "displayedAttributes" | "searchableAttributes" => json!(["*"]),
        "filterableAttributes"
        | "sortableAttributes"
        | "foreignKeys"
        | "stopWords"
        | "nonSeparatorTokens"
        | "separatorTokens"
        | "dictionary" => json!([]),
        "rankingRules" => json!(DEFAULT_RANKING_RULES),
        "synonyms" | "embedders" => json!({}),
        "distinctAttribute" | "searchCutoffMs" | "localizedAttributes" => Value::Null,
        "proximityPrecision" => json!("byWord"),
        "typoTolerance" => json!({
            "enabled": true,
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
            "disableOnWords": [],
            "disableOnAttributes": [],
            "disableOnNumbers": false
        }),
        "faceting" => json!({"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "alpha"}}),
        "pagination" => json!({"maxTotalHits": 1000}),
        "facetSearch" => json!(true),
        "prefixSearch" => json!("indexingTime"),
        "chat" => json!({
            "description": "",
            "documentTemplate": "{% for field in fields %}{% if field.is_searchable and field.value != nil %}{{ field.name }}: {{ field.value }}\n{% endif %}{% endfor %}",
            "documentTemplateMaxBytes": 400,
            "searchParameters": {}
        }),
        _ => Value::Null,
    }
}

/// The settings of one index: the effective value of every setting.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings(pub Map<String, Value>);

impl Default for Settings {
    fn default() -> Self {
        Settings(
            SETTINGS
                .iter()
                .map(|d| (d.key.to_string(), default_value(d.key)))
                .collect(),
        )
    }
}

/// A filterable attribute rule: attribute patterns and whether they may be filtered.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterRule {
    pub patterns: Vec<String>,
    pub filter: bool,
    pub comparison: bool,
}

impl Settings {
    pub fn get(&self, key: &str) -> Value {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| default_value(key))
    }

    /// The whole settings object in Meilisearch's key order (`foreignKeys`
    /// and `chat` only appear once set, as in Meilisearch without those features).
    pub fn to_json(&self) -> Value {
        Value::Object(
            SETTINGS
                .iter()
                .filter(|d| {
                    !matches!(d.key, "foreignKeys" | "chat")
                        || self.get(d.key) != default_value(d.key)
                })
                .map(|d| (d.key.to_string(), self.get(d.key)))
                .collect(),
        )
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `None` when every attribute is displayed.
    pub fn displayed(&self) -> Option<Vec<String>> {
        let list = self.strings("displayedAttributes");
        (!list.iter().any(|s| s == "*")).then_some(list)
    }

    /// `None` when every attribute is searchable.
    pub fn searchable(&self) -> Option<Vec<String>> {
        let list = self.strings("searchableAttributes");
        (!list.iter().any(|s| s == "*")).then_some(list)
    }

    pub fn sortable(&self) -> Vec<String> {
        self.strings("sortableAttributes")
    }

    pub fn ranking_rules(&self) -> Vec<String> {
        self.strings("rankingRules")
    }

    pub fn stop_words(&self) -> Vec<String> {
        self.strings("stopWords")
    }

    pub fn distinct(&self) -> Option<String> {
        self.get("distinctAttribute").as_str().map(str::to_string)
    }

    pub fn synonyms(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        if let Value::Object(map) = self.get("synonyms") {
            for (k, v) in map {
                let list = v.as_array().map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                });
                out.insert(k, list.unwrap_or_default());
            }
        }
        out
    }

    pub fn filter_rules(&self) -> Vec<FilterRule> {
        let mut rules = Vec::new();
        if let Value::Array(items) = self.get("filterableAttributes") {
            for item in items {
                match item {
                    Value::String(s) => rules.push(FilterRule {
                        patterns: vec![s],
                        filter: true,
                        comparison: true,
                    }),
                    Value::Object(o) => {
                        let patterns = o
                            .get("attributePatterns")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|s| s.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default();
                        let filter = o.get("features").and_then(|f| f.get("filter"));
                        let equality = filter
                            .and_then(|f| f.get("equality"))
                            .and_then(Value::as_bool)
                            .unwrap_or(true);
                        let comparison = filter
                            .and_then(|f| f.get("comparison"))
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        rules.push(FilterRule {
                            patterns,
                            filter: equality || comparison,
                            comparison,
                        });
                    }
                    _ => {}
                }
            }
        }
        rules
    }

    /// The patterns of the rules that allow filtering (for error messages).
    pub fn filterable_patterns(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .filter_rules()
            .into_iter()
            .filter(|r| r.filter)
            .flat_map(|r| r.patterns)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Whether `field` matches a filterable rule (first matching rule decides).
    pub fn is_filterable(&self, field: &str) -> bool {
        for rule in self.filter_rules() {
            if rule.patterns.iter().any(|p| pattern_matches(p, field)) {
                return rule.filter;
            }
        }
        false
    }

    pub fn max_values_per_facet(&self) -> usize {
        self.get("faceting")
            .get("maxValuesPerFacet")
            .and_then(Value::as_u64)
            .unwrap_or(100) as usize
    }

    /// `alpha` or `count` for a facet (the `*` entry is the fallback).
    pub fn sort_facet_values_by(&self, field: &str) -> String {
        let by = self
            .get("faceting")
            .get("sortFacetValuesBy")
            .cloned()
            .unwrap_or(Value::Null);
        by.get(field)
            .or_else(|| by.get("*"))
            .and_then(Value::as_str)
            .unwrap_or("alpha")
            .to_string()
    }

    pub fn max_total_hits(&self) -> usize {
        self.get("pagination")
            .get("maxTotalHits")
            .and_then(Value::as_u64)
            .unwrap_or(1000) as usize
    }

    pub fn typo_enabled(&self) -> bool {
        self.get("typoTolerance")
            .get("enabled")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// Minimum word lengths for one and two typos.
    pub fn typo_word_sizes(&self) -> (usize, usize) {
        let t = self.get("typoTolerance");
        let m = t.get("minWordSizeForTypos");
        let one = m
            .and_then(|m| m.get("oneTypo"))
            .and_then(Value::as_u64)
            .unwrap_or(5) as usize;
        let two = m
            .and_then(|m| m.get("twoTypos"))
            .and_then(Value::as_u64)
            .unwrap_or(9) as usize;
        (one, two)
    }

    /// Applies a validated update (from [`validate_update`]); `null` resets.
    pub fn apply(&mut self, update: &Map<String, Value>) {
        for (key, value) in update {
            let Some(def) = SETTINGS.iter().find(|d| d.key == key) else {
                continue;
            };
            let new = match (def.kind, value) {
                (_, Value::Null) => default_value(key),
                (
                    Kind::TypoTolerance | Kind::Faceting | Kind::Pagination | Kind::AnyObject,
                    Value::Object(patch),
                ) if def.key != "embedders" => {
                    merge_object(self.get(key), patch, &default_value(key))
                }
                (Kind::AnyObject, Value::Object(patch)) => {
                    // embedders: null per embedder removes it
                    let mut current = self.get(key).as_object().cloned().unwrap_or_default();
                    for (name, conf) in patch {
                        if conf.is_null() {
                            current.remove(name);
                        } else {
                            current.insert(name.clone(), conf.clone());
                        }
                    }
                    Value::Object(current)
                }
                _ => value.clone(),
            };
            self.0.insert(key.clone(), new);
        }
    }
}

fn merge_object(current: Value, patch: &Map<String, Value>, default: &Value) -> Value {
    let mut out = current.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        let sub_default = default.get(k).cloned().unwrap_or(Value::Null);
        let merged = match v {
            Value::Null => sub_default,
            Value::Object(inner) if k == "minWordSizeForTypos" || k == "sortFacetValuesBy" => {
                let base = if k == "sortFacetValuesBy" {
                    sub_default.clone()
                } else {
                    out.get(k).cloned().unwrap_or(sub_default.clone())
                };
                merge_object(base, inner, &sub_default)
            }
            other => other.clone(),
        };
        out.insert(k.clone(), merged);
    }
    Value::Object(out)
}

/// Matches an attribute pattern (`*` wildcards at the start and/or end) or a
/// parent field of a nested attribute.
pub fn pattern_matches(pattern: &str, field: &str) -> bool {
    if pattern == "*" || pattern == field {
        return true;
    }
    if let Some(rest) = field.strip_prefix(pattern) {
        if rest.starts_with('.') {
            return true;
        }
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(inner), _) if inner.ends_with('*') => field.contains(&inner[..inner.len() - 1]),
        (Some(suffix), _) => field.ends_with(suffix),
        (_, Some(prefix)) => field.starts_with(prefix),
        _ => false,
    }
}

/// Validates and normalizes one setting's new value. `path` is the JSON
/// location used in messages (`.key` in a full-settings body, empty for a sub-route).
pub fn validate_value(def: &SettingDef, value: &Value, path: &str) -> ApiResult<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let code = def.code;
    match def.kind {
        Kind::Wildcard => {
            let list = string_list(value, path, code)?;
            if list.iter().any(|s| s == "*") {
                Ok(json!(["*"]))
            } else {
                Ok(json!(list))
            }
        }
        Kind::StringSet => {
            let mut list = string_list(value, path, code)?;
            list.sort();
            list.dedup();
            Ok(json!(list))
        }
        Kind::FilterableRules => {
            let Value::Array(items) = value else {
                return Err(invalid_type(path, "an array", value, code));
            };
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(_) => {}
                    Value::Object(o) => {
                        check_fields_code(
                            o,
                            &["attributePatterns", "features"],
                            &format!("{path}[{i}]"),
                            code,
                        )?;
                    }
                    other => {
                        return Err(invalid_type(
                            &format!("{path}[{i}]"),
                            "a string or an object",
                            other,
                            code,
                        ))
                    }
                }
            }
            Ok(value.clone())
        }
        Kind::RankingRules => {
            let list = string_list(value, path, code)?;
            for (i, rule) in list.iter().enumerate() {
                if !valid_ranking_rule(rule) {
                    return Err(invalid_value(
                        &format!("{path}[{i}]"),
                        &format!("`{rule}` ranking rule is invalid. Valid ranking rules are words, typo, sort, proximity, attribute, exactness and custom ranking rules."),
                        code,
                    ));
                }
            }
            Ok(json!(list))
        }
        Kind::Synonyms => {
            let Value::Object(map) = value else {
                return Err(invalid_type(path, "an object", value, code));
            };
            let mut sorted = BTreeMap::new();
            for (k, v) in map {
                let list = string_list(v, &format!("{path}.{k}"), code)?;
                sorted.insert(k.clone(), list);
            }
            Ok(json!(sorted))
        }
        Kind::OptString => match value {
            Value::String(_) => Ok(value.clone()),
            other => Err(invalid_type(path, "a string", other, code)),
        },
        Kind::ProximityPrecision => match value.as_str() {
            Some("byWord" | "byAttribute") => Ok(value.clone()),
            _ => Err(unknown_value(value, path, &["byWord", "byAttribute"], code)),
        },
        Kind::PrefixSearch => match value.as_str() {
            Some("indexingTime" | "disabled") => Ok(value.clone()),
            _ => Err(unknown_value(
                value,
                path,
                &["indexingTime", "disabled"],
                code,
            )),
        },
        Kind::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            other => Err(invalid_type(path, "a boolean", other, code)),
        },
        Kind::OptU64 => match value {
            Value::Number(n) if n.is_u64() => Ok(value.clone()),
            other => Err(invalid_type(path, "a positive integer", other, code)),
        },
        Kind::OptArray | Kind::AnyArray => match value {
            Value::Array(_) => Ok(value.clone()),
            other => Err(invalid_type(path, "an array", other, code)),
        },
        Kind::AnyObject => match value {
            Value::Object(_) => Ok(value.clone()),
            other => Err(invalid_type(path, "an object", other, code)),
        },
        Kind::TypoTolerance => {
            let Value::Object(o) = value else {
                return Err(invalid_type(path, "an object", value, code));
            };
            check_fields_code(
                o,
                &[
                    "enabled",
                    "minWordSizeForTypos",
                    "disableOnWords",
                    "disableOnAttributes",
                    "disableOnNumbers",
                ],
                path,
                code,
            )?;
            let mut out = o.clone();
            for key in ["enabled", "disableOnNumbers"] {
                if let Some(v) = o.get(key) {
                    if !v.is_null() && !v.is_boolean() {
                        return Err(invalid_type(&format!("{path}.{key}"), "a boolean", v, code));
                    }
                }
            }
            for key in ["disableOnWords", "disableOnAttributes"] {
                if let Some(v) = o.get(key) {
                    if !v.is_null() {
                        let mut list = string_list(v, &format!("{path}.{key}"), code)?;
                        list.sort();
                        list.dedup();
                        out.insert(key.to_string(), json!(list));
                    }
                }
            }
            if let Some(Value::Object(m)) = o.get("minWordSizeForTypos") {
                check_fields_code(
                    m,
                    &["oneTypo", "twoTypos"],
                    &format!("{path}.minWordSizeForTypos"),
                    code,
                )?;
                for key in ["oneTypo", "twoTypos"] {
                    if let Some(v) = m.get(key) {
                        if !v.is_null() && v.as_u64().is_none_or(|n| n > 255) {
                            return Err(invalid_type(
                                &format!("{path}.minWordSizeForTypos.{key}"),
                                "a positive integer",
                                v,
                                code,
                            ));
                        }
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Kind::Faceting => {
            let Value::Object(o) = value else {
                return Err(invalid_type(path, "an object", value, code));
            };
            check_fields_code(o, &["maxValuesPerFacet", "sortFacetValuesBy"], path, code)?;
            if let Some(v) = o.get("maxValuesPerFacet") {
                if !v.is_null() && !v.is_u64() {
                    return Err(invalid_type(
                        &format!("{path}.maxValuesPerFacet"),
                        "a positive integer",
                        v,
                        code,
                    ));
                }
            }
            if let Some(v) = o.get("sortFacetValuesBy") {
                match v {
                    Value::Null => {}
                    Value::Object(m) => {
                        for (k, order) in m {
                            if !matches!(order.as_str(), Some("alpha" | "count")) {
                                return Err(unknown_value(
                                    order,
                                    &format!("{path}.sortFacetValuesBy.{k}"),
                                    &["alpha", "count"],
                                    code,
                                ));
                            }
                        }
                    }
                    other => {
                        return Err(invalid_type(
                            &format!("{path}.sortFacetValuesBy"),
                            "an object",
                            other,
                            code,
                        ))
                    }
                }
            }
            Ok(value.clone())
        }
        Kind::Pagination => {
            let Value::Object(o) = value else {
                return Err(invalid_type(path, "an object", value, code));
            };
            check_fields_code(o, &["maxTotalHits"], path, code)?;
            if let Some(v) = o.get("maxTotalHits") {
                if !v.is_null() && v.as_u64().is_none_or(|n| n == 0) {
                    return Err(invalid_type(
                        &format!("{path}.maxTotalHits"),
                        "a positive integer",
                        v,
                        code,
                    ));
                }
            }
            Ok(value.clone())
        }
    }
}

fn unknown_value(value: &Value, path: &str, accepted: &[&str], code: Code) -> ApiError {
    match value.as_str() {
        Some(s) => {
            let location = if path.is_empty() {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            ApiError::new(
                code,
                format!(
                    "Unknown value `{s}`{location}: {}expected one of {}",
                    crate::params::did_you_mean(s, accepted),
                    accepted
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }
        None => invalid_type(path, "a string", value, code),
    }
}

fn check_fields_code(
    o: &Map<String, Value>,
    accepted: &[&str],
    inside: &str,
    code: Code,
) -> ApiResult<()> {
    check_fields(o, accepted, inside).map_err(|e| ApiError::new(code, e.to_string()))
}

fn string_list(value: &Value, path: &str, code: Code) -> ApiResult<Vec<String>> {
    let Value::Array(items) = value else {
        return Err(invalid_type(path, "an array", value, code));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(invalid_type(
                &format!("{path}[{i}]"),
                "a string",
                other,
                code,
            )),
        })
        .collect()
}

fn valid_ranking_rule(rule: &str) -> bool {
    match rule {
        "words" | "typo" | "proximity" | "attribute" | "attributeRank" | "wordPosition"
        | "sort" | "exactness" => true,
        other => match other.rsplit_once(':') {
            Some((field, "asc" | "desc")) => !field.is_empty(),
            _ => false,
        },
    }
}

/// Validates a full `PATCH /settings` body; returns the normalized update in
/// Meilisearch's key order (this is also the task's `details`).
pub fn validate_update(body: &Map<String, Value>) -> ApiResult<Map<String, Value>> {
    let accepted: Vec<&str> = SETTINGS.iter().map(|d| d.key).collect();
    check_fields(body, &accepted, "")?;
    let mut out = Map::new();
    for def in SETTINGS {
        if let Some(v) = body.get(def.key) {
            out.insert(
                def.key.to_string(),
                validate_value(def, v, &format!(".{}", def.key))?,
            );
        }
    }
    Ok(out)
}

/// The update that resets every setting (`DELETE /settings`).
pub fn reset_all() -> Map<String, Value> {
    SETTINGS
        .iter()
        .map(|d| (d.key.to_string(), Value::Null))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_every_key_in_order() {
        let s = Settings::default().to_json();
        let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "displayedAttributes");
        assert_eq!(s["rankingRules"], json!(DEFAULT_RANKING_RULES));
        assert_eq!(s["pagination"]["maxTotalHits"], 1000);
    }

    #[test]
    fn sortable_attributes_are_sorted_and_deduplicated() {
        let body = json!({"sortableAttributes": ["b", "a", "b"]});
        let update = validate_update(body.as_object().unwrap()).unwrap();
        assert_eq!(update["sortableAttributes"], json!(["a", "b"]));
    }

    #[test]
    fn wrong_types_name_the_setting_code() {
        let body = json!({"filterableAttributes": "genre"});
        let e = validate_update(body.as_object().unwrap()).unwrap_err();
        assert_eq!(e.code(), Code::InvalidSettingsFilterableAttributes);
        assert_eq!(
            e.to_string(),
            "Invalid value type at `.filterableAttributes`: expected an array, but found a string: `\"genre\"`"
        );
    }

    #[test]
    fn unknown_settings_are_bad_requests() {
        let body = json!({"filterable": []});
        let e = validate_update(body.as_object().unwrap()).unwrap_err();
        assert_eq!(e.code(), Code::BadRequest);
        assert!(e.to_string().starts_with("Unknown field `filterable`"));
    }

    #[test]
    fn ranking_rules_are_checked() {
        let ok = json!({"rankingRules": ["words", "price:desc"]});
        assert!(validate_update(ok.as_object().unwrap()).is_ok());
        let bad = json!({"rankingRules": ["nope"]});
        assert_eq!(
            validate_update(bad.as_object().unwrap())
                .unwrap_err()
                .code(),
            Code::InvalidSettingsRankingRules
        );
    }

    #[test]
    fn nested_settings_merge_and_null_resets() {
        let mut s = Settings::default();
        s.apply(
            json!({"faceting": {"maxValuesPerFacet": 3}})
                .as_object()
                .unwrap(),
        );
        assert_eq!(s.max_values_per_facet(), 3);
        assert_eq!(s.sort_facet_values_by("x"), "alpha");
        s.apply(
            json!({"faceting": {"sortFacetValuesBy": {"genre": "count"}}})
                .as_object()
                .unwrap(),
        );
        assert_eq!(s.sort_facet_values_by("genre"), "count");
        assert_eq!(s.max_values_per_facet(), 3);
        s.apply(json!({"faceting": null}).as_object().unwrap());
        assert_eq!(s.max_values_per_facet(), 100);
    }

    #[test]
    fn filterable_patterns_match_nested_and_wildcards() {
        let mut s = Settings::default();
        s.apply(
            json!({"filterableAttributes": ["genre", "meta", "tag*"]})
                .as_object()
                .unwrap(),
        );
        assert!(s.is_filterable("genre"));
        assert!(s.is_filterable("meta.year"));
        assert!(s.is_filterable("tags"));
        assert!(!s.is_filterable("title"));
        assert_eq!(s.filterable_patterns(), vec!["genre", "meta", "tag*"]);
    }
}
