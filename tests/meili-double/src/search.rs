//! `GET`/`POST /indexes/{uid}/search`: query words (prefix on the last word,
//! typo tolerance), filters, sort, facets, pagination, distinct, ranking
//! score. The ranking is a simplified, deterministic version of
//! Meilisearch's bucket sort (see the README for what differs).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::documents::{parse_sorts, select};
use crate::error::{ApiError, ApiResult, Code};
use crate::filter::{self, facets as facet_values, values_at, Facet, Filter};
use crate::indexes::validate_uid;
use crate::params::{check_fields, invalid_type, json_object, QueryParams};
use crate::payload::Document;
use crate::sort::{self, SortBy};
use crate::store::Index;
use crate::text::{match_word, tokenize, TypoRules, WordMatch};
use crate::AppState;

const BODY_FIELDS: [&str; 30] = [
    "q",
    "offset",
    "limit",
    "page",
    "hitsPerPage",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "filter",
    "sort",
    "distinct",
    "facets",
    "matchingStrategy",
    "attributesToSearchOn",
    "rankingScoreThreshold",
    "locales",
    "hybrid",
    "vector",
    "retrieveVectors",
    "media",
    "personalize",
    "useNetwork",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
];

const QUERY_PARAMS: [&str; 30] = [
    "q",
    "offset",
    "limit",
    "page",
    "hitsPerPage",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "filter",
    "sort",
    "distinct",
    "facets",
    "matchingStrategy",
    "attributesToSearchOn",
    "rankingScoreThreshold",
    "locales",
    "hybridEmbedder",
    "hybridSemanticRatio",
    "vector",
    "retrieveVectors",
    "personalizeUserContext",
    "useNetwork",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Last,
    All,
    Frequency,
}

/// A validated search request.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub q: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
    pub page: Option<usize>,
    pub hits_per_page: Option<usize>,
    pub attributes_to_retrieve: Option<Vec<String>>,
    pub attributes_to_highlight: Option<Vec<String>>,
    pub attributes_to_crop: Option<Vec<String>>,
    pub highlight_pre_tag: Option<String>,
    pub highlight_post_tag: Option<String>,
    pub filter: Option<Value>,
    pub sort: Option<Vec<String>>,
    pub distinct: Option<String>,
    pub facets: Option<Vec<String>>,
    pub strategy: Strategy,
    pub attributes_to_search_on: Option<Vec<String>>,
    pub ranking_score_threshold: Option<f64>,
    pub show_ranking_score: bool,
}

fn strategy_from(value: &str, location: &str) -> ApiResult<Strategy> {
    match value {
        "last" => Ok(Strategy::Last),
        "all" => Ok(Strategy::All),
        "frequency" => Ok(Strategy::Frequency),
        other => Err(ApiError::new(
            Code::InvalidSearchMatchingStrategy,
            format!(
                "Unknown value `{other}`{location}: expected one of `last`, `all`, `frequency`"
            ),
        )),
    }
}

fn threshold_error(location: &str) -> ApiError {
    ApiError::new(
        Code::InvalidSearchRankingScoreThreshold,
        format!("Invalid value{location}: the value of `rankingScoreThreshold` is invalid, expected a float between `0.0` and `1.0`."),
    )
}

fn opt_usize(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64().map(|v| v as usize)),
        Some(v) => Err(invalid_type(
            &format!(".{key}"),
            "a positive integer",
            v,
            code,
        )),
    }
}

fn opt_string(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(invalid_type(&format!(".{key}"), "a string", v, code)),
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<bool> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(invalid_type(&format!(".{key}"), "a boolean", v, code)),
    }
}

fn opt_list(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<Option<Vec<String>>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_type(
                    &format!(".{key}[{i}]"),
                    "a string",
                    other,
                    code,
                )),
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(v) => Err(invalid_type(&format!(".{key}"), "an array", v, code)),
    }
}

