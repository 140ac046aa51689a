//! Which payload format a request carries, decided from its headers the way Meilisearch does.

use crate::error::{Code, MeiliError, ACCEPTED_CONTENT_TYPES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    Json,
    Ndjson,
    Csv { delimiter: u8 },
}

impl PayloadFormat {
    /// From the `Content-Type` header and the `csvDelimiter` query parameter.
    pub fn from_request(content_type: Option<&str>, csv_delimiter: Option<&str>) -> Result<Self, MeiliError> {
        let delimiter = csv_delimiter.map(parse_delimiter).transpose()?;
        let Some(raw) = content_type else {
            return Err(missing_content_type());
        };
        // A mime type is `type/subtype` with optional `; params`.
        let essence = raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((kind, sub)) = essence.split_once('/').filter(|(k, s)| !k.is_empty() && !s.is_empty())
        else {
            return Err(invalid_content_type(raw));
        };
        match ((kind, sub), delimiter) {
            (("application", "json"), None) => Ok(PayloadFormat::Json),
            (("application", "x-ndjson"), None) => Ok(PayloadFormat::Ndjson),
            (("text", "csv"), d) => Ok(PayloadFormat::Csv { delimiter: d.unwrap_or(b',') }),
            (("application", "json" | "x-ndjson"), Some(_)) => Err(MeiliError::new(
                Code::InvalidContentType,
                format!(
                    "The Content-Type `{kind}/{sub}` does not support the use of a csv delimiter. \
                     The csv delimiter can only be used with the Content-Type `text/csv`."
                ),
            )),
            _ => Err(invalid_content_type(&essence)),
        }
    }

    /// The name Meilisearch uses in its messages.
    pub fn name(self) -> &'static str {
        match self {
            PayloadFormat::Json => "json",
            PayloadFormat::Ndjson => "ndjson",
            PayloadFormat::Csv { .. } => "csv",
        }
    }
}

fn parse_delimiter(raw: &str) -> Result<u8, MeiliError> {
    let mut chars = raw.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() => Ok(c as u8),
        (Some(c), None) => Err(MeiliError::new(
            Code::InvalidDocumentCsvDelimiter,
            format!("csv delimiter must be an ascii character. Found: `{c}`"),
        )),
        _ => Err(MeiliError::new(
            Code::InvalidDocumentCsvDelimiter,
            format!("Invalid value in parameter `csvDelimiter`: expected a string of one character, but found the following string of {} characters: `{raw}`", raw.chars().count()),
        )),
    }
}

fn missing_content_type() -> MeiliError {
    MeiliError::new(
        Code::MissingContentType,
        format!("A Content-Type header is missing. Accepted values for the Content-Type header are: {ACCEPTED_CONTENT_TYPES}"),
    )
}

fn invalid_content_type(found: &str) -> MeiliError {
    MeiliError::new(
        Code::InvalidContentType,
        format!("The Content-Type `{found}` is invalid. Accepted values for the Content-Type header are: {ACCEPTED_CONTENT_TYPES}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_headers() {
        assert_eq!(PayloadFormat::from_request(Some("application/json"), None), Ok(PayloadFormat::Json));
        assert_eq!(PayloadFormat::from_request(Some("application/json; charset=utf-8"), None), Ok(PayloadFormat::Json));
        assert_eq!(PayloadFormat::from_request(Some("application/x-ndjson"), None), Ok(PayloadFormat::Ndjson));
        assert_eq!(PayloadFormat::from_request(Some("text/csv"), Some(";")), Ok(PayloadFormat::Csv { delimiter: b';' }));
    }

    #[test]
    fn refusals_carry_meilisearch_codes() {
        let code = |ct, d| PayloadFormat::from_request(ct, d).unwrap_err().code;
        assert_eq!(code(None, None), Code::MissingContentType);
        assert_eq!(code(Some("text/plain"), None), Code::InvalidContentType);
        assert_eq!(code(Some("application/json"), Some(";")), Code::InvalidContentType);
        assert_eq!(code(Some("text/csv"), Some(";;")), Code::InvalidDocumentCsvDelimiter);
        let non_ascii = PayloadFormat::from_request(Some("text/csv"), Some("é")).unwrap_err();
        assert_eq!(non_ascii.message, "csv delimiter must be an ascii character. Found: `é`");
    }
}
