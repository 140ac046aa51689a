//! Where query words match in a document (positions, typos, exact forms)
//! and the per-hit state milli's bucket sort threads through the rules.

use serde_json::Value;

use crate::filter::values_at;
use crate::payload::Document;
use crate::ranking::{Detail, MatchType};
use crate::text::{match_word, TypoRules, WordMatch};

/// Every place one query word matched in a document.
#[derive(Debug, Clone, Default)]
pub(crate) struct WordHits {
    /// (attribute index, position in the attribute, typos, exact)
    pub(crate) places: Vec<(usize, usize, usize, bool)>,
    pub(crate) min_typos: usize,
}

/// A searchable attribute's tokens with their positions.
pub(crate) struct Field {
    pub(crate) tokens: Vec<(String, usize)>,
}

pub(crate) fn text_values(v: &Value, out: &mut Vec<String>) {
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
pub(crate) fn positioned_words(text: &str) -> Vec<(String, usize)> {
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

pub(crate) fn fields_of(doc: &Document, attrs: &[String]) -> Vec<Field> {
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
pub(crate) type MatchCache = std::collections::HashMap<String, Option<WordMatch>>;

pub(crate) fn word_hits(
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
pub(crate) fn position_cost(distance: usize) -> u64 {
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
pub(crate) fn bucketed_position(pos: usize) -> usize {
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
pub(crate) fn proximity(left: usize, right: usize) -> usize {
    if left <= right {
        (right - left).min(4)
    } else {
        (left - right + 1).min(4)
    }
}

/// Proximity cost of two consecutive query words: proximity - 1 for the
/// closest pair in one attribute (0 when adjacent in order), 3 when they are
/// never within 3 words of each other in one attribute.
pub(crate) fn pair_cost(left: &[(usize, usize)], right: &[(usize, usize)]) -> u64 {
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
pub(crate) fn max_typos(words: &[&str], costs: &[u64], rules: TypoRules, ngrams: bool) -> u64 {
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
pub(crate) struct ExactInfo {
    /// Per query word, the attributes holding it.
    pub(crate) in_fields: Vec<Vec<usize>>,
    /// Per query word, whether some attribute holds it at the word's
    /// position in the query (positions bucketed as milli stores them).
    pub(crate) at_position: Vec<bool>,
    /// Per attribute, its number of words.
    pub(crate) lengths: Vec<usize>,
}

pub(crate) fn exact_info(fields: &[Field], words: &[String]) -> ExactInfo {
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
pub(crate) fn match_type(info: &ExactInfo, exact: &[usize]) -> MatchType {
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
pub(crate) struct PathWord {
    pub(crate) word: usize,
    pub(crate) typos: Option<usize>,
    pub(crate) exact_only: bool,
}

impl PathWord {
    /// Whether a match (with `typos`, `exact` or not) is still looked at.
    pub(crate) fn keeps(&self, typos: usize, exact: bool) -> bool {
        self.typos.is_none_or(|t| t == typos) && (exact || !self.exact_only)
    }
}

/// One hit while the rules run.
pub(crate) struct DocState<'d, 'i> {
    pub(crate) internal: u32,
    pub(crate) doc: &'i Document,
    pub(crate) exact_at: &'d ExactInfo,
    /// The words kept, in query order, with their matches.
    pub(crate) kept: Vec<(usize, &'d WordHits)>,
    /// Its path: the kept words as narrowed so far.
    pub(crate) path: Vec<PathWord>,
    pub(crate) details: Vec<Detail>,
    /// The bucket of hits tied with it on every rule so far.
    pub(crate) bucket: u32,
    /// The query graph the last graph rule handed on (index in the graphs).
    pub(crate) graph: usize,
}

/// The query graph a graph rule hands the next one for one bucket of hits:
/// the paths those hits took (milli builds it from the bucket's paths, so a
/// walk through it is one of them).
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryGraph {
    pub(crate) paths: std::collections::BTreeSet<Vec<PathWord>>,
}

impl QueryGraph {
    /// The most a path costs; `cost` prices one path.
    pub(crate) fn max(&self, cost: impl Fn(&[PathWord]) -> u64) -> u64 {
        self.paths.iter().map(|p| cost(p)).max().unwrap_or(0)
    }
}

pub struct Scored {
    pub internal: u32,
    /// One outcome per ranking rule applied, in rule order.
    pub details: Vec<Detail>,
}