impl SearchQuery {
    /// Validates a `POST` body.
    pub fn from_body(obj: &Map<String, Value>) -> ApiResult<Self> {
        check_fields(obj, &BODY_FIELDS, "")?;
        let threshold = match obj.get("rankingScoreThreshold") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if (0.0..=1.0).contains(&f) => Some(f),
                _ => return Err(threshold_error(" at `.rankingScoreThreshold`")),
            },
            Some(v) => {
                return Err(invalid_type(
                    ".rankingScoreThreshold",
                    "a number",
                    v,
                    Code::InvalidSearchRankingScoreThreshold,
                ))
            }
        };
        let strategy = match obj.get("matchingStrategy") {
            None | Some(Value::Null) => Strategy::Last,
            Some(Value::String(s)) => strategy_from(s, " at `.matchingStrategy`")?,
            Some(v) => {
                return Err(invalid_type(
                    ".matchingStrategy",
                    "a string",
                    v,
                    Code::InvalidSearchMatchingStrategy,
                ))
            }
        };
        opt_bool(
            obj,
            "showMatchesPosition",
            Code::InvalidSearchShowMatchesPosition,
        )?;
        opt_bool(
            obj,
            "showRankingScoreDetails",
            Code::InvalidSearchShowRankingScoreDetails,
        )?;
        opt_usize(obj, "cropLength", Code::InvalidSearchCropLength)?;
        opt_string(obj, "cropMarker", Code::InvalidSearchCropMarker)?;
        opt_list(obj, "attributesToCrop", Code::InvalidSearchAttributesToCrop)?;
        Ok(SearchQuery {
            q: opt_string(obj, "q", Code::InvalidSearchQ)?,
            offset: opt_usize(obj, "offset", Code::InvalidSearchOffset)?,
            limit: opt_usize(obj, "limit", Code::InvalidSearchLimit)?,
            page: opt_usize(obj, "page", Code::InvalidSearchPage)?,
            hits_per_page: opt_usize(obj, "hitsPerPage", Code::InvalidSearchHitsPerPage)?,
            attributes_to_retrieve: opt_list(
                obj,
                "attributesToRetrieve",
                Code::InvalidSearchAttributesToRetrieve,
            )?,
            attributes_to_highlight: opt_list(
                obj,
                "attributesToHighlight",
                Code::InvalidSearchAttributesToHighlight,
            )?,
            attributes_to_crop: opt_list(
                obj,
                "attributesToCrop",
                Code::InvalidSearchAttributesToCrop,
            )?,
            highlight_pre_tag: opt_string(
                obj,
                "highlightPreTag",
                Code::InvalidSearchHighlightPreTag,
            )?,
            highlight_post_tag: opt_string(
                obj,
                "highlightPostTag",
                Code::InvalidSearchHighlightPostTag,
            )?,
            filter: obj.get("filter").filter(|v| !v.is_null()).cloned(),
            sort: opt_list(obj, "sort", Code::InvalidSearchSort)?,
            distinct: opt_string(obj, "distinct", Code::InvalidSearchDistinct)?,
            facets: opt_list(obj, "facets", Code::InvalidSearchFacets)?,
            strategy,
            attributes_to_search_on: opt_list(
                obj,
                "attributesToSearchOn",
                Code::InvalidSearchAttributesToSearchOn,
            )?,
            ranking_score_threshold: threshold,
            show_ranking_score: opt_bool(
                obj,
                "showRankingScore",
                Code::InvalidSearchShowRankingScore,
            )?,
        })
    }

    /// Validates `GET` query parameters.
    pub fn from_query(q: &QueryParams) -> ApiResult<Self> {
        q.check_known(&QUERY_PARAMS)?;
        let threshold = match q.get("rankingScoreThreshold") {
            None => None,
            Some(raw) => match raw.parse::<f64>() {
                Ok(f) if (0.0..=1.0).contains(&f) => Some(f),
                _ => return Err(threshold_error(" in parameter `rankingScoreThreshold`")),
            },
        };
        let strategy = match q.get("matchingStrategy") {
            None => Strategy::Last,
            Some(s) => strategy_from(s, " for parameter `matchingStrategy`")?,
        };
        q.bool(
            "showMatchesPosition",
            Code::InvalidSearchShowMatchesPosition,
        )?;
        q.bool(
            "showRankingScoreDetails",
            Code::InvalidSearchShowRankingScoreDetails,
        )?;
        q.usize("cropLength", Code::InvalidSearchCropLength)?;
        Ok(SearchQuery {
            q: q.get("q").map(str::to_string),
            offset: q.usize("offset", Code::InvalidSearchOffset)?,
            limit: q.usize("limit", Code::InvalidSearchLimit)?,
            page: q.usize("page", Code::InvalidSearchPage)?,
            hits_per_page: q.usize("hitsPerPage", Code::InvalidSearchHitsPerPage)?,
            attributes_to_retrieve: q.list("attributesToRetrieve"),
            attributes_to_highlight: q.list("attributesToHighlight"),
            attributes_to_crop: q.list("attributesToCrop"),
            highlight_pre_tag: q.get("highlightPreTag").map(str::to_string),
            highlight_post_tag: q.get("highlightPostTag").map(str::to_string),
            filter: q.get("filter").map(|f| Value::String(f.to_string())),
            sort: q.list("sort"),
            distinct: q.get("distinct").map(str::to_string),
            facets: q.list("facets"),
            strategy,
            attributes_to_search_on: q.list("attributesToSearchOn"),
            ranking_score_threshold: threshold,
            show_ranking_score: q
                .bool("showRankingScore", Code::InvalidSearchShowRankingScore)?
                .unwrap_or(false),
        })
    }
}

/// Meilisearch's `Rank { rank, max_rank }` and how ranks merge into a score.
#[derive(Debug, Clone, Copy)]
struct Rank {
    rank: u64,
    max: u64,
}

