//! Ranking: the query words, their matches in each candidate, and milli's
//! bucket sort over the ranking rules, giving each hit one [`Detail`] per
//! rule; then the ranking score threshold and distinct.

use std::collections::HashSet;

use crate::filter::{facets as facet_values, values_at};
use crate::payload::Document;
use crate::ranking::{self, resolve_rules, Detail, Rank, Rule};
use crate::sort;
use crate::store::Index;
use crate::text::{tokenize, TypoRules};

use super::matching::*;
use super::prepare::Plan;
use super::{SearchQuery, Strategy};

/// The hits of a search in ranking order, with what highlighting needs.
pub struct Ranked<'i> {
    pub hits: Vec<(Scored, &'i Document)>,
    pub words: Vec<String>,
    pub rules: TypoRules,
    pub q: String,
}

/// Ranks the documents of `index` matching the query and the plan's filter.
pub fn rank<'i>(index: &'i Index, query: &SearchQuery, plan: &Plan) -> Ranked<'i> {
    let settings = &index.settings;
    let Plan {
        filter,
        sorts,
        ranking_rules,
        distinct,
        searchable,
        search_on,
        ..
    } = plan;
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
        ranking_rules,
        sorts,
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
        let fields = fields_of(doc, search_on);
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
            for attr in searchable {
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
                    let fields = fields_of(&stored.doc, search_on);
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
        let mut seen = HashSet::new();
        scored.retain(|(_, doc)| {
            let values = facet_values(&values_at(doc, d));
            if values.is_empty() {
                return true;
            }
            let key = format!("{values:?}");
            seen.insert(key)
        });
    }
    Ranked {
        hits: scored,
        words,
        rules,
        q,
    }
}
