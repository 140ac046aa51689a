//! Meilisearch filter expressions: a parser for the filter syntax (with
//! error messages and `start:end filter` positions like milli's
//! filter-parser) and an evaluator over stored documents.
//!
//! Supported: `=`, `!=`, `>`, `>=`, `<`, `<=`, `a TO b`, `IN [..]`, `NOT IN`,
//! `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `IS EMPTY`,
//! `IS NOT EMPTY`, `CONTAINS`, `STARTS WITH` (and their `NOT` forms), `AND`,
//! `OR`, `NOT`, parentheses, and the array forms (`["a", ["b", "c"]]`).
//! `CONTAINS` parses and evaluates, but the routes reject it as Meilisearch
//! does without the `contains filter` experimental feature. Geo filters are
//! not supported.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::settings::Settings;

/// A value or field name of a filter, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub value: String,
    /// Char offset of the token in its source (0-based) and its length in chars.
    pub start: usize,
    pub len: usize,
    pub source: Arc<str>,
}

impl Token {
    /// A message followed by the `start:end source` line Meilisearch appends.
    fn error(&self, message: &str) -> String {
        format!(
            "{message}\n{}:{} {}",
            self.start + 1,
            self.start + 1 + self.len,
            self.source
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Token),
    Ne(Token),
    Gt(Token),
    Ge(Token),
    Lt(Token),
    Le(Token),
    Between(Token, Token),
    Exists,
    IsNull,
    IsEmpty,
    /// `CONTAINS`: the keyword token (for the feature error) and the word.
    Contains(Token, Token),
    StartsWith(Token),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond { field: Token, op: Op },
    In { field: Token, values: Vec<Token> },
}

const KEYWORDS: [&str; 12] = [
    "AND", "OR", "IN", "NOT", "TO", "EXISTS", "IS", "NULL", "EMPTY", "CONTAINS", "STARTS", "WITH",
];

const INVALID_PRIMARY: &str = "Was expecting an operation `=`, `!=`, `>=`, `>`, `<=`, `<`, `IN`, `NOT IN`, `TO`, `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `IS EMPTY`, `IS NOT EMPTY`, `CONTAINS`, `NOT CONTAINS`, `STARTS WITH`, `NOT STARTS WITH`, `_geoRadius`, `_geoBoundingBox` or `_geoPolygon`";

/// A parse error: `fatal` errors stop alternatives (nom's Failure).
#[derive(Debug)]
struct PErr {
    fatal: bool,
    message: String,
    start: usize,
    end: usize,
}

struct Parser {
    chars: Vec<char>,
    source: Arc<str>,
    depth: usize,
}

type PResult<T> = Result<(usize, T), PErr>;

fn is_value_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn is_syntax_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '=' | '<' | '>' | '!')
}

impl Parser {
    fn new(source: &str) -> Self {
        Parser {
            chars: source.chars().collect(),
            source: Arc::from(source),
            depth: 0,
        }
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars[start.min(self.chars.len())..end.min(self.chars.len())]
            .iter()
            .collect()
    }

    fn err(&self, fatal: bool, message: String, start: usize, end: usize) -> PErr {
        PErr {
            fatal,
            message,
            start,
            end,
        }
    }

    fn skip_ws(&self, mut pos: usize) -> usize {
        while pos < self.chars.len() && self.chars[pos].is_whitespace() {
            pos += 1;
        }
        pos
    }

    /// A bare word at `pos` (no whitespace skipping).
    fn word_at(&self, pos: usize) -> (usize, String) {
        let mut end = pos;
        while end < self.chars.len() && is_value_char(self.chars[end]) {
            end += 1;
        }
        (end, self.text(pos, end))
    }

    /// Matches the exact keyword `kw` at `pos` (after whitespace) and the whitespace after it.
    fn keyword(&self, pos: usize, kw: &str) -> Option<usize> {
        let pos = self.skip_ws(pos);
        let (end, word) = self.word_at(pos);
        (word == kw).then(|| self.skip_ws(end))
    }

