//! `_formatted`: retrieved values as text with the query words highlighted.

use serde_json::{Map, Value};

use super::SearchQuery;
use crate::payload::Document;
use crate::text::{match_word, TypoRules};

/// `_formatted`: every retrieved value as text, query words wrapped in highlight tags.
pub(crate) fn format_hit(
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

pub(crate) fn highlight_text(
    text: &str,
    words: &[String],
    rules: TypoRules,
    pre: &str,
    post: &str,
) -> String {
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