fn global_score(ranks: &[Rank]) -> f64 {
    let mut outer = Rank { rank: 1, max: 1 };
    for inner in ranks {
        outer.rank = outer.rank.saturating_sub(1) * inner.max + inner.rank;
        outer.max *= inner.max;
    }
    outer.rank as f64 / outer.max.max(1) as f64
}

/// Every place one query word matched in a document.
#[derive(Debug, Clone, Default)]
struct WordHits {
    /// (attribute index, position in the attribute)
    places: Vec<(usize, usize)>,
    min_typos: usize,
    exact: bool,
}

/// A searchable attribute's tokens with their positions.
struct Field {
    tokens: Vec<(String, usize)>,
}

fn text_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(items) => items.iter().for_each(|i| text_values(i, out)),
        Value::Object(o) => o.values().for_each(|i| text_values(i, out)),
        Value::Null => {}
    }
}

fn fields_of(doc: &Document, attrs: &[String]) -> Vec<Field> {
    attrs
        .iter()
        .map(|attr| {
            let mut texts = Vec::new();
            for v in values_at(doc, attr) {
                text_values(v, &mut texts);
            }
            let mut tokens = Vec::new();
            let mut pos = 0;
            for t in texts {
                for tok in tokenize(&t) {
                    tokens.push((tok, pos));
                    pos += 1;
                }
                pos += 8; // array elements / values are far apart
            }
            Field { tokens }
        })
        .collect()
}

/// Memo of token matches for one query word (vocabularies are small).
type MatchCache = std::collections::HashMap<String, Option<WordMatch>>;

fn word_hits(
    fields: &[Field],
    words: &[String],
    prefix: bool,
    rules: TypoRules,
    cache: &mut MatchCache,
) -> Option<WordHits> {
    let mut hits = WordHits {
        min_typos: usize::MAX,
        ..WordHits::default()
    };
    for (attr, field) in fields.iter().enumerate() {
        for (tok, pos) in &field.tokens {
            let found = match cache.get(tok) {
                Some(m) => *m,
                None => {
                    let m = words
                        .iter()
                        .filter_map(|w| match_word(w, tok, prefix, rules))
                        .min_by_key(|m| m.typos);
                    cache.insert(tok.clone(), m);
                    m
                }
            };
            if let Some(m) = found {
                hits.places.push((attr, *pos));
                hits.min_typos = hits.min_typos.min(m.typos);
                hits.exact |= m.exact;
            }
        }
    }
    (!hits.places.is_empty()).then_some(hits)
}

/// Meilisearch's position cost buckets (milli ranking_rule_graph/position).
fn position_cost(distance: usize) -> u64 {
    match distance {
        0 => 0,
        1 => 1,
        2..=4 => 2,
        5..=7 => 3,
        8..=11 => 4,
        12..=16 => 5,
        17..=24 => 6,
        25..=64 => 7,
        65..=256 => 8,
        257..=1024 => 9,
        _ => 10,
    }
}

/// Proximity cost of two consecutive query words: 0 when adjacent, up to 7.
fn pair_cost(left: &WordHits, right: &WordHits) -> u64 {
    let mut best = 7u64;
    for (la, lp) in &left.places {
        for (ra, rp) in &right.places {
            if la != ra {
                continue;
            }
            let d = if rp > lp { rp - lp } else { lp - rp + 1 };
            best = best.min((d.min(8) as u64).saturating_sub(1));
        }
    }
    best
}

/// 3 when an attribute is exactly the query words, 2 when it starts with them, else 1.
fn exact_attribute(fields: &[Field], words: &[String]) -> u64 {
    let mut best = 1;
    for field in fields {
        let toks: Vec<&str> = field.tokens.iter().map(|(t, _)| t.as_str()).collect();
        if !words.is_empty()
            && toks.len() >= words.len()
            && toks.iter().zip(words).all(|(t, w)| *t == w)
        {
            best = best.max(if toks.len() == words.len() { 3 } else { 2 });
        }
    }
    best
}

struct Scored {
    internal: u32,
    /// One entry per ranking rule (greater is better), sort rules excluded.
    key: Vec<Key>,
    ranks: Vec<Rank>,
}

#[derive(Debug, Clone)]
enum Key {
    Rank(u64),
    Sort(SortBy),
}