    /// The token of a keyword found by [`Parser::keyword`] at `pos`.
    fn keyword_token(&self, pos: usize, kw: &str) -> Token {
        let start = self.skip_ws(pos);
        self.token(kw.to_string(), start, start + kw.chars().count())
    }

    fn token(&self, value: String, start: usize, end: usize) -> Token {
        Token {
            value,
            start,
            len: end - start,
            source: self.source.clone(),
        }
    }

    /// value = WS* (word | 'quoted' | "quoted") WS*
    fn value(&self, pos: usize) -> PResult<Token> {
        let pos = self.skip_ws(pos);
        match self.chars.get(pos) {
            Some(&q) if q == '\'' || q == '"' => {
                let mut i = pos + 1;
                let mut out = String::new();
                while i < self.chars.len() {
                    let c = self.chars[i];
                    if c == q {
                        let tok = self.token(out, pos + 1, i);
                        return Ok((self.skip_ws(i + 1), tok));
                    }
                    if c == '\\' && i + 1 < self.chars.len() {
                        if self.chars[i + 1] == q {
                            out.push(q);
                        } else {
                            out.push(c);
                            out.push(self.chars[i + 1]);
                        }
                        i += 2;
                        continue;
                    }
                    out.push(c);
                    i += 1;
                }
                let rest = self.text(pos, self.chars.len());
                Err(self.err(
                    true,
                    format!(
                        "Expression `{}` is missing the following closing delimiter: `{q}`.",
                        rest.escape_debug()
                    ),
                    pos,
                    self.chars.len(),
                ))
            }
            _ => {
                let (end, word) = self.word_at(pos);
                if word.is_empty() || KEYWORDS.contains(&word.as_str()) {
                    // error context: the largest run without syntax characters
                    let mut ctx_end = pos;
                    while ctx_end < self.chars.len() && !is_syntax_char(self.chars[ctx_end]) {
                        ctx_end += 1;
                    }
                    let ctx = self.text(pos, ctx_end);
                    let message = if ctx.trim().is_empty() {
                        "Was expecting a value but instead got nothing.".to_string()
                    } else if KEYWORDS.contains(&word.as_str()) && ctx == word {
                        format!("Was expecting a value but instead got `{w}`, which is a reserved keyword. To use `{w}` as a field name or a value, surround it by quotes.", w = ctx.escape_debug())
                    } else {
                        format!(
                            "Was expecting a value but instead got `{}`.",
                            ctx.escape_debug()
                        )
                    };
                    return Err(self.err(false, message, pos, ctx_end));
                }
                let tok = self.token(word, pos, end);
                Ok((self.skip_ws(end), tok))
            }
        }
    }

    fn cut<T>(r: PResult<T>) -> PResult<T> {
        r.map_err(|mut e| {
            e.fatal = true;
            e
        })
    }

    fn expression(&mut self, pos: usize) -> PResult<Filter> {
        self.depth += 1;
        if self.depth > 150 {
            return Err(self.err(
                true,
                "The filter exceeded the maximum depth limit. Try rewriting the filter so that it contains fewer nested conditions.".into(),
                pos,
                self.chars.len(),
            ));
        }
        let r = self.or(pos);
        self.depth -= 1;
        r
    }

    fn or(&mut self, pos: usize) -> PResult<Filter> {
        self.chain(pos, "OR", Self::and, Filter::Or)
    }

    fn and(&mut self, pos: usize) -> PResult<Filter> {
        self.chain(pos, "AND", Self::not, Filter::And)
    }

    /// One precedence level: operands of the next level joined by `keyword`; a single
    /// operand stands alone.
    fn chain(
        &mut self,
        pos: usize,
        keyword: &str,
        operand: fn(&mut Self, usize) -> PResult<Filter>,
        join: fn(Vec<Filter>) -> Filter,
    ) -> PResult<Filter> {
        let (mut pos, first) = operand(self, pos)?;
        let mut items = vec![first];
        while let Some(next) = self.keyword(pos, keyword) {
            let (p, f) = Self::cut(operand(self, next))?;
            items.push(f);
            pos = p;
        }
        Ok((
            pos,
            if items.len() == 1 {
                items.remove(0)
            } else {
                join(items)
            },
        ))
    }

