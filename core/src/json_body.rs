//! JSON request bodies, refused the way Meilisearch's JSON extractor refuses them.

use serde::de::DeserializeOwned;

use crate::error::{Code, MeiliError};

/// Routes with a JSON body accept only `application/json`.
pub fn check_content_type(content_type: Option<&str>) -> Result<(), MeiliError> {
    let accepted = "`application/json`";
    match content_type {
        None => Err(MeiliError::new(
            Code::MissingContentType,
            format!("A Content-Type header is missing. Accepted values for the Content-Type header are: {accepted}"),
        )),
        Some(ct) if ct.split(';').next().map(str::trim).is_some_and(|m| m.eq_ignore_ascii_case("application/json")) => Ok(()),
        Some(ct) => Err(MeiliError::new(
            Code::InvalidContentType,
            format!("The Content-Type `{ct}` is invalid. Accepted values for the Content-Type header are: {accepted}"),
        )),
    }
}

/// Parses a JSON body: empty → `missing_payload`, bad syntax → `malformed_payload`,
/// wrong shape → `bad_request`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, MeiliError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof if e.line() == 1 && e.column() == 0 => {
            MeiliError::new(Code::MissingPayload, "A json payload is missing.")
        }
        serde_json::error::Category::Data => MeiliError::new(Code::BadRequest, format!("Json deserialize error: {e}")),
        _ => MeiliError::new(Code::MalformedPayload, format!("The json payload provided is malformed. `{e}`.")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_match_meilisearch_codes() {
        assert_eq!(parse::<Vec<u8>>(b"").unwrap_err().code, Code::MissingPayload);
        assert_eq!(parse::<Vec<u8>>(b"[1,").unwrap_err().code, Code::MalformedPayload);
        assert_eq!(parse::<Vec<u8>>(b"{}").unwrap_err().code, Code::BadRequest);
        assert_eq!(check_content_type(None).unwrap_err().code, Code::MissingContentType);
        assert_eq!(check_content_type(Some("text/csv")).unwrap_err().code, Code::InvalidContentType);
        assert!(check_content_type(Some("application/json; charset=utf-8")).is_ok());
    }
}