/// Runs a search on an index.
pub fn execute(index: &Index, query: &SearchQuery, started: Instant) -> ApiResult<Value> {
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

    // query words (stop words removed unless the query is only stop words)
    let stop_words = settings.stop_words();
    let q = query.q.clone().unwrap_or_default();
    let all_words = tokenize(&q);
    let mut words: Vec<String> = all_words
        .iter()
        .filter(|w| !stop_words.contains(w))
        .cloned()
        .collect();
    if words.is_empty() {
        words = all_words.clone();
    }
    let ends_with_separator = q.chars().last().is_some_and(|c| !c.is_alphanumeric());
    let synonyms = settings.synonyms();
    let alternatives: Vec<Vec<String>> = words
        .iter()
        .map(|w| {
            let mut alts = vec![w.clone()];
            if let Some(syn) = synonyms
                .iter()
                .find(|(k, _)| k.to_lowercase() == *w)
                .map(|(_, v)| v)
            {
                alts.extend(syn.iter().flat_map(|s| tokenize(s).into_iter().take(1)));
            }
            alts
        })
        .collect();
    let (one, two) = settings.typo_word_sizes();
    let rules = TypoRules {
        enabled: settings.typo_enabled(),
        one_typo: one,
        two_typos: two,
    };

    let candidates: Vec<(&u32, &Document)> = index
        .docs
        .iter()
        .map(|(k, d)| (k, &d.doc))
        .filter(|(_, d)| filter.as_ref().is_none_or(|f| f.matches(d)))
        .collect();

    let n = words.len();
    let mut scored: Vec<(Scored, &Document)> = Vec::new();
    // per-document matches of each query word
    let mut all_hits: Vec<(u32, &Document, Vec<Option<WordHits>>, u64)> = Vec::new();
    let mut caches: Vec<MatchCache> = vec![MatchCache::new(); n];
    for (internal, doc) in &candidates {
        if n == 0 {
            all_hits.push((**internal, doc, Vec::new(), 1));
            continue;
        }
        let fields = fields_of(doc, &search_on);
        let hits: Vec<Option<WordHits>> = alternatives
            .iter()
            .zip(caches.iter_mut())
            .enumerate()
            .map(|(i, (alts, cache))| {
                word_hits(
                    &fields,
                    alts,
                    i + 1 == n && !ends_with_separator,
                    rules,
                    cache,
                )
            })
            .collect();
        let exact_attr = exact_attribute(&fields, &words);
        all_hits.push((**internal, doc, hits, exact_attr));
    }
    // the order in which words are dropped
    let order: Vec<usize> = match query.strategy {
        Strategy::Frequency => {
            let mut idx: Vec<usize> = (0..n).collect();
            let freq = |i: usize| {
                all_hits
                    .iter()
                    .filter(|(_, _, h, _)| h[i].is_some())
                    .count()
            };
            idx.sort_by_key(|i| (freq(*i), *i));
            idx
        }
        _ => (0..n).collect(),
    };
    let max_weight = search_on.len().saturating_sub(1) as u64;
    for (internal, doc, hits, exact_attr) in &all_hits {
        let matched_words = if n == 0 {
            0
        } else {
            order.iter().take_while(|i| hits[**i].is_some()).count()
        };
        if n > 0 {
            let required = if query.strategy == Strategy::All {
                n
            } else {
                1
            };
            if matched_words < required {
                continue;
            }
        }
        // the words kept, in query order
        let mut kept: Vec<usize> = order.iter().take(matched_words).copied().collect();
        kept.sort_unstable();
        let used: Vec<(usize, &WordHits)> = kept
            .iter()
            .filter_map(|i| hits[*i].as_ref().map(|h| (*i, h)))
            .collect();
        let k = used.len() as u64;
        let mut key = Vec::new();
        let mut ranks = Vec::new();
        let mut push = |key: &mut Vec<Key>, rank: Rank| {
            key.push(Key::Rank(rank.rank));
            ranks.push(rank);
        };
        for rule in &ranking_rules {
            match rule.as_str() {
                "sort" => sorts.iter().for_each(|s| key.push(Key::Sort(s.clone()))),
                "words" if n > 0 => push(
                    &mut key,
                    Rank {
                        rank: k,
                        max: n as u64,
                    },
                ),
                "typo" if n > 0 => {
                    let max_typo: u64 = used
                        .iter()
                        .map(|(i, _)| rules.budget(&words[*i]) as u64)
                        .sum();
                    let typos: u64 = used
                        .iter()
                        .map(|(_, h)| h.min_typos as u64)
                        .sum::<u64>()
                        .min(max_typo);
                    push(
                        &mut key,
                        Rank {
                            rank: max_typo + 1 - typos,
                            max: max_typo + 1,
                        },
                    );
                }
                "proximity" if n > 0 => {
                    let mut pairs = 0u64;
                    let mut cost = 0u64;
                    for w in used.windows(2) {
                        if w[1].0 == w[0].0 + 1 {
                            pairs += 1;
                            cost += pair_cost(w[0].1, w[1].1);
                        }
                    }
                    push(
                        &mut key,
                        Rank {
                            rank: pairs * 7 + 1 - cost,
                            max: pairs * 7 + 1,
                        },
                    );
                }
                "attribute" | "attributeRank" | "wordPosition" if n > 0 => {
                    if rule != "wordPosition" {
                        let cost: u64 = used
                            .iter()
                            .map(|(_, h)| h.places.iter().map(|p| p.0 as u64).min().unwrap_or(0))
                            .sum();
                        let max = k * max_weight + 1;
                        push(
                            &mut key,
                            Rank {
                                rank: max - cost.min(max - 1),
                                max,
                            },
                        );
                    }
                    if rule != "attributeRank" {
                        let cost: u64 = used
                            .iter()
                            .map(|(i, h)| {
                                h.places
                                    .iter()
                                    .map(|p| position_cost(p.1.abs_diff(*i)))
                                    .min()
                                    .unwrap_or(10)
                            })
                            .sum();
                        push(
                            &mut key,
                            Rank {
                                rank: 10 * k + 1 - cost,
                                max: 10 * k + 1,
                            },
                        );
                    }
                }
                "exactness" if n > 0 => {
                    let exact = used.iter().filter(|(_, h)| h.exact).count() as u64;
                    push(
                        &mut key,
                        Rank {
                            rank: exact + 1,
                            max: n as u64 + 1,
                        },
                    );
                    push(
                        &mut key,
                        Rank {
                            rank: *exact_attr,
                            max: 3,
                        },
                    );
                }
                other => {
                    if let Ok(by) = sort::parse(other) {
                        key.push(Key::Sort(by));
                    }
                }
            }
        }
        scored.push((
            Scored {
                internal: *internal,
                key,
                ranks,
            },
            doc,
        ));
    }
    scored.sort_by(|(a, da), (b, db)| compare_scored(a, da, b, db));

    // ranking score threshold, distinct
    let score_of = |s: &Scored| if n == 0 { 1.0 } else { global_score(&s.ranks) };
    if let Some(t) = query.ranking_score_threshold {
        scored.retain(|(s, _)| score_of(s) >= t);
    }
    if let Some(d) = &distinct {
        let mut seen = std::collections::HashSet::new();
        scored.retain(|(_, doc)| {
            let values = facet_values(&values_at(doc, d));
            if values.is_empty() {
                return true;
            }
            let key = format!("{values:?}");
            seen.insert(key)
        });
    }
    let total = scored.len();

    let mut out = Map::new();
    let max_total = settings.max_total_hits();
    let paged = query.page.is_some() || query.hits_per_page.is_some();
    let (offset, limit) = if paged {
        let hpp = query.hits_per_page.unwrap_or(20);
        let page = query.page.unwrap_or(1);
        (
            page.saturating_sub(1).saturating_mul(hpp),
            if page == 0 { 0 } else { hpp },
        )
    } else {
        (query.offset.unwrap_or(0), query.limit.unwrap_or(20))
    };
    let reachable = total.min(max_total);
    let window: Vec<&(Scored, &Document)> = scored
        .iter()
        .take(reachable)
        .skip(offset)
        .take(limit)
        .collect();

    let displayed = settings.displayed();
    let hits: Vec<Value> = window
        .iter()
        .map(|(s, doc)| {
            let mut hit = match &displayed {
                Some(list) => select(doc, list),
                None => (*doc).clone(),
            };
            if let Some(attrs) = &query.attributes_to_retrieve {
                hit = select(&hit, attrs);
            }
            if query.attributes_to_highlight.is_some() || query.attributes_to_crop.is_some() {
                let formatted = format_hit(&hit, query, &words, rules);
                hit.insert("_formatted".into(), Value::Object(formatted));
            }
            if query.show_ranking_score {
                hit.insert("_rankingScore".into(), json!(score_of(s)));
            }
            Value::Object(hit)
        })
        .collect();

    out.insert("hits".into(), Value::Array(hits));
    out.insert("query".into(), json!(q));
    out.insert(
        "processingTimeMs".into(),
        json!(started.elapsed().as_millis() as u64),
    );
    if paged {
        let hpp = query.hits_per_page.unwrap_or(20);
        out.insert("hitsPerPage".into(), json!(hpp));
        out.insert("page".into(), json!(query.page.unwrap_or(1)));
        let pages = if hpp == 0 { 0 } else { total.div_ceil(hpp) };
        out.insert("totalPages".into(), json!(pages));
        out.insert("totalHits".into(), json!(total));
    } else {
        out.insert("limit".into(), json!(limit));
        out.insert("offset".into(), json!(offset));
        out.insert("estimatedTotalHits".into(), json!(total));
    }
    if let Some(names) = facet_names {
        let mut by_id: Vec<(u32, &Document)> =
            scored.iter().map(|(s, d)| (s.internal, *d)).collect();
        by_id.sort_by_key(|(i, _)| *i);
        let docs: Vec<&Document> = by_id.into_iter().map(|(_, d)| d).collect();
        let (distribution, stats) = facet_distribution(&names, &docs, index);
        // Meilisearch lists facets by name
        let sorted = |m: Map<String, Value>| -> Value {
            Value::Object(
                m.into_iter()
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            )
        };
        out.insert("facetDistribution".into(), sorted(distribution));
        out.insert("facetStats".into(), sorted(stats));
    }
    out.insert("requestUid".into(), json!(request_uid()));
    Ok(Value::Object(out))
}