    fn not(&mut self, pos: usize) -> PResult<Filter> {
        if let Some(next) = self.keyword(pos, "NOT") {
            // `NOT IN` / `NOT EXISTS` belong to a primary, but a leading NOT negates
            let (p, inner) = Self::cut(self.not(next))?;
            let f = match inner {
                Filter::Not(inner) => *inner,
                other => Filter::Not(Box::new(other)),
            };
            return Ok((p, f));
        }
        self.primary(pos)
    }

    fn primary(&mut self, pos: usize) -> PResult<Filter> {
        let start = self.skip_ws(pos);
        if self.chars.get(start) == Some(&'(') {
            let (p, inner) = Self::cut(self.expression(start + 1))?;
            let p = self.skip_ws(p);
            if self.chars.get(p) == Some(&')') {
                return Ok((self.skip_ws(p + 1), inner));
            }
            let rest = self.text(pos, self.chars.len());
            return Err(self.err(
                true,
                format!(
                    "Expression `{}` is missing the following closing delimiter: `)`.",
                    rest.escape_debug()
                ),
                pos,
                self.chars.len(),
            ));
        }
        let invalid_primary = |s: &Self| {
            let rest = s.text(pos, s.chars.len());
            let text = if rest.trim().is_empty() {
                "but instead got nothing.".to_string()
            } else {
                format!("at `{}`.", rest.escape_debug())
            };
            s.err(
                false,
                format!("{INVALID_PRIMARY} {text}"),
                pos,
                s.chars.len(),
            )
        };
        let (after_field, field) = match self.value(start) {
            Ok(v) => v,
            Err(e) if e.fatal => return Err(e),
            Err(e) if e.message.contains("reserved keyword") => {
                return Err(PErr { fatal: true, ..e })
            }
            Err(_) => return Err(invalid_primary(self)),
        };
        let p = after_field;
        // IN [..]
        if let Some(p2) = self.keyword(p, "IN") {
            let (p3, values) = self.in_list(p2)?;
            return Ok((p3, Filter::In { field, values }));
        }
        if let Some(p2) = self.keyword(p, "NOT") {
            if let Some(p3) = self.keyword(p2, "IN") {
                let (p4, values) = self.in_list(p3)?;
                return Ok((p4, Filter::Not(Box::new(Filter::In { field, values }))));
            }
            if let Some(p3) = self.keyword(p2, "EXISTS") {
                return Ok((
                    p3,
                    Filter::Not(Box::new(Filter::Cond {
                        field,
                        op: Op::Exists,
                    })),
                ));
            }
            if let Some(p3) = self.keyword(p2, "CONTAINS") {
                let kw = self.keyword_token(p2, "CONTAINS");
                let (p4, v) = Self::cut(self.value(p3))?;
                return Ok((
                    p4,
                    Filter::Not(Box::new(Filter::Cond {
                        field,
                        op: Op::Contains(kw, v),
                    })),
                ));
            }
            if let Some(p3) = self
                .keyword(p2, "STARTS")
                .and_then(|p| self.keyword(p, "WITH"))
            {
                let (p4, v) = Self::cut(self.value(p3))?;
                return Ok((
                    p4,
                    Filter::Not(Box::new(Filter::Cond {
                        field,
                        op: Op::StartsWith(v),
                    })),
                ));
            }
            return Err(invalid_primary(self));
        }
        // comparison operators
        let ops = ["<=", ">=", "!=", "<", ">", "="];
        for op in ops {
            let matches = op
                .chars()
                .enumerate()
                .all(|(i, c)| self.chars.get(p + i) == Some(&c));
            if matches {
                let (p2, v) = Self::cut(self.value(p + op.chars().count()))?;
                let op = match op {
                    "<=" => Op::Le(v),
                    ">=" => Op::Ge(v),
                    "!=" => Op::Ne(v),
                    "<" => Op::Lt(v),
                    ">" => Op::Gt(v),
                    _ => Op::Eq(v),
                };
                return Ok((p2, Filter::Cond { field, op }));
            }
        }
        if let Some(p2) = self.keyword(p, "IS") {
            if let Some(p3) = self.keyword(p2, "NULL") {
                return Ok((
                    p3,
                    Filter::Cond {
                        field,
                        op: Op::IsNull,
                    },
                ));
            }
            if let Some(p3) = self.keyword(p2, "EMPTY") {
                return Ok((
                    p3,
                    Filter::Cond {
                        field,
                        op: Op::IsEmpty,
                    },
                ));
            }
            if let Some(p3) = self.keyword(p2, "NOT") {
                if let Some(p4) = self.keyword(p3, "NULL") {
                    return Ok((
                        p4,
                        Filter::Not(Box::new(Filter::Cond {
                            field,
                            op: Op::IsNull,
                        })),
                    ));
                }
                if let Some(p4) = self.keyword(p3, "EMPTY") {
                    return Ok((
                        p4,
                        Filter::Not(Box::new(Filter::Cond {
                            field,
                            op: Op::IsEmpty,
                        })),
                    ));
                }
            }
            return Err(invalid_primary(self));
        }
        if let Some(p2) = self.keyword(p, "EXISTS") {
            return Ok((
                p2,
                Filter::Cond {
                    field,
                    op: Op::Exists,
                },
            ));
        }
        if let Some(p2) = self.keyword(p, "CONTAINS") {
            let kw = self.keyword_token(p, "CONTAINS");
            let (p3, v) = Self::cut(self.value(p2))?;
            return Ok((
                p3,
                Filter::Cond {
                    field,
                    op: Op::Contains(kw, v),
                },
            ));
        }
        if let Some(p2) = self
            .keyword(p, "STARTS")
            .and_then(|p| self.keyword(p, "WITH"))
        {
            let (p3, v) = Self::cut(self.value(p2))?;
            return Ok((
                p3,
                Filter::Cond {
                    field,
                    op: Op::StartsWith(v),
                },
            ));
        }
        // field from TO to
        if let Ok((p2, from)) = self.value(p) {
            if let Some(p3) = self.keyword(p2, "TO") {
                let (p4, to) = Self::cut(self.value(p3))?;
                return Ok((
                    p4,
                    Filter::Cond {
                        field,
                        op: Op::Between(from, to),
                    },
                ));
            }
        }
        Err(invalid_primary(self))
    }

