//! Validation of a search against its index: filter syntax and
//! filterability, sort, facets, distinct and `attributesToSearchOn`.

use crate::documents::parse_sorts;
use crate::error::{ApiError, ApiResult, Code};
use crate::filter::{self, Filter};
use crate::sort;
use crate::sort::SortBy;
use crate::store::Index;

use super::facets::check_facets;
use super::SearchQuery;

/// What a search runs with once its parameters are checked against the index.
pub struct Plan {
    pub filter: Option<Filter>,
    pub sorts: Vec<SortBy>,
    pub ranking_rules: Vec<String>,
    /// Facets asked for, `*` expanded.
    pub facet_names: Option<Vec<String>>,
    pub distinct: Option<String>,
    pub searchable: Vec<String>,
    /// The attributes searched (`attributesToSearchOn` or every searchable one).
    pub search_on: Vec<String>,
}

/// Checks a search's filter, sort, facets, distinct and
/// `attributesToSearchOn` against the index, in Meilisearch's order.
pub fn plan(index: &Index, query: &SearchQuery) -> ApiResult<Plan> {
    let uid = &index.uid;
    let settings = &index.settings;
    // filter syntax, then sort syntax
    let filter: Option<Filter> = match &query.filter {
        Some(v) => {
            filter::parse_value(v).map_err(|e| ApiError::new(Code::InvalidSearchFilter, e))?
        }
        None => None,
    };
    if let Some(e) = filter.as_ref().and_then(Filter::feature_error) {
        return Err(ApiError::new(Code::Other("feature_not_enabled"), e));
    }
    if let Some(sorts) = &query.sort {
        for s in sorts {
            sort::parse(s)
                .map_err(|e| ApiError::new(Code::InvalidSearchSort, sort::syntax_message(&e)))?;
        }
    }
    let ranking_rules = settings.ranking_rules();
    let sorts = match &query.sort {
        Some(list) if !list.is_empty() => {
            let sorts = parse_sorts(
                list,
                index,
                Code::InvalidSearchSort,
                &format!("Index `{uid}`: "),
            )?;
            if !ranking_rules.iter().any(|r| r == "sort") {
                return Err(ApiError::new(
                    Code::InvalidSearchSort,
                    format!("Index `{uid}`: You must specify where `sort` is listed in the rankingRules setting to use the sort parameter at search time."),
                ));
            }
            sorts
        }
        _ => Vec::new(),
    };
    if let Some(f) = &filter {
        // Meilisearch reports positions in its re-serialized filter
        let serialized = serialize(f);
        let reparsed = filter::parse_str(&serialized)
            .ok()
            .flatten()
            .unwrap_or_else(|| f.clone());
        reparsed
            .check_filterable(settings)
            .map_err(|e| ApiError::new(Code::InvalidSearchFilter, format!("Index `{uid}`: {e}")))?;
    }
    let facet_names = match &query.facets {
        Some(list) => Some(check_facets(list, index)?),
        None => None,
    };
    let distinct = match &query.distinct {
        Some(d) => {
            if !settings.is_filterable(d) {
                let patterns = settings.filterable_patterns();
                let tail = if patterns.is_empty() {
                    "This index does not have configured filterable attributes.".to_string()
                } else {
                    format!(
                        "Available filterable attributes patterns are: `{}`.",
                        patterns.join(", ")
                    )
                };
                return Err(ApiError::new(
                    Code::InvalidSearchDistinct,
                    format!("Index `{uid}`: Attribute `{d}` is not filterable and thus, cannot be used as distinct attribute. {tail}"),
                ));
            }
            Some(d.clone())
        }
        None => settings.distinct(),
    };
    let searchable: Vec<String> = match settings.searchable() {
        Some(list) => list,
        None => index.fields.clone(),
    };
    let search_on: Vec<String> = match &query.attributes_to_search_on {
        Some(list) if !list.iter().any(|a| a == "*") => {
            for a in list {
                if !searchable
                    .iter()
                    .any(|s| crate::settings::pattern_matches(s, a))
                {
                    let mut valid: Vec<String> = searchable.clone();
                    valid.sort();
                    return Err(ApiError::new(
                        Code::InvalidSearchAttributesToSearchOn,
                        format!("Index `{uid}`: Attribute `{a}` is not searchable. Available searchable attributes are: `{}`.", valid.join(", ")),
                    ));
                }
            }
            list.clone()
        }
        _ => searchable.clone(),
    };
    Ok(Plan {
        filter,
        sorts,
        ranking_rules,
        facet_names,
        distinct,
        searchable,
        search_on,
    })
}

/// Re-serializes a filter the way Meilisearch does before evaluating it.
pub fn serialize(f: &Filter) -> String {
    fn q(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_default()
    }
    match f {
        Filter::Not(inner) => format!("NOT ({})", serialize(inner)),
        Filter::And(items) => items
            .iter()
            .map(|i| format!("({})", serialize(i)))
            .collect::<Vec<_>>()
            .join(" AND "),
        Filter::Or(items) => items
            .iter()
            .map(|i| format!("({})", serialize(i)))
            .collect::<Vec<_>>()
            .join(" OR "),
        Filter::In { field, values } => format!(
            "{} IN [{}]",
            q(&field.value),
            values
                .iter()
                .map(|v| q(&v.value))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Filter::Cond { field, op } => {
            let op = match op {
                filter::Op::Eq(v) => format!("= {}", q(&v.value)),
                filter::Op::Ne(v) => format!("!= {}", q(&v.value)),
                filter::Op::Gt(v) => format!("> {}", q(&v.value)),
                filter::Op::Ge(v) => format!(">= {}", q(&v.value)),
                filter::Op::Lt(v) => format!("< {}", q(&v.value)),
                filter::Op::Le(v) => format!("<= {}", q(&v.value)),
                filter::Op::Between(a, b) => format!("{} TO {}", q(&a.value), q(&b.value)),
                filter::Op::Exists => "EXISTS".into(),
                filter::Op::IsNull => "IS NULL".into(),
                filter::Op::IsEmpty => "IS EMPTY".into(),
                filter::Op::Contains(_, v) => format!("CONTAINS {}", q(&v.value)),
                filter::Op::StartsWith(v) => format!("STARTS WITH {}", q(&v.value)),
            };
            format!("{} {op}", q(&field.value))
        }
    }
}
