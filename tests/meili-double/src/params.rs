//! Request parameter and JSON body validation, with error messages worded
//! like Meilisearch's (which come from the `deserr` crate).

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Code};

/// "did you mean `x`? " suggestion as deserr builds it (Damerau-Levenshtein
/// distance with a budget growing with the length of the received word).
pub fn did_you_mean(received: &str, accepted: &[&str]) -> String {
    let allowed = match received.len() {
        0..=3 => return String::new(),
        4..=7 => 1,
        8..=12 => 2,
        13..=17 => 3,
        18..=24 => 4,
        _ => 5,
    };
    accepted
        .iter()
        .map(|a| (a, osa_distance(received, a)))
        .filter(|(_, d)| *d <= allowed)
        .min_by_key(|(_, d)| *d)
        .map(|(a, _)| format!("did you mean `{a}`? "))
        .unwrap_or_default()
}

/// Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions).
pub fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

fn quoted(accepted: &[&str]) -> String {
    accepted
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Describes a JSON value's kind the way deserr does ("a string: `\"x\"`").
pub fn describe_value(v: &Value) -> String {
    let kind = match v {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_u64() => "a positive integer",
        Value::Number(n) if n.is_i64() => "a negative integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("{kind}: `{}`", serde_json::to_string(v).unwrap_or_default())
}

/// `Invalid value type at `.path`: expected X, but found Y` (JSON bodies).
pub fn invalid_type(path: &str, expected: &str, found: &Value, code: Code) -> ApiError {
    let location = if path.is_empty() {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    ApiError::new(
        code,
        format!(
            "Invalid value type{location}: expected {expected}, but found {}",
            describe_value(found)
        ),
    )
}

/// `Invalid value at `.path`: msg` (JSON bodies).
pub fn invalid_value(path: &str, msg: &str, code: Code) -> ApiError {
    let location = if path.is_empty() {
        String::new()
    } else {
        format!(" at `{path}`")
    };
    ApiError::new(code, format!("Invalid value{location}: {msg}"))
}

/// Rejects keys of a JSON object that are not in `accepted` (deserr's deny_unknown_fields).
pub fn check_fields(obj: &Map<String, Value>, accepted: &[&str], inside: &str) -> ApiResult<()> {
    for key in obj.keys() {
        if !accepted.contains(&key.as_str()) {
            let location = if inside.is_empty() {
                String::new()
            } else {
                format!(" inside `{inside}`")
            };
            return Err(ApiError::new(
                Code::BadRequest,
                format!(
                    "Unknown field `{key}`{location}: {}expected one of {}",
                    did_you_mean(key, accepted),
                    quoted(accepted)
                ),
            ));
        }
    }
    Ok(())
}

/// Reads an optional non-negative integer field of a JSON body.
pub fn body_usize(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<Option<usize>> {
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

/// Reads an optional boolean field of a JSON body.
pub fn body_bool(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(invalid_type(&format!(".{key}"), "a boolean", v, code)),
    }
}

/// Reads an optional string field of a JSON body.
pub fn body_string(obj: &Map<String, Value>, key: &str, code: Code) -> ApiResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(invalid_type(&format!(".{key}"), "a string", v, code)),
    }
}

/// Reads an optional array-of-strings field of a JSON body.
pub fn body_string_list(
    obj: &Map<String, Value>,
    key: &str,
    code: Code,
) -> ApiResult<Option<Vec<String>>> {
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

/// Parsed query string, keeping the order and repetitions of parameters.
#[derive(Debug, Default, Clone)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (percent_decode(k), percent_decode(v)),
                None => (percent_decode(p), String::new()),
            })
            .collect();
        QueryParams { pairs }
    }

    /// Rejects unknown parameters: `Unknown parameter `x`: expected one of ...`.
    pub fn check_known(&self, accepted: &[&str]) -> ApiResult<()> {
        for (key, _) in &self.pairs {
            if !accepted.contains(&key.as_str()) {
                return Err(ApiError::new(
                    Code::BadRequest,
                    format!(
                        "Unknown parameter `{key}`: {}expected one of {}",
                        did_you_mean(key, accepted),
                        quoted(accepted)
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn usize(&self, name: &str, code: Code) -> ApiResult<Option<usize>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
                ApiError::new(
                    code,
                    format!("Invalid value in parameter `{name}`: could not parse `{v}` as a positive integer"),
                )
            }),
        }
    }

    pub fn bool(&self, name: &str, code: Code) -> ApiResult<Option<bool>> {
        match self.get(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::new(
                code,
                format!(
                    "Invalid value in parameter `{name}`: could not parse `{v}` as a boolean, expected either `true` or `false`"
                ),
            )),
        }
    }

    /// A comma separated list (`*` kept as is); `None` when absent.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name)
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
    }
}