    /// `[` value_list `]` after `IN`.
    fn in_list(&self, pos: usize) -> PResult<Vec<Token>> {
        if self.chars.get(pos) != Some(&'[') {
            let end = self.chars.len();
            return Err(self.err(true, "Expected `[` after `IN` keyword.".into(), pos, end));
        }
        let mut p = pos + 1;
        let mut values = Vec::new();
        if let Ok((p2, first)) = self.value(p) {
            values.push(first);
            p = p2;
            loop {
                let q = self.skip_ws(p);
                if self.chars.get(q) == Some(&',') {
                    match self.value(q + 1) {
                        Ok((p2, v)) => {
                            values.push(v);
                            p = p2;
                        }
                        Err(e) if e.fatal => return Err(e),
                        Err(_) => {
                            p = self.skip_ws(q + 1);
                            break;
                        }
                    }
                } else {
                    break;
                }
            }
        }
        let q = self.skip_ws(p);
        if self.chars.get(q) == Some(&']') {
            return Ok((self.skip_ws(q + 1), values));
        }
        if q >= self.chars.len() {
            return Err(self.err(
                true,
                "Expected matching `]` after the list of field names given to `IN[`".into(),
                q,
                q,
            ));
        }
        let rest = self.text(q, self.chars.len());
        let (_, word) = self.word_at(q);
        let message = if KEYWORDS.contains(&word.as_str()) {
            format!("Expected only comma-separated field names inside `IN[..]` but instead found `{r}`, which is a keyword. To use `{r}` as a field name or a value, surround it by quotes.", r = rest.escape_debug())
        } else {
            format!(
                "Expected only comma-separated field names inside `IN[..]` but instead found `{}`.",
                rest.escape_debug()
            )
        };
        Err(self.err(true, message, q, self.chars.len()))
    }
}