fn compare_scored(a: &Scored, da: &Document, b: &Scored, db: &Document) -> Ordering {
    for (ka, kb) in a.key.iter().zip(b.key.iter()) {
        let o = match (ka, kb) {
            (Key::Rank(x), Key::Rank(y)) => y.cmp(x),
            (Key::Sort(by), Key::Sort(_)) => sort::compare(da, db, by),
            _ => Ordering::Equal,
        };
        if o.is_ne() {
            return o;
        }
    }
    a.internal.cmp(&b.internal)
}

/// Checks facet names against the filterable attributes; `*` expands to every known filterable field.
fn check_facets(list: &[String], index: &Index) -> ApiResult<Vec<String>> {
    let settings = &index.settings;
    let mut out = Vec::new();
    for name in list {
        if !settings.is_filterable(name) {
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
                Code::InvalidSearchFacets,
                format!("Invalid facet distribution: Pattern `{name}` is not filterable. {tail}"),
            ));
        }
        if name == "*" {
            out.extend(
                index
                    .fields
                    .iter()
                    .filter(|f| settings.is_filterable(f))
                    .cloned(),
            );
        } else {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// Facet counts like milli: numbers first, then strings, each ordered
/// `alpha` (ascending) or `count` (descending, ties by descending value),
/// cut to `maxValuesPerFacet`; strings show the original of the document
/// with the smallest internal id. `docs` must be in internal-id order.
fn facet_distribution(
    names: &[String],
    docs: &[&Document],
    index: &Index,
) -> (Map<String, Value>, Map<String, Value>) {
    let mut distribution = Map::new();
    let mut stats = Map::new();
    for name in names {
        let mut numbers: Vec<(f64, u64)> = Vec::new();
        let mut strings: BTreeMap<String, (String, u64)> = BTreeMap::new();
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for doc in docs {
            let mut originals = Vec::new();
            for v in values_at(doc, name) {
                collect_originals(v, &mut originals);
            }
            let mut seen_nums: Vec<f64> = Vec::new();
            let mut seen_strs = std::collections::HashSet::new();
            for (facet, original) in originals {
                match facet {
                    Facet::Num(x) => {
                        min = min.min(x);
                        max = max.max(x);
                        if !seen_nums.contains(&x) {
                            seen_nums.push(x);
                            match numbers.iter_mut().find(|(v, _)| *v == x) {
                                Some(entry) => entry.1 += 1,
                                None => numbers.push((x, 1)),
                            }
                        }
                    }
                    Facet::Str(s) => {
                        if seen_strs.insert(s.clone()) {
                            strings.entry(s).or_insert((original, 0)).1 += 1;
                        }
                    }
                }
            }
        }
        let by_count = index.settings.sort_facet_values_by(name) == "count";
        numbers.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
        if by_count {
            numbers.sort_by(|a, b| {
                b.1.cmp(&a.1)
                    .then(b.0.partial_cmp(&a.0).unwrap_or(Ordering::Equal))
            });
        }
        let mut string_entries: Vec<(String, String, u64)> = strings
            .into_iter()
            .map(|(norm, (shown, c))| (norm, shown, c))
            .collect();
        if by_count {
            string_entries.sort_by(|a, b| b.2.cmp(&a.2).then(b.0.cmp(&a.0)));
        }
        let values: Map<String, Value> = numbers
            .into_iter()
            .map(|(x, c)| (format!("{x}"), json!(c)))
            .chain(
                string_entries
                    .into_iter()
                    .map(|(_, shown, c)| (shown, json!(c))),
            )
            .take(index.settings.max_values_per_facet())
            .collect();
        distribution.insert(name.clone(), Value::Object(values));
        if min.is_finite() {
            stats.insert(name.clone(), json!({"min": min, "max": max}));
        }
    }
    (distribution, stats)
}

fn collect_originals(v: &Value, out: &mut Vec<(Facet, String)>) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                out.push((Facet::Num(f), n.to_string()));
            }
        }
        Value::String(s) => out.push((Facet::Str(filter::normalize(s)), s.trim().to_string())),
        Value::Bool(b) => out.push((Facet::Str(b.to_string()), b.to_string())),
        Value::Array(items) => items.iter().for_each(|i| collect_originals(i, out)),
        _ => {}
    }
}

