//! Whether the queries of a federated search can be merged: Meilisearch's
//! `search/ranking_rules.rs`. Each query's ranking rules are canonicalized
//! (relevancy rules dropped for a placeholder search, `words` prepended or
//! dropped, duplicates and an unused `sort` removed, the `sort` parameter
//! expanded), consecutive relevancy rules coalesce, and two queries are
//! incompatible when, rule by rule, one has a relevancy rule where the other
//! sorts, or they sort in opposite directions. The error message is
//! Meilisearch's, canonicalization notes included. Geo sorts are not modelled.

use std::collections::HashMap;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Relevancy,
    Asc,
    Desc,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Criterion(usize),
    Coalesced(usize, usize),
    Sort { criterion: usize, sort: usize },
}

impl Source {
    fn position(&self) -> String {
        match self {
            Source::Criterion(i) => format!("#{i} in ranking rules"),
            Source::Coalesced(a, b) => format!("#{a} to #{b} in ranking rules"),
            Source::Sort { criterion, sort } => {
                format!("#{sort} in `query.sort` (as `sort` is #{criterion} in ranking rules)")
            }
        }
    }
}

/// One query's ranking rules, canonicalized.
pub struct Rules {
    source: Vec<String>,
    source_sort: Vec<String>,
    canonical: Vec<String>,
    canonical_sort: Vec<String>,
    notes: Vec<String>,
}

const RELEVANCY: [&str; 7] = [
    "words",
    "typo",
    "proximity",
    "attribute",
    "attributeRank",
    "wordPosition",
    "exactness",
];

fn sort_field(rule: &str) -> Option<(&str, Kind)> {
    rule.strip_suffix(":asc")
        .map(|f| (f, Kind::Asc))
        .or_else(|| rule.strip_suffix(":desc").map(|f| (f, Kind::Desc)))
}