/// Parses one filter string; `Ok(None)` for an empty filter.
pub fn parse_str(input: &str) -> Result<Option<Filter>, String> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    let mut parser = Parser::new(input);
    let result = parser.expression(0).and_then(|(pos, f)| {
        let pos = parser.skip_ws(pos);
        if pos < parser.chars.len() {
            let rest = parser.text(pos, parser.chars.len());
            Err(parser.err(
                true,
                format!(
                    "Found unexpected characters at the end of the filter: `{}`. You probably forgot an `OR` or an `AND` rule.",
                    rest.escape_debug()
                ),
                pos,
                parser.chars.len(),
            ))
        } else {
            Ok(f)
        }
    });
    result
        .map(Some)
        .map_err(|e| format!("{}\n{}:{} {}", e.message, e.start + 1, e.end + 1, input))
}

/// Parses a filter given as a JSON string or an array of strings / arrays of strings.
pub fn parse_value(v: &Value) -> Result<Option<Filter>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => parse_str(s),
        Value::Array(items) => {
            let mut ands = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => ands.extend(parse_str(s)?),
                    Value::Array(inner) => {
                        let mut ors = Vec::new();
                        for el in inner {
                            match el {
                                Value::String(s) => ors.extend(parse_str(s)?),
                                other => return Err(syntax_error(&["String"], other)),
                            }
                        }
                        match ors.len() {
                            0 => {}
                            1 => ands.push(ors.remove(0)),
                            _ => ands.push(Filter::Or(ors)),
                        }
                    }
                    other => return Err(syntax_error(&["String", "[String]"], other)),
                }
            }
            Ok(match ands.len() {
                0 => None,
                1 => Some(ands.remove(0)),
                _ => Some(Filter::And(ands)),
            })
        }
        other => Err(syntax_error(&["String", "Array"], other)),
    }
}

fn syntax_error(expected: &[&str], found: &Value) -> String {
    format!(
        "Invalid syntax for the filter parameter: `expected {}, found: {found}`.",
        expected.join(", ")
    )
}

