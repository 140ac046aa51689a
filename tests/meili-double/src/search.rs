//! `GET`/`POST /indexes/{uid}/search`: query words (prefix on the last word,
//! typo tolerance), filters, sort, facets, pagination, distinct, ranking
//! score and `_rankingScoreDetails`. Each hit gets one [`Detail`] per ranking
//! rule (see `ranking.rs`); the hits are sorted by those details, so the
//! order, the scores and the details shown agree. The matching itself is a
//! simplified version of milli's (see the README for what differs).

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
use crate::ranking::{self, resolve_rules, Detail, MatchType, Rank, Rule};
use crate::sort;
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
    pub show_ranking_score_details: bool,
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
        let show_ranking_score_details = opt_bool(
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
            show_ranking_score_details,
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
        let show_ranking_score_details = q
            .bool(
                "showRankingScoreDetails",
                Code::InvalidSearchShowRankingScoreDetails,
            )?
            .unwrap_or(false);
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
            show_ranking_score_details,
        })
    }
}

/// Every place one query word matched in a document.
#[derive(Debug, Clone, Default)]
struct WordHits {
    /// (attribute index, position in the attribute, typos, exact)
    places: Vec<(usize, usize, usize, bool)>,
    min_typos: usize,
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

/// A text's words (as [`tokenize`] cuts them) with milli's positions: the
/// next word is 1 further, or 8 after a hard separator (`!`, `;`, `?`, `. `,
/// `, `, ...; charabia's context separators).
fn positioned_words(text: &str) -> Vec<(String, usize)> {
    const HARD: [char; 10] = [
        '!', ';', '?', '¡', '§', '¶', '¿', '\u{37e}', '\0', '\u{61f}',
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut word = String::new();
    // a hard separator since the last word
    let mut hard = false;
    for (i, c) in chars.iter().enumerate() {
        if c.is_alphanumeric() {
            if word.is_empty() && !out.is_empty() {
                pos += if hard { 8 } else { 1 };
            }
            word.push(*c);
            continue;
        }
        if !word.is_empty() {
            out.push((std::mem::take(&mut word).to_lowercase(), pos));
            hard = false;
        }
        hard |= HARD.contains(c) || (matches!(c, '.' | ',') && chars.get(i + 1) == Some(&' '));
    }
    if !word.is_empty() {
        out.push((word.to_lowercase(), pos));
    }
    out
}

fn fields_of(doc: &Document, attrs: &[String]) -> Vec<Field> {
    attrs
        .iter()
        .map(|attr| {
            let mut texts = Vec::new();
            for v in values_at(doc, attr) {
                text_values(v, &mut texts);
            }
            // each value starts 8 after the last word of the previous one
            let mut tokens = Vec::new();
            let mut last: Option<usize> = None;
            for t in texts {
                let start = last.map_or(0, |p| p + 8);
                last = Some(start);
                for (word, offset) in positioned_words(&t) {
                    tokens.push((word, start + offset));
                    last = Some(start + offset);
                }
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
                hits.places.push((attr, *pos, m.typos, m.exact));
                hits.min_typos = hits.min_typos.min(m.typos);
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

/// milli's `bucketed_position`: word positions are stored exactly up to
/// 15, then in buckets (16..24 become 24, then powers of two).
fn bucketed_position(pos: usize) -> usize {
    if pos < 16 {
        pos
    } else if pos < 24 {
        24
    } else {
        pos.next_power_of_two()
    }
}

/// milli's proximity between two word positions in one attribute
/// (`index_proximity`, capped at `MAX_DISTANCE`, 4).
fn proximity(left: usize, right: usize) -> usize {
    if left <= right {
        (right - left).min(4)
    } else {
        (left - right + 1).min(4)
    }
}

/// Proximity cost of two consecutive query words: proximity - 1 for the
/// closest pair in one attribute (0 when adjacent in order), 3 when they are
/// never within 3 words of each other in one attribute.
fn pair_cost(left: &[(usize, usize)], right: &[(usize, usize)]) -> u64 {
    let mut best = 3u64;
    for (la, lp) in left {
        for (ra, rp) in right {
            if la == ra {
                // a token matching both words has no proximity in milli
                let p = proximity(*lp, *rp);
                if p > 0 {
                    best = best.min(p as u64 - 1);
                }
            }
        }
    }
    best
}

/// The most typos milli's typo graph counts for these consecutive query
/// words, whose own maxima are `costs`. With `ngrams` (strategy `all` and no
/// graph rule before `typo` to prune the query graph), a 2- or 3-gram of
/// consecutive words may cost more: 1 per word plus the concatenation's
/// budget less 1 per extra word, at least 1.
fn max_typos(words: &[&str], costs: &[u64], rules: TypoRules, ngrams: bool) -> u64 {
    let mut best = vec![0u64; words.len() + 1];
    for j in 1..=words.len() {
        best[j] = best[j - 1] + costs[j - 1];
        if ngrams {
            for m in 2..=j.min(3) {
                let concat = words[j - m..j].concat();
                let typos = rules.budget(&concat).saturating_sub(m - 1).max(1);
                best[j] = best[j].max(best[j - m] + (m + typos) as u64);
            }
        }
    }
    best[words.len()]
}

/// Where a document holds each query word as typed (exactly, no typo, not
/// only as a prefix): what the `exactness` rule looks at.
#[derive(Debug, Clone, Default)]
struct ExactInfo {
    /// Per query word, the attributes holding it.
    in_fields: Vec<Vec<usize>>,
    /// Per query word, whether some attribute holds it at the word's
    /// position in the query (positions bucketed as milli stores them).
    at_position: Vec<bool>,
    /// Per attribute, its number of words.
    lengths: Vec<usize>,
}

fn exact_info(fields: &[Field], words: &[String]) -> ExactInfo {
    let mut info = ExactInfo {
        in_fields: vec![Vec::new(); words.len()],
        at_position: vec![false; words.len()],
        lengths: fields.iter().map(|f| f.tokens.len()).collect(),
    };
    for (f, field) in fields.iter().enumerate() {
        for (token, pos) in &field.tokens {
            for (i, word) in words.iter().enumerate() {
                if token == word {
                    if info.in_fields[i].last() != Some(&f) {
                        info.in_fields[i].push(f);
                    }
                    if bucketed_position(*pos) == bucketed_position(i) {
                        info.at_position[i] = true;
                    }
                }
            }
        }
    }
    info
}

/// milli's `ExactAttribute` for the query words `exact` (the kept words
/// that have an exact form, in query order): they must be the query's
/// first words without a hole, each at its query position in some
/// attribute, and one attribute must hold them all — `Exact` when it has no
/// other word, else `Start`.
fn match_type(info: &ExactInfo, exact: &[usize]) -> MatchType {
    let no_hole = exact.first() == Some(&0) && exact.windows(2).all(|w| w[1] == w[0] + 1);
    if !no_hole || !exact.iter().all(|i| info.at_position[*i]) {
        return MatchType::NoExact;
    }
    let mut found = MatchType::NoExact;
    for (f, length) in info.lengths.iter().enumerate() {
        if exact.iter().all(|i| info.in_fields[*i].contains(&f)) {
            if *length == exact.len() {
                return MatchType::Exact;
            }
            found = MatchType::Start;
        }
    }
    found
}

/// A word on a hit's path through the query graph, as far as the rules
/// narrowed it: `levels` is the typo count its matches keep after `typo`,
/// `exact_only` whether only its matches as typed remain after `exactness`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct PathWord {
    word: usize,
    typos: Option<usize>,
    exact_only: bool,
}

impl PathWord {
    /// Whether a match (with `typos`, `exact` or not) is still looked at.
    fn keeps(&self, typos: usize, exact: bool) -> bool {
        self.typos.is_none_or(|t| t == typos) && (exact || !self.exact_only)
    }
}

/// One hit while the rules run.
struct DocState<'d> {
    internal: u32,
    doc: &'d Document,
    exact_at: &'d ExactInfo,
    /// The words kept, in query order, with their matches.
    kept: Vec<(usize, &'d WordHits)>,
    /// Its path: the kept words as narrowed so far.
    path: Vec<PathWord>,
    details: Vec<Detail>,
    /// The bucket of hits tied with it on every rule so far.
    bucket: u32,
    /// The query graph the last graph rule handed on (index in the graphs).
    graph: usize,
}

/// The query graph a graph rule hands the next one for one bucket of hits:
/// the paths those hits took (milli builds it from the bucket's paths, so a
/// walk through it is one of them).
#[derive(Debug, Clone, Default)]
struct QueryGraph {
    paths: std::collections::BTreeSet<Vec<PathWord>>,
}

impl QueryGraph {
    /// The most a path costs; `cost` prices one path.
    fn max(&self, cost: impl Fn(&[PathWord]) -> u64) -> u64 {
        self.paths.iter().map(|p| cost(p)).max().unwrap_or(0)
    }
}

struct Scored {
    internal: u32,
    /// One outcome per ranking rule applied, in rule order.
    details: Vec<Detail>,
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
    let placeholder = n == 0;
    let displayed = settings.displayed();
    let resolved = resolve_rules(
        &ranking_rules,
        &sorts,
        placeholder,
        query.strategy,
        displayed.as_deref(),
    );
    let mut scored: Vec<(Scored, &Document)> = Vec::new();
    // per-document matches of each query word, and where it holds them as typed
    type DocHits<'d> = (u32, &'d Document, Vec<Option<WordHits>>, ExactInfo);
    let mut all_hits: Vec<DocHits> = Vec::new();
    let mut caches: Vec<MatchCache> = vec![MatchCache::new(); n];
    for (internal, doc) in &candidates {
        if placeholder {
            all_hits.push((**internal, doc, Vec::new(), ExactInfo::default()));
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
        let exact = exact_info(&fields, &words);
        all_hits.push((**internal, doc, hits, exact));
    }
    // whether each query word is in the index as typed (milli's exact term);
    // the candidates hold them all unless a filter or `attributesToSearchOn`
    // left documents out
    let mut in_index: Vec<bool> = (0..n)
        .map(|i| {
            all_hits
                .iter()
                .any(|(_, _, _, e)| !e.in_fields[i].is_empty())
        })
        .collect();
    if in_index.contains(&false)
        && resolved.contains(&Rule::Exactness)
        && (filter.is_some() || search_on != searchable)
    {
        'docs: for stored in index.docs.values() {
            for attr in &searchable {
                let mut texts = Vec::new();
                values_at(&stored.doc, attr)
                    .into_iter()
                    .for_each(|v| text_values(v, &mut texts));
                for token in texts.iter().flat_map(|t| tokenize(t)) {
                    for (found, word) in in_index.iter_mut().zip(&words) {
                        *found |= token == *word;
                    }
                    if !in_index.contains(&false) {
                        break 'docs;
                    }
                }
            }
        }
    }
    // the words rule's removal groups, in removal order; the last group is
    // never removed (milli's `removal_order_for_terms_matching_strategy_*`)
    let groups: Vec<Vec<usize>> = match query.strategy {
        Strategy::All => vec![(0..n).collect()],
        Strategy::Last => (0..n).rev().map(|i| vec![i]).collect(),
        Strategy::Frequency => {
            // documents of the whole index (filter aside) matching each word
            let mut freq = vec![0u64; n];
            let mut count = |hits: &[Option<WordHits>]| {
                for (f, h) in freq.iter_mut().zip(hits) {
                    *f += u64::from(h.is_some());
                }
            };
            if filter.is_none() {
                all_hits.iter().for_each(|(_, _, hits, _)| count(hits));
            } else {
                for stored in index.docs.values() {
                    let fields = fields_of(&stored.doc, &search_on);
                    let hits: Vec<Option<WordHits>> = alternatives
                        .iter()
                        .zip(caches.iter_mut())
                        .enumerate()
                        .map(|(i, (alts, cache))| {
                            let prefix = i + 1 == n && !ends_with_separator;
                            word_hits(&fields, alts, prefix, rules, cache)
                        })
                        .collect();
                    count(&hits);
                }
            }
            // a word no document has counts as the most frequent
            let freq: Vec<u64> = freq
                .into_iter()
                .map(|f| if f == 0 { u64::MAX } else { f })
                .collect();
            let mut by_freq: Vec<usize> = (0..n).collect();
            by_freq.sort_by_key(|i| std::cmp::Reverse(freq[*i]));
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for i in by_freq {
                match groups.last_mut() {
                    Some(g) if freq[g[0]] == freq[i] => g.push(i),
                    _ => groups.push(vec![i]),
                }
            }
            groups
        }
    };
    // each word's removal rank; the last group's words are never removed
    let mut removal = vec![0usize; n];
    for (rank, group) in groups.iter().enumerate() {
        for i in group {
            removal[*i] = rank;
        }
    }
    let mandatory = groups.len().saturating_sub(1);
    let words_max = (n + 1).saturating_sub(groups.last().map_or(1, Vec::len)) as u64;
    // attribute weights: the rank of the attribute in `searchableAttributes`
    // (0 for every attribute when it is `*`), kept by `attributesToSearchOn`
    let weights: Vec<u64> = search_on
        .iter()
        .map(|a| {
            settings
                .searchable()
                .and_then(|list| {
                    list.iter()
                        .position(|s| crate::settings::pattern_matches(s, a))
                })
                .unwrap_or(0) as u64
        })
        .collect();
    let max_weight = settings
        .searchable()
        .map_or(0, |list| list.len().saturating_sub(1) as u64);
    // milli's bucket sort: the rules run one after the other over every hit;
    // each graph rule hands the next one, per bucket of tied hits, the query
    // graph made of the paths those hits took, which sets the next rule's
    // maximum and which words have an exact form; a hit's own path narrows
    // the matches (typos, exact forms) the next rules look at
    let typo_ngrams = query.strategy == Strategy::All
        && resolved
            .iter()
            .take_while(|r| **r != Rule::Typo)
            .all(|r| matches!(r, Rule::Sort { .. }));
    let mut states: Vec<DocState> = Vec::new();
    for (internal, doc, hits, exact_at) in &all_hits {
        // The words kept, in query order. A document skips the words it lacks
        // (never a mandatory one), and, as milli's words graph does, a word
        // skipped drags along the later words of the query that are removed
        // before it; the words rule counts the words skipped.
        let mut skipped: Vec<bool> = hits.iter().map(Option::is_none).collect();
        if (0..n).any(|i| skipped[i] && removal[i] == mandatory) {
            continue;
        }
        for i in 0..n {
            if skipped[i] {
                for j in i + 1..n {
                    if removal[j] < removal[i] {
                        skipped[j] = true;
                    }
                }
            }
        }
        let kept: Vec<(usize, &WordHits)> = (0..n)
            .filter(|i| !skipped[*i])
            .filter_map(|i| hits[i].as_ref().map(|h| (i, h)))
            .collect();
        let path = kept
            .iter()
            .map(|(i, _)| PathWord {
                word: *i,
                typos: None,
                exact_only: false,
            })
            .collect();
        states.push(DocState {
            internal: *internal,
            doc,
            exact_at,
            kept,
            path,
            details: Vec::with_capacity(resolved.len() + 1),
            bucket: 0,
            graph: 0,
        });
    }
    // before any graph rule: the whole query
    let mut graphs = vec![QueryGraph {
        paths: [(0..n)
            .map(|word| PathWord {
                word,
                typos: None,
                exact_only: false,
            })
            .collect()]
        .into(),
    }];
    let budgets: Vec<u64> = words.iter().map(|w| rules.budget(w) as u64).collect();
    // a word's most typos: its budget, at least 1 (milli counts a split word
    // as a typo); narrowed to its exact form: 1 if too short for typos
    // (split), else 0
    let typo_cost = |w: &PathWord| {
        if w.exact_only {
            u64::from(budgets[w.word] == 0)
        } else {
            budgets[w.word].max(1)
        }
    };
    for rule in &resolved {
        // this rule's maximum per query graph
        let mut maxima: std::collections::HashMap<usize, u64> = Default::default();
        for st in &mut states {
            let g = &graphs[st.graph];
            // where each kept word matched, as far as its path narrowed it
            let places = |st: &DocState| -> Vec<Vec<(usize, usize)>> {
                st.kept
                    .iter()
                    .zip(&st.path)
                    .map(|((_, h), w)| {
                        h.places
                            .iter()
                            .filter(|p| w.keeps(p.2, p.3))
                            .map(|p| (p.0, p.1))
                            .collect()
                    })
                    .collect()
            };
            match rule {
                Rule::Words => st.details.push(Detail::Words {
                    matching: words_max - (n - st.kept.len()) as u64,
                    max: words_max,
                }),
                Rule::Typo => {
                    let max = *maxima.entry(st.graph).or_insert_with(|| {
                        if typo_ngrams {
                            let all: Vec<&str> = words.iter().map(String::as_str).collect();
                            // the whole query, n-grams included
                            let costs: Vec<u64> = (0..n).map(|w| budgets[w].max(1)).collect();
                            max_typos(&all, &costs, rules, true)
                        } else {
                            g.max(|p| p.iter().map(typo_cost).sum())
                        }
                    });
                    let count: u64 = st.kept.iter().map(|(_, h)| h.min_typos as u64).sum();
                    st.details.push(Detail::Typo {
                        count: count.min(max),
                        max,
                    });
                    for ((_, h), w) in st.kept.iter().zip(&mut st.path) {
                        w.typos = Some(h.min_typos);
                    }
                }
                Rule::Proximity => {
                    let at = places(st);
                    let mut cost = 0u64;
                    for j in 1..st.kept.len() {
                        if st.kept[j].0 == st.kept[j - 1].0 + 1 {
                            cost += pair_cost(&at[j - 1], &at[j]);
                        }
                    }
                    let max = *maxima.entry(st.graph).or_insert_with(|| {
                        g.max(|p| {
                            3 * p.windows(2).filter(|w| w[1].word == w[0].word + 1).count() as u64
                        }) + 1
                    });
                    st.details.push(Detail::Proximity(Rank {
                        rank: max - cost.min(max - 1),
                        max,
                    }));
                }
                Rule::Fid => {
                    let cost: u64 = places(st)
                        .iter()
                        .map(|at| {
                            at.iter()
                                .map(|p| weights.get(p.0).copied().unwrap_or(0))
                                .min()
                                .unwrap_or(0)
                        })
                        .sum();
                    let max = *maxima
                        .entry(st.graph)
                        .or_insert_with(|| g.max(|p| p.len() as u64 * max_weight) + 1);
                    st.details.push(Detail::Fid(Rank {
                        rank: max - cost.min(max - 1),
                        max,
                    }));
                }
                Rule::Position => {
                    let cost: u64 = st
                        .kept
                        .iter()
                        .zip(places(st))
                        .map(|((i, _), at)| {
                            at.iter()
                                .map(|p| position_cost(bucketed_position(p.1).abs_diff(*i)))
                                .min()
                                .unwrap_or(10)
                        })
                        .sum();
                    let max = *maxima
                        .entry(st.graph)
                        .or_insert_with(|| g.max(|p| 10 * p.len() as u64) + 1);
                    st.details.push(Detail::Position(Rank {
                        rank: max - cost.min(max - 1),
                        max,
                    }));
                }
                Rule::Exactness => {
                    // the graph's words with an exact form: in the index as
                    // typed, on some path not narrowed to typo matches
                    let mut exact_terms: Vec<usize> = g
                        .paths
                        .iter()
                        .flatten()
                        .filter(|w| in_index[w.word] && w.typos.is_none_or(|t| t == 0))
                        .map(|w| w.word)
                        .collect();
                    exact_terms.sort_unstable();
                    exact_terms.dedup();
                    let t = match_type(st.exact_at, &exact_terms);
                    // on its path, a word the document holds as typed takes
                    // the exact edge (and keeps only its exact matches)
                    let mut inexact = 0u64;
                    for w in &mut st.path {
                        w.exact_only = exact_terms.contains(&w.word)
                            && w.typos.is_none_or(|t| t == 0)
                            && !st.exact_at.in_fields[w.word].is_empty();
                        inexact += u64::from(!w.exact_only);
                    }
                    let max = *maxima
                        .entry(st.graph)
                        .or_insert_with(|| g.max(|p| p.len() as u64));
                    st.details.push(Detail::ExactAttribute(t));
                    st.details.push(Detail::ExactWords {
                        matching: max - inexact.min(max),
                        max,
                    });
                }
                Rule::Sort { by, redacted } => st.details.push(Detail::Sort {
                    field: by.field.clone(),
                    ascending: by.ascending,
                    redacted: *redacted,
                    value: sort::value(st.doc, by),
                }),
            }
        }
        // the buckets: hits tied on every rule so far
        let added = match rule {
            Rule::Exactness => 2,
            _ => 1,
        };
        let mut ids: std::collections::HashMap<(u32, String), u32> = Default::default();
        for st in &mut states {
            let key = (
                st.bucket,
                format!("{:?}", &st.details[st.details.len() - added..]),
            );
            let next = ids.len() as u32;
            st.bucket = *ids.entry(key).or_insert(next);
        }
        if matches!(rule, Rule::Sort { .. }) {
            continue;
        }
        // a graph rule: each bucket's graph is made of its hits' paths
        let mut made: std::collections::HashMap<u32, usize> = Default::default();
        for st in &mut states {
            let at = *made.entry(st.bucket).or_insert_with(|| {
                graphs.push(QueryGraph::default());
                graphs.len() - 1
            });
            graphs[at].paths.insert(st.path.clone());
            st.graph = at;
        }
    }
    for st in states {
        scored.push((
            Scored {
                internal: st.internal,
                details: st.details,
            },
            st.doc,
        ));
    }
    // Meilisearch's bucket order over the details, then internal ids
    scored.sort_by(|(a, _), (b, _)| {
        ranking::compare(&a.details, &b.details).then(a.internal.cmp(&b.internal))
    });

    // ranking score threshold, distinct
    let score_of = |s: &Scored| ranking::global_score(&s.details);
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

    let separated = ranking::separated(&ranking_rules);
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
            if query.show_ranking_score_details {
                hit.insert(
                    "_rankingScoreDetails".into(),
                    Value::Object(ranking::to_json(&s.details, separated)),
                );
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

    fn details(hit: &Value) -> Vec<(String, Value)> {
        hit["_rankingScoreDetails"]
            .as_object()
            .expect("details")
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn keys(map: &Value) -> Vec<String> {
        map.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn keyword_query_details_have_meilisearch_shape() {
        let idx = index(
            json!([
                {"id": 1, "title": "The Hobbit", "genre": "fantasy"},
                {"id": 2, "title": "The Lord of the Rings", "genre": "fantasy"},
                {"id": 3, "title": "Hobbits and rings", "genre": "essay"}
            ]),
            json!({"searchableAttributes": ["title", "genre"]}),
        );
        let res = search(
            &idx,
            json!({"q": "the hobit", "showRankingScoreDetails": true, "showRankingScore": true}),
        );
        // "Hobbits and rings" lacks "the", the first query word
        assert_eq!(ids(&res), vec![1, 2]);
        let first = &res["hits"][0];
        // `_rankingScore` comes before `_rankingScoreDetails`, both after the document
        assert_eq!(
            keys(first),
            vec![
                "id",
                "title",
                "genre",
                "_rankingScore",
                "_rankingScoreDetails"
            ]
        );
        let d = &first["_rankingScoreDetails"];
        // the default rules name attributeRank and wordPosition apart
        assert_eq!(
            keys(d),
            vec![
                "words",
                "typo",
                "proximity",
                "attributeRank",
                "wordPosition",
                "exactness"
            ]
        );
        assert_eq!(
            d["words"],
            json!({"order": 0, "matchingWords": 2, "maxMatchingWords": 2, "score": 1.0})
        );
        // "the" (3 letters) may still be split, so it counts 1 typo in the maximum
        assert_eq!(
            d["typo"],
            json!({"order": 1, "typoCount": 1, "maxTypoCount": 2, "score": 2.0 / 3.0})
        );
        assert_eq!(keys(&d["proximity"]), vec!["order", "score"]);
        assert_eq!(d["attributeRank"], json!({"order": 3, "score": 1.0}));
        assert_eq!(d["exactness"]["order"], 5);
        // no document holds "hobit" as typed, so only "the" has an exact form
        // (as in milli), and "The Hobbit" starts with it
        assert_eq!(
            d["exactness"],
            json!({"order": 5, "matchType": "matchesStart", "score": 2.0 / 3.0})
        );
        // "The Lord of the Rings" matches "the" only
        let second = &res["hits"][1]["_rankingScoreDetails"];
        assert_eq!(
            second["words"],
            json!({"order": 0, "matchingWords": 1, "maxMatchingWords": 2, "score": 0.5})
        );
        assert_eq!(second["typo"]["maxTypoCount"], 1);
        assert_eq!(second["exactness"]["matchType"], "matchesStart");
    }

    #[test]
    fn placeholder_details_list_only_sort_rules() {
        let res = search(
            &movies(),
            json!({"showRankingScoreDetails": true, "showRankingScore": true}),
        );
        for hit in res["hits"].as_array().unwrap() {
            assert_eq!(hit["_rankingScoreDetails"], json!({}));
            assert_eq!(hit["_rankingScore"], 1.0);
        }
        let res = search(
            &movies(),
            json!({"sort": ["year:asc"], "showRankingScoreDetails": true, "limit": 2}),
        );
        assert_eq!(ids(&res), vec![1, 5]);
        assert_eq!(
            res["hits"][0]["_rankingScoreDetails"],
            json!({"year:asc": {"order": 0, "value": 1937.0}})
        );
        // no details unless asked
        let res = search(&movies(), json!({"q": "dune"}));
        assert!(res["hits"][0].get("_rankingScoreDetails").is_none());
    }

    #[test]
    fn sorted_query_details_carry_the_sort_values() {
        let idx = index(
            json!([
                {"id": 1, "title": "ring one", "year": 1990},
                {"id": 2, "title": "ring two"},
                {"id": 3, "title": "ring three", "year": "MCMXC"},
                {"id": 4, "title": "ring four", "year": [1980, 2001]}
            ]),
            json!({"sortableAttributes": ["year"]}),
        );
        let res = search(
            &idx,
            json!({"q": "ring", "sort": ["year:desc"], "showRankingScoreDetails": true}),
        );
        // numbers (largest first), then strings, then documents without a value
        assert_eq!(ids(&res), vec![4, 1, 3, 2]);
        let values: Vec<Value> = res["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_rankingScoreDetails"]["year:desc"].clone())
            .collect();
        assert_eq!(
            values,
            vec![
                json!({"order": 4, "value": 2001.0}),
                json!({"order": 4, "value": 1990.0}),
                json!({"order": 4, "value": "mcmxc"}),
                json!({"order": 4, "value": null}),
            ]
        );
        // the sort rule sits where `sort` is in the ranking rules
        assert_eq!(
            keys(&res["hits"][0]["_rankingScoreDetails"]),
            vec![
                "words",
                "typo",
                "proximity",
                "attributeRank",
                "year:desc",
                "wordPosition",
                "exactness"
            ]
        );
        // a sorted field missing from displayedAttributes is redacted
        let mut hidden = idx;
        hidden.settings.apply(
            json!({"displayedAttributes": ["id", "title"]})
                .as_object()
                .unwrap(),
        );
        let res = search(
            &hidden,
            json!({"sort": ["year:asc"], "showRankingScoreDetails": true}),
        );
        assert_eq!(ids(&res), vec![4, 1, 3, 2]);
        assert_eq!(
            res["hits"][0]["_rankingScoreDetails"],
            json!({"<hidden-rule-0>": {"order": 0, "value": "<hidden>"}})
        );
    }

    #[test]
    fn custom_rule_index_details_follow_the_rules_order() {
        let mut idx = movies();
        idx.settings.apply(
            json!({"rankingRules": ["year:desc", "typo", "words", "sort", "attribute", "exactness", "title:asc"]})
                .as_object()
                .unwrap(),
        );
        let res = search(
            &idx,
            json!({"q": "the", "sort": ["year:asc"], "showRankingScoreDetails": true, "showRankingScore": true}),
        );
        // year:desc decides first; the `sort` parameter names year again and is skipped
        assert_eq!(ids(&res), vec![2, 4, 1]);
        let d = &res["hits"][1]["_rankingScoreDetails"];
        assert_eq!(
            keys(d),
            vec![
                "year:desc",
                "words",
                "typo",
                "attribute",
                "exactness",
                "title:asc"
            ]
        );
        assert_eq!(d["year:desc"], json!({"order": 0, "value": 1954.0}));
        // `attribute` is one object: attribute rank, then word position
        assert_eq!(
            keys(&d["attribute"]),
            vec![
                "order",
                "attributeRankingOrderScore",
                "queryWordDistanceScore",
                "score"
            ]
        );
        assert_eq!(d["attribute"]["order"], 3);
        assert_eq!(d["exactness"]["matchType"], "matchesStart");
        assert_eq!(keys(&d["exactness"]), vec!["order", "matchType", "score"]);
        assert_eq!(
            d["title:asc"],
            json!({"order": 5, "value": "the lord of the rings"})
        );
        // `all`: no words rule
        let res = search(
            &idx,
            json!({"q": "the", "matchingStrategy": "all", "showRankingScoreDetails": true}),
        );
        assert!(res["hits"][0]["_rankingScoreDetails"]
            .get("words")
            .is_none());
    }

    /// A deterministic xorshift generator, so the property test needs no crate.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
        fn chance(&mut self, percent: u64) -> bool {
            self.next() % 100 < percent
        }
    }

    const VOCAB: [&str; 12] = [
        "ring", "rings", "lord", "the", "hobbit", "dark", "dragon", "tolkien", "world", "road",
        "roads", "king",
    ];

    fn random_text(g: &mut Gen, max_words: usize) -> String {
        let n = 1 + g.below(max_words);
        (0..n)
            .map(|_| *g.pick(&VOCAB))
            .collect::<Vec<_>>()
            .join(if g.chance(20) { ", " } else { " " })
    }

    fn random_sort_value(g: &mut Gen) -> Option<Value> {
        match g.below(6) {
            0 => None,
            1 => Some(json!(g.below(5))),
            2 => Some(json!(g.below(5) as f64 + 0.5)),
            3 => Some(json!(*g.pick(&["Alpha", "beta", "Gamma", " delta ", "10"]))),
            4 => Some(json!([g.below(9), *g.pick(&["x", "B"])])),
            _ => Some(json!(null)),
        }
    }

    fn random_case(g: &mut Gen) -> (Index, Value) {
        let docs: Vec<Value> = (0..5 + g.below(20))
            .map(|id| {
                let mut doc = Map::new();
                doc.insert("id".into(), json!(id));
                doc.insert("title".into(), json!(random_text(g, 5)));
                if g.chance(70) {
                    doc.insert("body".into(), json!(random_text(g, 10)));
                }
                for field in ["n", "s"] {
                    if let Some(v) = random_sort_value(g) {
                        doc.insert(field.into(), v);
                    }
                }
                Value::Object(doc)
            })
            .collect();
        let mut rules: Vec<&str> = vec!["words", "typo", "proximity", "sort", "exactness"];
        if g.chance(50) {
            rules.push("attribute");
        } else {
            rules.extend(["attributeRank", "wordPosition"]);
        }
        if g.chance(40) {
            rules.push(*g.pick(&["n:desc", "n:asc", "s:asc", "s:desc"]));
        }
        // shuffle, then sometimes drop some rules
        for i in (1..rules.len()).rev() {
            let j = g.below(i + 1);
            rules.swap(i, j);
        }
        let keep = 1 + g.below(rules.len());
        rules.truncate(keep.max(rules.len() / 2));
        if !rules.contains(&"sort") {
            rules.push("sort");
        }
        let searchable = g
            .pick(&[
                json!(["*"]),
                json!(["title", "body"]),
                json!(["body", "title"]),
            ])
            .clone();
        let idx = index(
            Value::Array(docs),
            json!({"rankingRules": rules, "sortableAttributes": ["n", "s"], "searchableAttributes": searchable}),
        );
        let mut body = Map::new();
        if g.chance(85) {
            let words: Vec<String> = (0..1 + g.below(3))
                .map(|_| {
                    let w = *g.pick(&VOCAB);
                    match g.below(4) {
                        // a typo, a prefix, or the word itself
                        0 if w.len() > 4 => format!("{}{}", &w[..1], &w[2..]),
                        1 => w[..w.len().min(3)].to_string(),
                        _ => w.to_string(),
                    }
                })
                .collect();
            body.insert("q".into(), json!(words.join(" ")));
        }
        body.insert(
            "matchingStrategy".into(),
            json!(*g.pick(&["last", "all", "frequency"])),
        );
        if g.chance(50) {
            let sorts: Vec<&str> = (0..1 + g.below(2))
                .map(|_| *g.pick(&["n:asc", "n:desc", "s:asc", "s:desc"]))
                .collect();
            body.insert("sort".into(), json!(sorts));
        }
        if g.chance(20) {
            body.insert("attributesToSearchOn".into(), json!(["body"]));
        }
        body.insert("limit".into(), json!(1000));
        body.insert("showRankingScore".into(), json!(true));
        body.insert("showRankingScoreDetails".into(), json!(true));
        (idx, Value::Object(body))
    }

    /// A consumer's reading of `_rankingScoreDetails`, written apart from
    /// `ranking.rs`: `Less` when `a` ranks first.
    fn compare_by_details(a: &Value, b: &Value) -> Ordering {
        fn in_order(hit: &Value) -> Vec<(String, Value)> {
            let mut rules = details(hit);
            rules.sort_by_key(|(_, v)| v["order"].as_u64().unwrap());
            rules
        }
        fn f(v: &Value, key: &str) -> f64 {
            v[key].as_f64().unwrap()
        }
        fn u(v: &Value, key: &str) -> u64 {
            v[key].as_u64().unwrap()
        }
        // higher first
        fn desc(x: f64, y: f64) -> Ordering {
            y.partial_cmp(&x).unwrap()
        }
        fn sort_class(v: &Value) -> u8 {
            match v {
                Value::Number(_) => 0,
                Value::String(_) => 1,
                _ => 2,
            }
        }
        let (ra, rb) = (in_order(a), in_order(b));
        assert_eq!(
            ra.len(),
            rb.len(),
            "hits of one search apply the same rules"
        );
        for ((name, x), (other, y)) in ra.iter().zip(&rb) {
            assert_eq!(name, other);
            let o = match name.as_str() {
                "words" => (u(x, "maxMatchingWords") - u(x, "matchingWords"))
                    .cmp(&(u(y, "maxMatchingWords") - u(y, "matchingWords"))),
                "typo" => u(x, "typoCount").cmp(&u(y, "typoCount")),
                "proximity" | "attributeRank" | "wordPosition" => {
                    desc(f(x, "score"), f(y, "score"))
                }
                "attribute" => desc(
                    f(x, "attributeRankingOrderScore"),
                    f(y, "attributeRankingOrderScore"),
                )
                .then(desc(
                    f(x, "queryWordDistanceScore"),
                    f(y, "queryWordDistanceScore"),
                )),
                "exactness" => {
                    let t = |v: &Value| match v["matchType"].as_str().unwrap() {
                        "exactMatch" => 0,
                        "matchesStart" => 1,
                        _ => 2,
                    };
                    t(x).cmp(&t(y)).then_with(|| {
                        match (x.get("matchingWords"), y.get("matchingWords")) {
                            (Some(_), Some(_)) => (u(x, "maxMatchingWords")
                                - u(x, "matchingWords"))
                            .cmp(&(u(y, "maxMatchingWords") - u(y, "matchingWords"))),
                            _ => desc(f(x, "score"), f(y, "score")),
                        }
                    })
                }
                sort_rule => {
                    let ascending = sort_rule.ends_with(":asc");
                    let (vx, vy) = (&x["value"], &y["value"]);
                    let o = sort_class(vx).cmp(&sort_class(vy));
                    match (vx, vy) {
                        (Value::Number(p), Value::Number(q)) => {
                            let o = p.as_f64().partial_cmp(&q.as_f64()).unwrap();
                            if ascending {
                                o
                            } else {
                                o.reverse()
                            }
                        }
                        (Value::String(p), Value::String(q)) => {
                            let o = p.as_bytes().cmp(q.as_bytes());
                            if ascending {
                                o
                            } else {
                                o.reverse()
                            }
                        }
                        _ => o,
                    }
                }
            };
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
    }

    #[test]
    fn hits_sorted_by_their_details_keep_the_double_order() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for case in 0..400 {
            let (idx, body) = random_case(&mut g);
            let q = SearchQuery::from_body(body.as_object().unwrap()).unwrap();
            let res = execute(&idx, &q, Instant::now()).unwrap();
            let hits = res["hits"].as_array().unwrap().clone();
            // documents are inserted in id order: ties go to the smaller id
            let mut resorted = hits.clone();
            resorted.sort_by(|a, b| {
                compare_by_details(a, b).then(a["id"].as_u64().cmp(&b["id"].as_u64()))
            });
            let got: Vec<&Value> = hits.iter().map(|h| &h["id"]).collect();
            let want: Vec<&Value> = resorted.iter().map(|h| &h["id"]).collect();
            assert_eq!(got, want, "case {case}: {body}");
            // equal details, equal score; scores in [0, 1]
            for w in hits.windows(2) {
                let score = |h: &Value| h["_rankingScore"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&score(&w[0])));
                if w[0]["_rankingScoreDetails"] == w[1]["_rankingScoreDetails"] {
                    assert_eq!(score(&w[0]), score(&w[1]), "case {case}: {body}");
                }
            }
            // paging and the score threshold work on that order
            let mut paged = body.clone();
            let (offset, limit) = (g.below(5), 1 + g.below(5));
            paged["offset"] = json!(offset);
            paged["limit"] = json!(limit);
            let threshold = g.below(10) as f64 / 10.0;
            paged["rankingScoreThreshold"] = json!(threshold);
            let q = SearchQuery::from_body(paged.as_object().unwrap()).unwrap();
            let window = execute(&idx, &q, Instant::now()).unwrap();
            let want: Vec<Value> = hits
                .iter()
                .filter(|h| h["_rankingScore"].as_f64().unwrap() >= threshold)
                .skip(offset)
                .take(limit)
                .cloned()
                .collect();
            assert_eq!(window["hits"], Value::Array(want), "case {case}: {paged}");
            checked += hits.len();
        }
        assert!(checked > 1000, "the cases found too few hits: {checked}");
    }

    #[test]
    fn words_after_a_hard_separator_are_8_positions_further() {
        let at = |text: &str| -> Vec<usize> {
            positioned_words(text).into_iter().map(|(_, p)| p).collect()
        };
        // recorded from Meilisearch 1.50's wordPosition scores
        assert_eq!(at("x. y"), vec![0, 8]);
        assert_eq!(at("x.y"), vec![0, 1]);
        assert_eq!(at("x , y; z - w"), vec![0, 8, 16, 17]);
        assert_eq!(at("J. R. R. Tolkien"), vec![0, 8, 16, 24]);
        assert_eq!(at("  ¿que?"), vec![0]);
        assert_eq!(
            positioned_words("Philosopher's Stone")[1],
            ("s".to_string(), 1)
        );
        // array values: 8 after the previous value's last word
        let idx = index(json!([{"id": 1, "t": ["a b", "", "c"]}]), json!({}));
        let fields = fields_of(&idx.docs.values().next().unwrap().doc, &["t".into()]);
        assert_eq!(fields[0].tokens[2], ("c".to_string(), 17));
    }

    #[test]
    fn skipping_a_word_skips_the_later_words_removed_before_it() {
        // apple in 5 documents, berry in 4, cherry in 2: `frequency` removes
        // apple, then berry, and never cherry
        let idx = index(
            json!([
                {"id": 1, "t": "apple berry cherry"},
                {"id": 2, "t": "apple berry"},
                {"id": 3, "t": "apple cherry"},
                {"id": 4, "t": "berry"},
                {"id": 5, "t": "apple"},
                {"id": 6, "t": "apple"},
                {"id": 7, "t": "berry"}
            ]),
            json!({}),
        );
        let res = search(
            &idx,
            json!({"q": "berry apple cherry", "matchingStrategy": "frequency", "showRankingScoreDetails": true}),
        );
        assert_eq!(ids(&res), vec![1, 3]);
        // document 3 lacks berry; skipping it skips apple too, removed before
        // it though later in the query (milli's words graph)
        let words: Vec<&Value> = res["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| &h["_rankingScoreDetails"]["words"])
            .collect();
        assert_eq!(
            words,
            vec![
                &json!({"order": 0, "matchingWords": 3, "maxMatchingWords": 3, "score": 1.0}),
                &json!({"order": 0, "matchingWords": 1, "maxMatchingWords": 3, "score": 1.0 / 3.0}),
            ]
        );
    }
}