impl Rules {
    fn name(&self, s: Source) -> String {
        match s {
            Source::Criterion(i) => self
                .source
                .get(i)
                .cloned()
                .unwrap_or_else(|| "unknown".into()),
            Source::Coalesced(a, b) => self
                .source
                .get(a..=b)
                .map(|r| r.join(", "))
                .unwrap_or_default(),
            Source::Sort { sort, .. } => self
                .source_sort
                .get(sort)
                .cloned()
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    fn note_duplicate(&mut self, earlier: Source, removed: Source) {
        let n = format!(
            "Removed duplicate rule `{}` at position {} as it already appears at position {}",
            self.name(earlier),
            removed.position(),
            earlier.position()
        );
        self.notes.push(format!("    {{}}. {n}"));
    }

    /// Canonicalizes `criteria` for a query (`placeholder`: no query words).
    pub fn new(criteria: &[String], sort: Option<&[String]>, placeholder: bool, all: bool) -> Self {
        let mut r = Rules {
            source: criteria.to_vec(),
            source_sort: sort.map(<[String]>::to_vec).unwrap_or_default(),
            canonical: Vec::new(),
            canonical_sort: Vec::new(),
            notes: Vec::new(),
        };
        let mut sorted: HashMap<String, Source> = HashMap::new();
        let mut sort_at: Option<usize> = None;
        let mut words: Option<Option<usize>> = None;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, c) in criteria.iter().enumerate() {
            let src = Source::Criterion(i);
            if RELEVANCY.contains(&c.as_str()) {
                if placeholder {
                    r.notes.push(format!("    {{}}. Removed relevancy rule `{c}` at position {} because the query is a placeholder search (`q`: \"\")", src.position()));
                    continue;
                }
                if c == "words" {
                    if all {
                        r.notes.push(format!("    {{}}. Removed rule `words` at position {} because `query.matchingWords` is set to `all`", src.position()));
                        continue;
                    }
                    if let Some(prev) = words {
                        if let Some(p) = prev {
                            r.note_duplicate(Source::Criterion(p), src);
                            continue;
                        }
                        r.notes.push(format!("    {{}}. Removed rule `words` at position {} because it was previously prepended", src.position()));
                    }
                    words = Some(Some(i));
                    r.canonical.push(c.clone());
                    continue;
                }
                if !all && words.is_none() {
                    r.notes.push(format!("    {{}}. Prepended rule `words` before first relevancy rule `{c}` at position {}", src.position()));
                    r.canonical.push("words".into());
                    words = Some(None);
                }
                match seen.get(c) {
                    Some(p) => r.note_duplicate(Source::Criterion(*p), src),
                    None => {
                        seen.insert(c.clone(), i);
                        r.canonical.push(c.clone());
                    }
                }
            } else if c == "sort" {
                if let Some(p) = sort_at {
                    r.note_duplicate(Source::Criterion(p), src);
                } else if let Some(query_sort) = sort {
                    sort_at = Some(i);
                    r.canonical.push(c.clone());
                    for (j, s) in query_sort.iter().enumerate() {
                        let field = sort_field(s).map_or(s.as_str(), |(f, _)| f).to_string();
                        let ssrc = Source::Sort {
                            criterion: i,
                            sort: j,
                        };
                        match sorted.get(&field) {
                            Some(earlier) => {
                                let earlier = *earlier;
                                r.note_duplicate(earlier, ssrc)
                            }
                            None => {
                                sorted.insert(field, ssrc);
                                r.canonical_sort.push(s.clone());
                            }
                        }
                    }
                } else {
                    // Meilisearch indents this note by three spaces
                    r.notes.push(format!(
                        "   {{}}. Removed rule `sort` at position {} because `query.sort` is empty",
                        src.position()
                    ));
                }
            } else {
                let field = sort_field(c).map_or(c.as_str(), |(f, _)| f).to_string();
                match sorted.get(&field) {
                    Some(earlier) => {
                        let earlier = *earlier;
                        r.note_duplicate(earlier, src)
                    }
                    None => {
                        sorted.insert(field, src);
                        r.canonical.push(c.clone());
                    }
                }
            }
        }
        r
    }

    /// The canonical rules, consecutive relevancy rules coalesced.
    fn coalesced(&self) -> Vec<(Source, Kind)> {
        let mut out: Vec<(Source, Kind)> = Vec::new();
        for (i, c) in self.canonical.iter().enumerate() {
            let items: Vec<(Source, Kind)> = if c == "sort" {
                self.canonical_sort
                    .iter()
                    .enumerate()
                    .map(|(j, s)| {
                        let kind = sort_field(s).map_or(Kind::Asc, |(_, k)| k);
                        (
                            Source::Sort {
                                criterion: i,
                                sort: j,
                            },
                            kind,
                        )
                    })
                    .collect()
            } else if RELEVANCY.contains(&c.as_str()) {
                vec![(Source::Criterion(i), Kind::Relevancy)]
            } else {
                vec![(
                    Source::Criterion(i),
                    sort_field(c).map_or(Kind::Asc, |(_, k)| k),
                )]
            };
            for (src, kind) in items {
                if kind == Kind::Relevancy {
                    if let Some((last, Kind::Relevancy)) = out.last_mut() {
                        let begin = match *last {
                            Source::Criterion(b) | Source::Coalesced(b, _) => b,
                            Source::Sort { .. } => i,
                        };
                        *last = Source::Coalesced(begin, i);
                        continue;
                    }
                }
                out.push((src, kind));
            }
        }
        out
    }

    /// How many coalesced rules constrain the order.
    pub fn constraints(&self) -> usize {
        self.coalesced().len()
    }

    fn describe(&self, src: Source, kind: Kind, query: usize, index: &str) -> String {
        let kind_name = match kind {
            Kind::Relevancy => "relevancy",
            Kind::Asc => "ascending sort",
            Kind::Desc => "descending sort",
        };
        let rules = match src {
            Source::Criterion(i) => self.canonical.get(i).cloned(),
            Source::Coalesced(a, b) => self.canonical.get(a..=b).map(|r| r.join(", ")),
            Source::Sort { sort, .. } => self
                .canonical_sort
                .get(sort)
                .and_then(|s| sort_field(s))
                .map(|(f, _)| format!("on field `{f}`")),
        }
        .unwrap_or_else(|| "default".into());
        let source = match src {
            Source::Criterion(i) => format!("`queries[{query}]`, `{index}.rankingRules[{i}]`"),
            Source::Coalesced(a, b) => {
                format!("`queries[{query}]`, `{index}.rankingRules[{a}..={b}]`")
            }
            Source::Sort { criterion, sort } => {
                format!("`queries[{query}].sort[{sort}]`, `{index}.rankingRules[{criterion}]`")
            }
        };
        format!("{source}: {kind_name} rule(s) {rules}")
    }

    fn notes(&self) -> String {
        self.notes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}\n", n.replacen("{}", &(i + 1).to_string(), 1)))
            .collect()
    }
}

/// A query's rules, with its position and index.
pub struct Query<'a> {
    pub rules: &'a Rules,
    pub position: usize,
    pub index: &'a str,
}

/// Meilisearch's `is_compatible_with` and its error message.
pub fn check(previous: &Query, current: &Query) -> Result<(), String> {
    let pairs = current
        .rules
        .coalesced()
        .into_iter()
        .zip(previous.rules.coalesced());
    for ((cs, ck), (ps, pk)) in pairs {
        if ck == pk {
            continue;
        }
        let reason = match (pk, ck) {
            (Kind::Relevancy, _) | (_, Kind::Relevancy) => {
                "cannot compare a relevancy rule with a sort rule"
            }
            _ => "cannot compare two sort rules in opposite directions",
        };
        let mut msg = String::new();
        let (p, c) = (previous.position, current.position);
        let _ = writeln!(
            msg,
            "The results of queries #{p} and #{c} are incompatible: "
        );
        let _ = writeln!(
            msg,
            "  1. {}",
            previous.rules.describe(ps, pk, p, previous.index)
        );
        let _ = writeln!(
            msg,
            "  2. {}",
            current.rules.describe(cs, ck, c, current.index)
        );
        let _ = writeln!(msg, "  - {reason}");
        if !previous.rules.notes.is_empty() {
            let _ = write!(msg, "  - note: The ranking rules of query #{p} were modified during canonicalization:\n{}", previous.rules.notes());
        }
        if !current.rules.notes.is_empty() {
            let _ = write!(msg, "  - note: The ranking rules of query #{c} were modified during canonicalization:\n{}", current.rules.notes());
        }
        return Err(msg);
    }
    Ok(())
}
