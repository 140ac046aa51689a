//! `GET /indexes/{uid}/search` query parameters as the JSON body of a `POST` search.
//!
//! Only well-formed values are converted; anything else makes the conversion fail, and
//! the flow then lets one node answer the client's request as it was, so a malformed
//! parameter gets exactly the error a single node gives.

use serde_json::{Map, Number, Value};

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Float,
    Bool,
    /// Comma-separated list.
    List,
}

fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "q" | "filter" | "distinct" | "highlightPreTag" | "highlightPostTag" | "cropMarker" | "matchingStrategy"
        | "hybridEmbedder" => Kind::Text,
        "offset" | "limit" | "page" | "hitsPerPage" | "cropLength" => Kind::Integer,
        "rankingScoreThreshold" | "hybridSemanticRatio" => Kind::Float,
        "showMatchesPosition" | "showRankingScore" | "showRankingScoreDetails" | "retrieveVectors" => Kind::Bool,
        "attributesToRetrieve" | "attributesToCrop" | "attributesToHighlight" | "sort" | "facets"
        | "attributesToSearchOn" | "locales" => Kind::List,
        _ => return None,
    })
}

/// The POST body equal to these GET parameters, or `None` when a value needs the
/// node's own validation.
pub fn to_search_body(query: &str) -> Option<Value> {
    let mut body = Map::new();
    let mut hybrid = Map::new();
    for (name, raw) in form_urlencoded::parse(query.as_bytes()) {
        let value = match kind_of(&name)? {
            Kind::Text => Value::String(raw.to_string()),
            Kind::Integer => Value::Number(raw.parse::<u64>().ok()?.into()),
            Kind::Float => Value::Number(Number::from_f64(raw.parse::<f64>().ok()?)?),
            Kind::Bool => Value::Bool(raw.parse::<bool>().ok()?),
            Kind::List => Value::Array(raw.split(',').map(|s| Value::String(s.trim().to_string())).collect()),
        };
        match name.as_ref() {
            "hybridEmbedder" => drop(hybrid.insert("embedder".into(), value)),
            "hybridSemanticRatio" => drop(hybrid.insert("semanticRatio".into(), value)),
            other => drop(body.insert(other.to_string(), value)),
        }
    }
    if !hybrid.is_empty() {
        body.insert("hybrid".into(), Value::Object(hybrid));
    }
    Some(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_parameters_become_a_search_body() {
        let body = to_search_body("q=star%20wars&limit=5&showRankingScore=true&sort=year:desc,title:asc&filter=genre%20%3D%20a").unwrap();
        assert_eq!(
            body,
            json!({"q": "star wars", "limit": 5, "showRankingScore": true, "sort": ["year:desc", "title:asc"], "filter": "genre = a"})
        );
    }

    #[test]
    fn malformed_or_unknown_parameters_are_left_to_a_node() {
        assert_eq!(to_search_body("limit=abc"), None);
        assert_eq!(to_search_body("showRankingScore=yes"), None);
        assert_eq!(to_search_body("nope=1"), None);
    }
}
