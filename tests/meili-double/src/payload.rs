//! Document payloads: request body reading with a size limit, content-type
//! negotiation, and JSON / NDJSON / CSV parsing with Meilisearch's errors
//! (meilisearch-types/src/document_formats.rs upstream).

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use http_body_util::BodyExt;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult, Code};
use crate::params::mime_essence;

pub type Document = Map<String, Value>;

const ACCEPTED: [&str; 3] = ["application/json", "application/x-ndjson", "text/csv"];

/// The format of a document payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Ndjson,
    Csv { delimiter: u8 },
}

impl Format {
    pub fn name(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Csv { .. } => "csv",
        }
    }
}

/// Reads a request body, failing as soon as it grows past `limit` bytes.
/// `Err(None)` means the limit was exceeded; `Err(Some(msg))` a transport error.
pub async fn read_limited(body: Body, limit: u64) -> Result<Bytes, Option<String>> {
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Some(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() as u64 + data.len() as u64 > limit {
                return Err(None);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Picks the payload format from the Content-Type and the `csvDelimiter` parameter.
pub fn negotiate(headers: &HeaderMap, csv_delimiter: Option<u8>) -> ApiResult<Format> {
    let essence = match mime_essence(headers) {
        None => return Err(ApiError::MissingContentType(ACCEPTED.to_vec())),
        Some(Err(raw)) => return Err(ApiError::InvalidContentType(raw, ACCEPTED.to_vec())),
        Some(Ok(e)) => e,
    };
    match (essence.as_str(), csv_delimiter) {
        ("application/json", None) => Ok(Format::Json),
        ("application/x-ndjson", None) => Ok(Format::Ndjson),
        ("text/csv", d) => Ok(Format::Csv {
            delimiter: d.unwrap_or(b','),
        }),
        ("application/json" | "application/x-ndjson", Some(_)) => {
            Err(ApiError::CsvDelimiterWithWrongContentType(essence))
        }
        (other, _) => Err(ApiError::InvalidContentType(
            other.to_string(),
            ACCEPTED.to_vec(),
        )),
    }
}

/// Parses the `csvDelimiter` query parameter (a single ASCII character).
pub fn parse_csv_delimiter(raw: Option<&str>) -> ApiResult<Option<u8>> {
    let Some(raw) = raw else { return Ok(None) };
    let mut chars = raw.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() => Ok(Some(c as u8)),
        (Some(c), None) => Err(ApiError::new(
            Code::InvalidDocumentCsvDelimiter,
            format!("csv delimiter must be an ascii character. Found: `{c}`"),
        )),
        _ => Err(ApiError::new(
            Code::InvalidDocumentCsvDelimiter,
            format!(
                "Invalid value in parameter `csvDelimiter`: expected a string of one character, but found the following string of {} characters: `{raw}`",
                raw.chars().count()
            ),
        )),
    }
}

/// Parses a whole payload into documents.
pub fn parse(format: Format, body: &[u8]) -> ApiResult<Vec<Document>> {
    if body.is_empty() {
        return Err(ApiError::MissingPayload(format.name()));
    }
    match format {
        Format::Json => parse_json(body),
        Format::Ndjson => parse_ndjson(body),
        Format::Csv { delimiter } => parse_csv(body, delimiter),
    }
}

/// `The `json` payload provided is malformed. `Couldn't serialize document value: ...`.`
/// with the long-input truncation Meilisearch applies.
fn malformed_json(format: Format, err: &serde_json::Error) -> ApiError {
    let mut message = match err.classify() {
        serde_json::error::Category::Data => {
            "data are neither an object nor a list of objects".to_string()
        }
        _ => err.to_string(),
    };
    truncate_middle(&mut message);
    ApiError::MalformedPayload(format!(
        "The `{}` payload provided is malformed. `Couldn't serialize document value: {message}`.",
        format.name()
    ))
}

/// Keeps the first 50 and last 85 bytes of a long message (meilisearch#2107).
fn truncate_middle(message: &mut String) {
    let (prefix, suffix) = (50, 85);
    if message.len() > prefix + suffix + 3 {
        let mut start = prefix;
        while !message.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = message.len() - suffix;
        while !message.is_char_boundary(end) {
            end += 1;
        }
        message.replace_range(start..end, "...");
    }
}

/// A document that is valid JSON but not an object: Meilisearch turns this
/// serde "data" error into an I/O error, i.e. an `internal` 500.
fn not_an_object(err: serde_json::Error) -> ApiError {
    ApiError::new(Code::Internal, err.to_string())
}

/// Visits the top-level array like Meilisearch does: stops at the first
/// element that is not an object (so serde_json then reports trailing
/// characters when more elements follow).
struct EachObject;

impl<'de> serde::de::Visitor<'de> for EachObject {
    type Value = Result<Vec<Document>, serde_json::Error>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a nonempty sequence")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut docs = Vec::new();
        while let Some(raw) = seq.next_element::<&RawValue>()? {
            match serde_json::from_str::<Document>(raw.get()) {
                Ok(doc) => docs.push(doc),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(docs))
    }
}

fn parse_json(body: &[u8]) -> ApiResult<Vec<Document>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    // Like Meilisearch, read a sequence without checking for trailing characters.
    match serde::Deserializer::deserialize_seq(&mut de, EachObject) {
        Ok(Ok(docs)) => Ok(docs),
        Ok(Err(e)) => Err(not_an_object(e)),
        Err(e) if e.classify() != serde_json::error::Category::Data => {
            Err(malformed_json(Format::Json, &e))
        }
        Err(_) => match serde_json::from_slice::<Document>(body) {
            Ok(doc) => Ok(vec![doc]),
            Err(e) => Err(malformed_json(Format::Json, &e)),
        },
    }
}

fn parse_ndjson(body: &[u8]) -> ApiResult<Vec<Document>> {
    let mut docs = Vec::new();
    for item in serde_json::Deserializer::from_slice(body).into_iter::<&RawValue>() {
        match item {
            Ok(raw) => {
                docs.push(serde_json::from_str::<Document>(raw.get()).map_err(not_an_object)?)
            }
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                return Err(not_an_object(e))
            }
            Err(e) => return Err(malformed_json(Format::Ndjson, &e)),
        }
    }
    Ok(docs)
}