/// `_formatted`: every retrieved value as text, query words wrapped in highlight tags.
fn format_hit(
    hit: &Document,
    query: &SearchQuery,
    words: &[String],
    rules: TypoRules,
) -> Map<String, Value> {
    let pre = query
        .highlight_pre_tag
        .clone()
        .unwrap_or_else(|| "<em>".into());
    let post = query
        .highlight_post_tag
        .clone()
        .unwrap_or_else(|| "</em>".into());
    let highlight = query.attributes_to_highlight.clone().unwrap_or_default();
    let all = highlight.iter().any(|h| h == "*");
    hit.iter()
        .map(|(k, v)| {
            let on = all
                || highlight
                    .iter()
                    .any(|h| h == k || crate::settings::pattern_matches(h, k));
            (k.clone(), format_value(v, on, words, rules, &pre, &post))
        })
        .collect()
}

fn format_value(
    v: &Value,
    highlight: bool,
    words: &[String],
    rules: TypoRules,
    pre: &str,
    post: &str,
) -> Value {
    match v {
        Value::String(s) if highlight => Value::String(highlight_text(s, words, rules, pre, post)),
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| format_value(i, highlight, words, rules, pre, post))
                .collect(),
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, i)| {
                    (
                        k.clone(),
                        format_value(i, highlight, words, rules, pre, post),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn highlight_text(text: &str, words: &[String], rules: TypoRules, pre: &str, post: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let token: String = chars[start..i].iter().collect();
        let lower = token.to_lowercase();
        let n = words.len();
        let matched = words
            .iter()
            .enumerate()
            .filter_map(|(j, w)| match_word(w, &lower, j + 1 == n, rules))
            .max_by_key(|m| m.matched_chars);
        match matched {
            Some(m) => {
                let cut = m.matched_chars.min(token.chars().count());
                let head: String = token.chars().take(cut).collect();
                let tail: String = token.chars().skip(cut).collect();
                out.push_str(pre);
                out.push_str(&head);
                out.push_str(post);
                out.push_str(&tail);
            }
            None => out.push_str(&token),
        }
    }
    out
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

/// A UUIDv7-shaped request id.
fn request_uid() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = now.as_millis() as u64 & 0xffff_ffff_ffff;
    let c = COUNTER.fetch_add(1, AtomicOrdering::Relaxed);
    let r = (now.subsec_nanos() as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ c.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        ms >> 16,
        ms & 0xffff,
        c & 0xfff,
        0x8000 | (r >> 48 & 0x3fff),
        r & 0xffff_ffff_ffff
    )
}

fn run(
    state: &AppState,
    uid: &str,
    query: SearchQuery,
    started: Instant,
) -> ApiResult<Json<Value>> {
    let db = state.lock()?;
    let index = db
        .indexes
        .get(uid)
        .ok_or_else(|| ApiError::IndexNotFound(uid.to_string()))?;
    execute(index, &query, started).map(Json)
}

/// `GET /indexes/{uid}/search`
pub async fn search_get(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    validate_uid(&uid)?;
    let q = QueryParams::parse(raw.as_deref());
    let query = SearchQuery::from_query(&q)?;
    run(&state, &uid, query, started)
}

/// `POST /indexes/{uid}/search`
pub async fn search_post(
    State(state): State<Arc<AppState>>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    validate_uid(&uid)?;
    let obj = json_object(&headers, &body, state.payload_limit, Code::BadRequest)?;
    let query = SearchQuery::from_body(&obj)?;
    run(&state, &uid, query, started)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn index(docs: Value, settings: Value) -> Index {
        let mut idx = Index::new("movies", Some("id".into()), OffsetDateTime::UNIX_EPOCH);
        idx.register_field("id");
        for d in docs.as_array().unwrap() {
            let id = d["id"].to_string();
            idx.upsert(id, d.as_object().unwrap().clone(), false);
        }
        idx.settings.apply(settings.as_object().unwrap());
        idx
    }

    fn movies() -> Index {
        index(
            json!([
                {"id": 1, "title": "The Hobbit", "genre": "fantasy", "year": 1937},
                {"id": 2, "title": "Harry Potter and the Philosopher Stone", "genre": "Fantasy", "year": 1997},
                {"id": 3, "title": "Dune", "genre": "scifi", "year": 1965},
                {"id": 4, "title": "The Lord of the Rings", "genre": "fantasy", "year": 1954},
                {"id": 5, "title": "Foundation", "genre": "scifi", "year": 1951}
            ]),
            json!({"filterableAttributes": ["genre", "year"], "sortableAttributes": ["year", "title"]}),
        )
    }

    fn search(idx: &Index, body: Value) -> Value {
        let q = SearchQuery::from_body(body.as_object().unwrap()).unwrap();
        execute(idx, &q, Instant::now()).unwrap()
    }

    fn ids(res: &Value) -> Vec<i64> {
        res["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_i64().unwrap())
            .collect()
    }

    #[test]
    fn placeholder_search_returns_everything_in_insertion_order() {
        let res = search(&movies(), json!({}));
        assert_eq!(ids(&res), vec![1, 2, 3, 4, 5]);
        assert_eq!(res["estimatedTotalHits"], 5);
        assert_eq!(res["limit"], 20);
    }

    #[test]
    fn typo_and_prefix_matching() {
        assert_eq!(ids(&search(&movies(), json!({"q": "hobit"}))), vec![1]);
        assert_eq!(ids(&search(&movies(), json!({"q": "foun"}))), vec![5]);
        assert_eq!(
            ids(&search(&movies(), json!({"q": "dnue"}))),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn last_strategy_keeps_documents_matching_the_first_words() {
        assert_eq!(
            ids(&search(&movies(), json!({"q": "lord rings xyz"}))),
            vec![4]
        );
        assert!(ids(&search(
            &movies(),
            json!({"q": "lord xyz", "matchingStrategy": "all"})
        ))
        .is_empty());
    }

    #[test]
    fn filter_sort_and_pagination() {
        let res = search(
            &movies(),
            json!({"filter": "genre = fantasy", "sort": ["year:desc"]}),
        );
        assert_eq!(ids(&res), vec![2, 4, 1]);
        let res = search(&movies(), json!({"hitsPerPage": 2, "page": 2}));
        assert_eq!(ids(&res), vec![3, 4]);
        assert_eq!(res["totalPages"], 3);
        assert_eq!(res["totalHits"], 5);
    }

    #[test]
    fn facets_count_and_stats() {
        let res = search(&movies(), json!({"facets": ["genre", "year"]}));
        assert_eq!(
            res["facetDistribution"]["genre"],
            json!({"fantasy": 3, "scifi": 2})
        );
        assert_eq!(
            res["facetStats"]["year"],
            json!({"min": 1937.0, "max": 1997.0})
        );
        let keys: Vec<&String> = res["facetDistribution"]["year"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, vec!["1937", "1951", "1954", "1965", "1997"]);
    }

    #[test]
    fn ranking_score_is_one_for_placeholder_and_below_for_partial_matches() {
        let res = search(&movies(), json!({"showRankingScore": true}));
        assert_eq!(res["hits"][0]["_rankingScore"], 1.0);
        let res = search(
            &movies(),
            json!({"q": "the hobbit", "showRankingScore": true}),
        );
        let first = res["hits"][0]["_rankingScore"].as_f64().unwrap();
        assert_eq!(res["hits"][0]["id"], 1);
        for h in res["hits"].as_array().unwrap() {
            let s = h["_rankingScore"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&s) && s <= first);
        }
    }

    #[test]
    fn max_total_hits_caps_reachable_hits_but_not_totals() {
        let mut idx = movies();
        idx.settings.apply(
            json!({"pagination": {"maxTotalHits": 2}})
                .as_object()
                .unwrap(),
        );
        let res = search(&idx, json!({}));
        assert_eq!(ids(&res), vec![1, 2]);
        assert_eq!(res["estimatedTotalHits"], 5);
    }

    #[test]
    fn distinct_keeps_the_first_document_per_value() {
        let res = search(&movies(), json!({"distinct": "genre"}));
        assert_eq!(ids(&res), vec![1, 3]);
    }

    #[test]
    fn errors_name_the_index() {
        let idx = movies();
        let q =
            SearchQuery::from_body(json!({"filter": "title = x"}).as_object().unwrap()).unwrap();
        let e = execute(&idx, &q, Instant::now()).unwrap_err();
        assert_eq!(e.code(), Code::InvalidSearchFilter);
        assert_eq!(
            e.to_string(),
            "Index `movies`: Attribute `title` is not filterable. Available filterable attribute patterns are: `genre`, `year`.\n2:7 \"title\" = \"x\""
        );
        let q =
            SearchQuery::from_body(json!({"sort": ["genre:asc"]}).as_object().unwrap()).unwrap();
        assert_eq!(
            execute(&idx, &q, Instant::now()).unwrap_err().code(),
            Code::InvalidSearchSort
        );
        let q = SearchQuery::from_body(json!({"facets": ["title"]}).as_object().unwrap()).unwrap();
        assert_eq!(
            execute(&idx, &q, Instant::now()).unwrap_err().code(),
            Code::InvalidSearchFacets
        );
    }

    #[test]
    fn count_ordered_facets_break_ties_by_descending_value() {
        let mut idx = movies();
        idx.settings.apply(
            json!({"faceting": {"sortFacetValuesBy": {"*": "count"}, "maxValuesPerFacet": 2}})
                .as_object()
                .unwrap(),
        );
        let res = search(&idx, json!({"facets": ["genre", "year"]}));
        let genre: Vec<&String> = res["facetDistribution"]["genre"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(genre, vec!["fantasy", "scifi"]);
        let year: Vec<&String> = res["facetDistribution"]["year"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(year, vec!["1997", "1965"]);
    }

    #[test]
    fn highlights_matched_words() {
        let rules = TypoRules {
            enabled: true,
            one_typo: 5,
            two_typos: 9,
        };
        assert_eq!(
            highlight_text("Wonder Woman", &["wond".into()], rules, "<em>", "</em>"),
            "<em>Wond</em>er Woman"
        );
    }

    #[test]
    fn serialized_filters_quote_every_token() {
        let f = filter::parse_str("genre = a AND (year > 1 OR title != \"x y\")")
            .unwrap()
            .unwrap();
        assert_eq!(
            serialize(&f),
            "(\"genre\" = \"a\") AND ((\"year\" > \"1\") OR (\"title\" != \"x y\"))"
        );
    }
}
