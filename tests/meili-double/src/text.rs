//! Text matching for search: tokenization on non-alphanumerics, lowercase,
//! and word matching with prefix and typo tolerance (Damerau-Levenshtein;
//! a typo on the first letter counts as two, as in Meilisearch).

use crate::params::osa_distance;

/// Lowercased alphanumeric tokens of a text.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Typo settings for one query word.
#[derive(Debug, Clone, Copy)]
pub struct TypoRules {
    pub enabled: bool,
    pub one_typo: usize,
    pub two_typos: usize,
}

impl TypoRules {
    /// How many typos a query word of this length may have.
    pub fn budget(&self, word: &str) -> usize {
        if !self.enabled {
            return 0;
        }
        let len = word.chars().count();
        if len >= self.two_typos {
            2
        } else if len >= self.one_typo {
            1
        } else {
            0
        }
    }
}

/// How a document token matched a query word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordMatch {
    pub typos: usize,
    /// Exact match of the whole token.
    pub exact: bool,
    /// Number of chars of the token that matched (for highlighting prefixes).
    pub matched_chars: usize,
}

fn distance(a: &str, b: &str) -> usize {
    let d = osa_distance(a, b);
    if d > 0 && a.chars().next() != b.chars().next() {
        d + 1
    } else {
        d
    }
}

/// Matches a document token against a query word (`prefix` for the last word).
pub fn match_word(query: &str, token: &str, prefix: bool, rules: TypoRules) -> Option<WordMatch> {
    if query == token {
        return Some(WordMatch {
            typos: 0,
            exact: true,
            matched_chars: token.chars().count(),
        });
    }
    let qlen = query.chars().count();
    if prefix && token.starts_with(query) {
        return Some(WordMatch {
            typos: 0,
            exact: false,
            matched_chars: qlen,
        });
    }
    let budget = rules.budget(query);
    if budget == 0 {
        return None;
    }
    let tlen = token.chars().count();
    if qlen.abs_diff(tlen) <= budget {
        let d = distance(query, token);
        if d <= budget {
            // milli highlights as many characters as the query word has
            return Some(WordMatch {
                typos: d,
                exact: false,
                matched_chars: qlen.min(tlen),
            });
        }
    }
    if prefix {
        let tchars: Vec<char> = token.chars().collect();
        let lo = qlen.saturating_sub(budget).max(1);
        let hi = (qlen + budget).min(tchars.len());
        let mut best: Option<(usize, usize)> = None;
        for len in lo..=hi {
            if len >= tchars.len() {
                continue;
            }
            let p: String = tchars[..len].iter().collect();
            let d = distance(query, &p);
            if d <= budget && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, len));
            }
        }
        if let Some((d, len)) = best {
            return Some(WordMatch {
                typos: d,
                exact: false,
                matched_chars: len,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: TypoRules = TypoRules {
        enabled: true,
        one_typo: 5,
        two_typos: 9,
    };

    #[test]
    fn tokenizes_on_non_alphanumerics() {
        assert_eq!(
            tokenize("Mad Max: Fury-Road!"),
            vec!["mad", "max", "fury", "road"]
        );
        assert_eq!(tokenize("Élan 2024"), vec!["élan", "2024"]);
    }

    #[test]
    fn typo_budget_grows_with_length() {
        assert_eq!(RULES.budget("dune"), 0);
        assert_eq!(RULES.budget("wondr"), 1);
        assert_eq!(RULES.budget("philosophy"), 2);
        assert_eq!(
            TypoRules {
                enabled: false,
                ..RULES
            }
            .budget("philosophy"),
            0
        );
    }

    #[test]
    fn matches_exact_prefix_and_typos() {
        assert!(match_word("wonder", "wonder", false, RULES).unwrap().exact);
        assert_eq!(
            match_word("won", "wonder", true, RULES)
                .unwrap()
                .matched_chars,
            3
        );
        assert!(match_word("won", "wonder", false, RULES).is_none());
        assert_eq!(
            match_word("wondr", "wonder", false, RULES).unwrap().typos,
            1
        );
        assert_eq!(
            match_word("hobit", "hobbit", false, RULES).unwrap().typos,
            1
        );
        assert!(match_word("dnue", "dune", false, RULES).is_none());
        // a typo on the first letter counts double
        assert!(match_word("xonder", "wonder", false, RULES).is_none());
        assert_eq!(
            match_word("philosofer", "philosopher", false, RULES)
                .unwrap()
                .typos,
            2
        );
        assert!(match_word("wondr", "wonderful", true, RULES).is_some());
    }
}