/// Decodes `%XX` escapes and `+` (as a space) in a query-string component.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The content type of a request as `type/subtype` (lowercase, no parameters).
pub fn mime_essence(headers: &HeaderMap) -> Option<Result<String, String>> {
    let raw = headers.get(header::CONTENT_TYPE)?;
    let text = match raw.to_str() {
        Ok(t) => t,
        Err(_) => return Some(Err(String::from_utf8_lossy(raw.as_bytes()).into_owned())),
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some((t, s)) if !t.is_empty() && !s.is_empty() && !s.contains('/') => Some(Ok(essence)),
        _ => Some(Err(text.to_string())),
    }
}

/// Parses a JSON request body the way Meilisearch's JSON extractor does:
/// content type must be `application/json`, an empty body is
/// `missing_payload`, bad JSON is `malformed_payload`.
pub fn json_body(headers: &HeaderMap, body: &[u8], limit: u64) -> ApiResult<Value> {
    match mime_essence(headers) {
        None => return Err(ApiError::MissingContentType(vec!["application/json"])),
        Some(Ok(m)) if m == "application/json" => {}
        Some(_) => {
            let raw = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("unknown")
                .to_string();
            return Err(ApiError::InvalidContentType(raw, vec!["application/json"]));
        }
    }
    if body.len() as u64 > limit {
        // Meilisearch 1.50 answers 500 `internal` here: actix reports
        // `OverflowKnownLength`, which its error mapping does not list.
        return Err(ApiError::new(
            Code::Internal,
            format!(
                "JSON payload ({} bytes) is larger than allowed (limit: {limit} bytes).",
                body.len()
            ),
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(e) if e.is_eof() && e.line() == 1 && e.column() == 0 => Err(ApiError::new(
            Code::MissingPayload,
            "A json payload is missing.",
        )),
        Err(e) => Err(ApiError::new(
            Code::MalformedPayload,
            format!("The json payload provided is malformed. `{e}`."),
        )),
    }
}

/// Like [`json_body`] but also requires an object at the top level.
pub fn json_object(
    headers: &HeaderMap,
    body: &[u8],
    limit: u64,
    code: Code,
) -> ApiResult<Map<String, Value>> {
    match json_body(headers, body, limit)? {
        Value::Object(o) => Ok(o),
        other => Err(invalid_type("", "an object", &other, code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn did_you_mean_suggests_close_names() {
        assert_eq!(
            did_you_mean("limt", &["offset", "limit"]),
            "did you mean `limit`? "
        );
        assert_eq!(did_you_mean("abc", &["abd"]), "");
        assert_eq!(did_you_mean("zzzzzz", &["limit"]), "");
    }

    #[test]
    fn query_params_decode_and_validate() {
        let q = QueryParams::parse(Some("limit=2&fields=a%2Cb&q=hello+world"));
        assert_eq!(
            q.usize("limit", Code::InvalidDocumentLimit).unwrap(),
            Some(2)
        );
        assert_eq!(q.list("fields").unwrap(), vec!["a", "b"]);
        assert_eq!(q.get("q"), Some("hello world"));
        let err = q.check_known(&["limit", "fields"]).unwrap_err();
        assert_eq!(err.code(), Code::BadRequest);
        assert!(err.to_string().starts_with("Unknown parameter `q`"));
    }

    #[test]
    fn query_params_reject_non_integers() {
        let q = QueryParams::parse(Some("limit=abc"));
        let err = q.usize("limit", Code::InvalidIndexLimit).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid value in parameter `limit`: could not parse `abc` as a positive integer"
        );
    }

    #[test]
    fn describe_value_matches_deserr() {
        assert_eq!(describe_value(&json!(1)), "a positive integer: `1`");
        assert_eq!(describe_value(&json!("x")), "a string: `\"x\"`");
        assert_eq!(describe_value(&json!(null)), "null");
    }

    #[test]
    fn json_body_errors() {
        let mut h = HeaderMap::new();
        assert_eq!(
            json_body(&h, b"{}", 10).unwrap_err().code(),
            Code::MissingContentType
        );
        h.insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        assert_eq!(
            json_body(&h, b"{}", 10).unwrap_err().code(),
            Code::InvalidContentType
        );
        h.insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        assert_eq!(
            json_body(&h, b"", 10).unwrap_err().code(),
            Code::MissingPayload
        );
        assert_eq!(
            json_body(&h, b"{", 10).unwrap_err().code(),
            Code::MalformedPayload
        );
        assert_eq!(
            json_body(&h, b"{\"a\":1}", 3).unwrap_err().code(),
            Code::Internal
        );
        assert_eq!(json_body(&h, b"{\"a\":1}", 100).unwrap(), json!({"a":1}));
    }
}

/// `skipCreation`: `true` or `false`, any case, as Meilisearch reads it.
pub fn parse_skip_creation(value: Option<&str>) -> ApiResult<bool> {
    match value {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ApiError::new(
            Code::InvalidSkipCreation,
            format!("skipCreation must be either `true` or `false`. Found: `{v}`"),
        )),
    }
}

/// The `customMetadata` a documents write keeps with its task.
pub fn custom_metadata(raw_query: Option<&str>) -> Option<String> {
    QueryParams::parse(raw_query)
        .get("customMetadata")
        .map(str::to_string)
}