impl Filter {
    fn fields<'a>(&'a self, out: &mut Vec<&'a Token>) {
        match self {
            Filter::And(items) | Filter::Or(items) => items.iter().for_each(|f| f.fields(out)),
            Filter::Not(inner) => inner.fields(out),
            Filter::Cond { field, .. } | Filter::In { field, .. } => out.push(field),
        }
    }

    /// The `CONTAINS` keyword, if used: Meilisearch needs the `contains filter`
    /// experimental feature for it, which the double does not enable.
    pub fn contains_keyword(&self) -> Option<&Token> {
        match self {
            Filter::And(items) | Filter::Or(items) => {
                items.iter().find_map(Filter::contains_keyword)
            }
            Filter::Not(inner) => inner.contains_keyword(),
            Filter::Cond {
                op: Op::Contains(kw, _),
                ..
            } => Some(kw),
            _ => None,
        }
    }

    /// `feature_not_enabled` message for `CONTAINS`, with its position.
    pub fn feature_error(&self) -> Option<String> {
        if crate::features::contains_filter() {
            return None;
        }
        self.contains_keyword().map(|kw| {
            kw.error("Using `CONTAINS` in a filter requires enabling the `contains filter` experimental feature. See https://github.com/orgs/meilisearch/discussions/763")
        })
    }

    /// Errors (Meilisearch's message) when a field is not filterable.
    pub fn check_filterable(&self, settings: &Settings) -> Result<(), String> {
        let mut fields = Vec::new();
        self.fields(&mut fields);
        for field in fields {
            if !settings.is_filterable(&field.value) {
                let patterns = settings.filterable_patterns();
                let message = if patterns.is_empty() {
                    format!(
                        "Attribute `{}` is not filterable. This index does not have configured filterable attributes.",
                        field.value
                    )
                } else {
                    format!(
                        "Attribute `{}` is not filterable. Available filterable attribute patterns are: {}.",
                        field.value,
                        patterns.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                    )
                };
                return Err(field.error(&message));
            }
        }
        Ok(())
    }

    /// Whether a document matches.
    pub fn matches(&self, doc: &Map<String, Value>) -> bool {
        match self {
            Filter::And(items) => items.iter().all(|f| f.matches(doc)),
            Filter::Or(items) => items.iter().any(|f| f.matches(doc)),
            Filter::Not(inner) => !inner.matches(doc),
            Filter::In { field, values } => {
                let found = values_at(doc, &field.value);
                values.iter().any(|v| equals(&found, &v.value))
            }
            Filter::Cond { field, op } => {
                let found = values_at(doc, &field.value);
                match op {
                    Op::Exists => !found.is_empty(),
                    Op::IsNull => found.iter().any(|v| v.is_null()),
                    Op::IsEmpty => found.iter().any(|v| match v {
                        Value::String(s) => s.is_empty(),
                        Value::Array(a) => a.is_empty(),
                        Value::Object(o) => o.is_empty(),
                        _ => false,
                    }),
                    Op::Eq(v) => equals(&found, &v.value),
                    Op::Ne(v) => !equals(&found, &v.value),
                    Op::Gt(v) => compare(&found, &v.value, |o| o.is_gt()),
                    Op::Ge(v) => compare(&found, &v.value, |o| o.is_ge()),
                    Op::Lt(v) => compare(&found, &v.value, |o| o.is_lt()),
                    Op::Le(v) => compare(&found, &v.value, |o| o.is_le()),
                    Op::Between(from, to) => between(&found, &from.value, &to.value),
                    Op::Contains(_, w) => {
                        let w = normalize(&w.value);
                        facets(&found)
                            .iter()
                            .any(|f| matches!(f, Facet::Str(s) if s.contains(&w)))
                    }
                    Op::StartsWith(w) => {
                        let w = normalize(&w.value);
                        facets(&found)
                            .iter()
                            .any(|f| matches!(f, Facet::Str(s) if s.starts_with(&w)))
                    }
                }
            }
        }
    }
}

/// Lowercased, trimmed facet string (milli also applies NFKD; the double does not).
pub fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

/// The values of a (possibly dotted) field in a document; arrays of objects are traversed.
pub fn values_at<'a>(doc: &'a Map<String, Value>, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    collect(doc, path, &mut out);
    out
}