#[derive(Clone, Copy)]
enum CsvType {
    String,
    Boolean,
    Number,
}

fn csv_header(header: &str) -> (String, CsvType) {
    match header.rsplit_once(':') {
        Some((name, "string")) => (name.to_string(), CsvType::String),
        Some((name, "boolean")) => (name.to_string(), CsvType::Boolean),
        Some((name, "number")) => (name.to_string(), CsvType::Number),
        _ => (header.to_string(), CsvType::String),
    }
}

fn malformed_csv(message: impl std::fmt::Display) -> ApiError {
    ApiError::MalformedPayload(format!(
        "The `csv` payload provided is malformed: `{message}`."
    ))
}

fn parse_csv(body: &[u8], delimiter: u8) -> ApiResult<Vec<Document>> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(body);
    let headers = reader.headers().map_err(malformed_csv)?.clone();
    let fields: Vec<(String, CsvType)> = headers.iter().map(csv_header).collect();
    let mut docs = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut line = 0usize;
    while reader.read_record(&mut record).map_err(malformed_csv)? {
        line += 1;
        let mut doc = Document::new();
        for (name, _) in &fields {
            doc.insert(name.clone(), Value::Null);
        }
        for (i, (name, kind)) in fields.iter().enumerate() {
            let raw = record.get(i).unwrap_or("");
            let trimmed = raw.trim();
            let value = match kind {
                CsvType::Number if trimmed.is_empty() => Value::Null,
                CsvType::Number => match trimmed.parse::<i64>() {
                    Ok(i) => Value::from(i),
                    Err(_) => match trimmed.parse::<f64>() {
                        Ok(f) => Value::from(f),
                        Err(e) => {
                            return Err(malformed_csv(format!(
                                "Error parsing number {raw:?} at line {line}: {e}"
                            )))
                        }
                    },
                },
                CsvType::Boolean if trimmed.is_empty() => Value::Null,
                CsvType::Boolean => match trimmed.parse::<bool>() {
                    Ok(b) => Value::Bool(b),
                    Err(e) => {
                        return Err(malformed_csv(format!(
                            "Error parsing boolean {raw:?} at line {line}: {e}"
                        )))
                    }
                },
                CsvType::String if raw.is_empty() => Value::Null,
                CsvType::String => Value::String(raw.to_string()),
            };
            doc.insert(name.clone(), value);
        }
        docs.push(doc);
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::CONTENT_TYPE;
    use serde_json::json;

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, ct.parse().unwrap());
        h
    }

    #[test]
    fn json_accepts_array_or_single_object_in_order() {
        let docs = parse(Format::Json, br#"[{"z":1,"a":2},{"id":3}]"#).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].keys().collect::<Vec<_>>(), vec!["z", "a"]);
        let docs = parse(Format::Json, br#"{"id":1}"#).unwrap();
        assert_eq!(docs, vec![json!({"id":1}).as_object().unwrap().clone()]);
        assert!(parse(Format::Json, b"[]").unwrap().is_empty());
    }

    #[test]
    fn json_syntax_errors_are_malformed_payload() {
        let e = parse(Format::Json, br#"[{"id":1}"#).unwrap_err();
        assert_eq!(e.code(), Code::MalformedPayload);
        assert!(
            e.to_string().starts_with(
                "The `json` payload provided is malformed. `Couldn't serialize document value: "
            ),
            "{e}"
        );
        let e = parse(Format::Json, br#""text""#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The `json` payload provided is malformed. `Couldn't serialize document value: data are neither an object nor a list of objects`."
        );
    }

    #[test]
    fn long_json_errors_are_truncated() {
        let mut long = format!("{}{}", "a".repeat(100), "z".repeat(100));
        truncate_middle(&mut long);
        assert_eq!(long, format!("{}...{}", "a".repeat(50), "z".repeat(85)));
        let mut short = "short".to_string();
        truncate_middle(&mut short);
        assert_eq!(short, "short");
    }

    #[test]
    fn non_object_elements_follow_meilisearch() {
        let e = parse(Format::Json, b"[1,2]").unwrap_err();
        assert_eq!(e.code(), Code::MalformedPayload);
        assert_eq!(
            e.to_string(),
            "The `json` payload provided is malformed. `Couldn't serialize document value: trailing characters at line 1 column 4`."
        );
        let e = parse(Format::Json, br#"[{"id":1},5]"#).unwrap_err();
        assert_eq!(e.code(), Code::Internal);
        let e = parse(Format::Ndjson, b"{\"id\":4}\n5\n").unwrap_err();
        assert_eq!(e.code(), Code::Internal);
        assert_eq!(
            e.to_string(),
            "invalid type: integer `5`, expected a map at line 1 column 1"
        );
        // trailing garbage after the array is ignored, as in Meilisearch
        assert_eq!(
            parse(Format::Json, br#"[{"id":3}] trailing"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn empty_body_is_missing_payload() {
        let e = parse(Format::Ndjson, b"").unwrap_err();
        assert_eq!(e.code(), Code::MissingPayload);
        assert_eq!(e.to_string(), "A ndjson payload is missing.");
    }

    #[test]
    fn ndjson_reads_one_object_per_line() {
        let docs = parse(Format::Ndjson, b"{\"id\":1}\n{\"id\":2}\n").unwrap();
        assert_eq!(docs.len(), 2);
        let e = parse(Format::Ndjson, b"{\"id\":1}\n{\"id\":").unwrap_err();
        assert_eq!(e.code(), Code::MalformedPayload);
        assert!(e
            .to_string()
            .starts_with("The `ndjson` payload provided is malformed."));
    }

    #[test]
    fn csv_types_and_empty_cells() {
        let docs = parse(
            Format::Csv { delimiter: b',' },
            b"id:number,title,ok:boolean,n:number\n1,hello,true,\n2,,false,1.5\n",
        )
        .unwrap();
        assert_eq!(
            serde_json::Value::Object(docs[0].clone()),
            json!({"id":1,"title":"hello","ok":true,"n":null})
        );
        assert_eq!(
            serde_json::Value::Object(docs[1].clone()),
            json!({"id":2,"title":null,"ok":false,"n":1.5})
        );
    }

    #[test]
    fn csv_custom_delimiter_and_untyped_suffix() {
        let docs = parse(Format::Csv { delimiter: b';' }, b"id;a:b\n1;x\n").unwrap();
        assert_eq!(
            serde_json::Value::Object(docs[0].clone()),
            json!({"id":"1","a:b":"x"})
        );
    }

    #[test]
    fn csv_bad_number_or_row_is_malformed() {
        let e = parse(Format::Csv { delimiter: b',' }, b"id:number\nabc\n").unwrap_err();
        assert_eq!(e.code(), Code::MalformedPayload);
        assert_eq!(
            e.to_string(),
            "The `csv` payload provided is malformed: `Error parsing number \"abc\" at line 1: invalid float literal`."
        );
        let e = parse(Format::Csv { delimiter: b',' }, b"id,a\n1,2,3\n").unwrap_err();
        assert_eq!(e.code(), Code::MalformedPayload);
    }

    #[test]
    fn content_type_negotiation() {
        assert_eq!(
            negotiate(&HeaderMap::new(), None).unwrap_err().code(),
            Code::MissingContentType
        );
        assert_eq!(
            negotiate(&headers("text/plain"), None).unwrap_err().code(),
            Code::InvalidContentType
        );
        assert_eq!(
            negotiate(&headers("application/json; charset=utf-8"), None).unwrap(),
            Format::Json
        );
        assert_eq!(
            negotiate(&headers("text/csv"), Some(b';')).unwrap(),
            Format::Csv { delimiter: b';' }
        );
        let e = negotiate(&headers("application/json"), Some(b';')).unwrap_err();
        assert_eq!(e.code(), Code::InvalidContentType);
        assert!(e
            .to_string()
            .contains("does not support the use of a csv delimiter"));
    }

    #[test]
    fn csv_delimiter_must_be_one_ascii_char() {
        assert_eq!(parse_csv_delimiter(Some(";")).unwrap(), Some(b';'));
        assert_eq!(
            parse_csv_delimiter(Some("ab")).unwrap_err().code(),
            Code::InvalidDocumentCsvDelimiter
        );
        assert_eq!(
            parse_csv_delimiter(Some("é")).unwrap_err().code(),
            Code::InvalidDocumentCsvDelimiter
        );
    }
}
