//! What an authenticated request may reach: the indexes of its API key and,
//! for a tenant token, its search rules (meilisearch-auth's `AuthFilter`).
//! The auth middleware puts one in every request's extensions; searches AND
//! the rules' filters into their own.

use serde_json::Value;

/// A tenant token's `searchRules`, or an API key's `indexes` as a set.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchRules {
    Set(Vec<String>),
    /// Index pattern → optional filter.
    Map(Vec<(String, Option<Value>)>),
}

/// An index uid pattern: exact, or a prefix ending in `*`.
pub fn pattern_matches(pattern: &str, index: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => index.starts_with(prefix),
        None => pattern == index,
    }
}

impl SearchRules {
    fn patterns(&self) -> Vec<&str> {
        match self {
            SearchRules::Set(s) => s.iter().map(String::as_str).collect(),
            SearchRules::Map(m) => m.iter().map(|(p, _)| p.as_str()).collect(),
        }
    }

    pub fn allows(&self, index: &str) -> bool {
        self.patterns().iter().any(|p| pattern_matches(p, index))
    }

    pub fn allows_all(&self) -> bool {
        self.patterns().contains(&"*")
    }

    /// The sorted list Meilisearch shows in its "allowed indexes" messages.
    pub fn listed(&self) -> Vec<String> {
        let mut v: Vec<String> = self.patterns().into_iter().map(str::to_string).collect();
        v.sort_unstable();
        v
    }

    /// The filter of the most specific pattern matching `index` (exact
    /// first, then the longest).
    fn filter(&self, index: &str) -> Option<Value> {
        match self {
            SearchRules::Set(_) => None,
            SearchRules::Map(m) => m
                .iter()
                .filter(|(p, _)| pattern_matches(p, index))
                .max_by_key(|(p, _)| (!p.ends_with('*'), p.len()))
                .and_then(|(_, f)| f.clone()),
        }
    }
}

/// The access of one request. The default (master key, or no master key)
/// reaches everything.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The API key's `indexes`; `None` for the master key.
    pub key_indexes: Option<SearchRules>,
    /// A tenant token's search rules.
    pub token_rules: Option<SearchRules>,
}

impl Access {
    /// Whether both the key and the token allow `index`.
    pub fn allows(&self, index: &str) -> bool {
        self.key_indexes.as_ref().is_none_or(|r| r.allows(index))
            && self.token_rules.as_ref().is_none_or(|r| r.allows(index))
    }

    /// Whether every index is reachable (no key or token restriction).
    pub fn all_indexes(&self) -> bool {
        let all = |r: &Option<SearchRules>| r.as_ref().is_none_or(|r| r.allows_all());
        all(&self.key_indexes) && all(&self.token_rules)
    }

    /// The filter a tenant token adds to searches of `index`.
    pub fn search_filter(&self, index: &str) -> Option<Value> {
        self.token_rules.as_ref().and_then(|r| r.filter(index))
    }

    /// `filter` ANDed with the token's filter for `index` (Meilisearch's
    /// `fuse_filters`: both as arrays, concatenated).
    pub fn fuse(&self, index: &str, filter: Option<Value>) -> Option<Value> {
        match (filter, self.search_filter(index)) {
            (None, right) => right,
            (left, None) => left,
            (Some(left), Some(right)) => {
                let as_list = |v: Value| match v {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                let mut all = as_list(left);
                all.extend(as_list(right));
                Some(Value::Array(all))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_filters_are_anded_and_the_most_specific_pattern_wins() {
        let access = Access {
            key_indexes: Some(SearchRules::Set(vec!["*".into()])),
            token_rules: Some(SearchRules::Map(vec![
                ("*".into(), Some(json!("a = 1"))),
                ("books".into(), Some(json!("b = 2"))),
                ("bo*".into(), None),
            ])),
        };
        assert!(access.allows("movies"));
        assert_eq!(access.fuse("movies", None), Some(json!("a = 1")));
        assert_eq!(
            access.fuse("books", Some(json!(["x = 1", "y = 2"]))),
            Some(json!(["x = 1", "y = 2", "b = 2"]))
        );
        assert_eq!(
            access.fuse("bob", Some(json!("x = 1"))),
            Some(json!("x = 1"))
        );
        let key_only = Access {
            key_indexes: Some(SearchRules::Set(vec!["mov*".into()])),
            token_rules: None,
        };
        assert!(key_only.allows("movies") && !key_only.allows("books"));
    }
}