fn collect<'a>(obj: &'a Map<String, Value>, path: &str, out: &mut Vec<&'a Value>) {
    for (k, v) in obj {
        if k == path {
            out.push(v);
        } else if let Some(rest) = path
            .strip_prefix(k.as_str())
            .and_then(|r| r.strip_prefix('.'))
        {
            match v {
                Value::Object(inner) => collect(inner, rest, out),
                Value::Array(items) => {
                    for item in items {
                        if let Value::Object(inner) = item {
                            collect(inner, rest, out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A facet value: numbers, strings (normalized) and booleans (as strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Facet {
    Num(f64),
    Str(String),
}

/// Facet values of the found values (array elements flattened).
pub fn facets(values: &[&Value]) -> Vec<Facet> {
    fn rec(v: &Value, out: &mut Vec<Facet>) {
        match v {
            Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    out.push(Facet::Num(f));
                }
            }
            Value::String(s) => out.push(Facet::Str(normalize(s))),
            Value::Bool(b) => out.push(Facet::Str(b.to_string())),
            Value::Array(items) => items.iter().for_each(|i| rec(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for v in values {
        rec(v, &mut out);
    }
    out
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn equals(found: &[&Value], target: &str) -> bool {
    let n = parse_number(target);
    let s = normalize(target);
    facets(found).iter().any(|f| match f {
        Facet::Num(x) => n.is_some_and(|n| *x == n),
        Facet::Str(x) => *x == s,
    })
}

fn compare(found: &[&Value], target: &str, ok: impl Fn(std::cmp::Ordering) -> bool) -> bool {
    let n = parse_number(target);
    let s = normalize(target);
    facets(found).iter().any(|f| match f {
        Facet::Num(x) => n.is_some_and(|n| x.partial_cmp(&n).is_some_and(&ok)),
        Facet::Str(x) => ok(x.as_str().cmp(s.as_str())),
    })
}

fn between(found: &[&Value], from: &str, to: &str) -> bool {
    let nums = parse_number(from).zip(parse_number(to));
    let (sf, st) = (normalize(from), normalize(to));
    facets(found).iter().any(|f| match f {
        Facet::Num(x) => nums.is_some_and(|(a, b)| *x >= a && *x <= b),
        Facet::Str(x) => x.as_str() >= sf.as_str() && x.as_str() <= st.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn m(filter: &str, d: Value) -> bool {
        parse_str(filter).unwrap().unwrap().matches(&doc(d))
    }

    #[test]
    fn equality_is_case_insensitive_and_numeric() {
        assert!(m("genre = Horror", json!({"genre": "horror"})));
        assert!(m("id = 1", json!({"id": 1})));
        assert!(m("id = 1", json!({"id": "1"})));
        assert!(m("id = 1.0", json!({"id": 1})));
        assert!(!m("id = 2", json!({"id": 1})));
        assert!(m("tags = b", json!({"tags": ["a", "B"]})));
        assert!(m("ok = true", json!({"ok": true})));
    }

    #[test]
    fn not_equal_includes_missing_fields() {
        assert!(m("genre != horror", json!({"title": "x"})));
        assert!(!m("genre != horror", json!({"genre": "Horror"})));
    }

    #[test]
    fn comparisons_and_ranges() {
        assert!(m("year > 2000", json!({"year": 2001})));
        assert!(!m("year > 2000", json!({"year": 2000})));
        assert!(m("year >= 2000", json!({"year": 2000})));
        assert!(m("year < 10", json!({"year": 9.5})));
        assert!(m("year 1990 TO 2000", json!({"year": 1995})));
        assert!(!m("year 1990 TO 2000", json!({"year": 2001})));
        assert!(m("name > b", json!({"name": "c"})));
    }

    #[test]
    fn in_and_not_in() {
        assert!(m("genre IN [horror, comedy]", json!({"genre": "Comedy"})));
        assert!(!m(
            "genre NOT IN [horror, comedy]",
            json!({"genre": "Comedy"})
        ));
        assert!(m("genre NOT IN [horror]", json!({})));
        assert!(m(
            "genre IN ['sci fi', \"drama\"]",
            json!({"genre": "Sci Fi"})
        ));
    }

    #[test]
    fn exists_null_empty() {
        assert!(m("a EXISTS", json!({"a": null})));
        assert!(m("a NOT EXISTS", json!({"b": 1})));
        assert!(m("a IS NULL", json!({"a": null})));
        assert!(m("a IS NOT NULL", json!({"a": 1})));
        assert!(m("a IS EMPTY", json!({"a": []})));
        assert!(m("a IS EMPTY", json!({"a": ""})));
        assert!(m("a IS NOT EMPTY", json!({"a": [1]})));
    }

    #[test]
    fn boolean_operators_and_parentheses() {
        let d = json!({"a": 1, "b": 2});
        assert!(m("a = 1 AND b = 2", d.clone()));
        assert!(m("a = 3 OR b = 2", d.clone()));
        assert!(!m("NOT a = 1", d.clone()));
        assert!(m("NOT NOT a = 1", d.clone()));
        assert!(m("(a = 3 OR a = 1) AND NOT (b = 3)", d.clone()));
        assert!(m("a = 1 AND (b = 5 OR b = 2)", d));
    }

    #[test]
    fn nested_fields_use_dots() {
        assert!(m("meta.year = 2020", json!({"meta": {"year": 2020}})));
        assert!(m(
            "cast.name = bob",
            json!({"cast": [{"name": "Bob"}, {"name": "Al"}]})
        ));
        assert!(m("a.b = 1", json!({"a.b": 1})));
    }

    #[test]
    fn contains_needs_the_experimental_feature() {
        let f = parse_str("name CONTAINS amm").unwrap().unwrap();
        assert_eq!(
            f.feature_error().unwrap(),
            "Using `CONTAINS` in a filter requires enabling the `contains filter` experimental feature. See https://github.com/orgs/meilisearch/discussions/763\n6:14 name CONTAINS amm"
        );
        assert!(parse_str("name STARTS WITH a")
            .unwrap()
            .unwrap()
            .feature_error()
            .is_none());
    }

    #[test]
    fn contains_and_starts_with() {
        assert!(m("title CONTAINS ell", json!({"title": "Hello"})));
        assert!(m("title STARTS WITH he", json!({"title": "Hello"})));
        assert!(m("title NOT STARTS WITH x", json!({"title": "Hello"})));
    }

    #[test]
    fn array_forms_are_and_of_ors() {
        let f = parse_value(&json!(["a = 1", ["b = 2", "b = 3"]]))
            .unwrap()
            .unwrap();
        assert!(f.matches(&doc(json!({"a": 1, "b": 3}))));
        assert!(!f.matches(&doc(json!({"a": 1, "b": 4}))));
        assert_eq!(parse_value(&json!([])).unwrap(), None);
        assert_eq!(
            parse_value(&json!(true)).unwrap_err(),
            "Invalid syntax for the filter parameter: `expected String, Array, found: true`."
        );
        assert_eq!(
            parse_value(&json!([1])).unwrap_err(),
            "Invalid syntax for the filter parameter: `expected String, [String], found: 1`."
        );
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let e = parse_str("title").unwrap_err();
        assert!(e.starts_with("Was expecting an operation `=`"), "{e}");
        assert!(e.ends_with("at `title`.\n1:6 title"), "{e}");
        let e = parse_str("a = 1 b").unwrap_err();
        assert!(
            e.starts_with("Found unexpected characters at the end of the filter: `b`."),
            "{e}"
        );
        assert!(e.ends_with("\n7:8 a = 1 b"), "{e}");
        let e = parse_str("a = 'x").unwrap_err();
        assert!(
            e.contains("missing the following closing delimiter: `'`"),
            "{e}"
        );
        let e = parse_str("a IN x").unwrap_err();
        assert!(e.starts_with("Expected `[` after `IN` keyword."), "{e}");
        let e = parse_str("a = AND").unwrap_err();
        assert!(e.contains("which is a reserved keyword"), "{e}");
        assert_eq!(parse_str("   ").unwrap(), None);
    }

    #[test]
    fn not_filterable_error_names_attribute_and_patterns() {
        let f = parse_str("dog = \"bernese mountain\"").unwrap().unwrap();
        let e = f.check_filterable(&Settings::default()).unwrap_err();
        assert_eq!(
            e,
            "Attribute `dog` is not filterable. This index does not have configured filterable attributes.\n1:4 dog = \"bernese mountain\""
        );
        let mut s = Settings::default();
        s.apply(
            json!({"filterableAttributes": ["title"]})
                .as_object()
                .unwrap(),
        );
        let f = parse_str("title = \"test\" AND name = 12")
            .unwrap()
            .unwrap();
        assert_eq!(
            f.check_filterable(&s).unwrap_err(),
            "Attribute `name` is not filterable. Available filterable attribute patterns are: `title`.\n20:24 title = \"test\" AND name = 12"
        );
    }
}
