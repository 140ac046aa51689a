//! Compares Miroir's search answers with a reference node's, query by query.

use serde_json::{json, Value};

use crate::ties::same_up_to_ties;
use crate::Client;

/// One query's verdict.
pub struct Verdict {
    pub query: Value,
    pub problem: Option<String>,
    /// `estimatedTotalHits` is an estimate on one node too; Miroir sums the nodes'.
    pub estimate_differs: bool,
}

/// Runs `query` against both and judges Miroir's answer: identical up to ties, with
/// equal totals, facet distribution and facet stats.
pub fn judge(miroir: &Client, reference: &Client, index: &str, query: &Value) -> Verdict {
    let path = format!("/indexes/{index}/search");
    let mut asked = query.clone();
    asked["showRankingScoreDetails"] = json!(true);
    let (offset, window) = match (query.get("page"), query.get("hitsPerPage")) {
        (Some(page), Some(per)) => {
            let (page, per) = (page.as_u64().unwrap_or(1), per.as_u64().unwrap_or(20));
            ((page.saturating_sub(1) * per) as usize, page * per)
        }
        _ => {
            let offset = query["offset"].as_u64().unwrap_or(0);
            (offset as usize, offset + query["limit"].as_u64().unwrap_or(20))
        }
    };
    let got = miroir.json("POST", &path, &asked);
    let same = reference.json("POST", &path, &asked);
    let hits = |v: &Value| v["hits"].as_array().map_or(0, Vec::len);
    let problem = if got.status != same.status || got.status != 200 {
        Some(format!("status {} vs {}: {}", got.status, same.status, got.body))
    } else if hits(&got.body) != hits(&same.body) {
        Some(format!("{} hits vs {}", hits(&got.body), hits(&same.body)))
    } else if let Some(field) = ["totalHits", "totalPages", "facetDistribution", "facetStats"]
        .into_iter()
        .find(|f| got.body.get(*f) != same.body.get(*f))
    {
        Some(format!("{field}: {:?} vs {:?}", got.body.get(field), same.body.get(field)))
    } else {
        let mut wide_query = asked.clone();
        for k in ["page", "hitsPerPage", "offset"] {
            wide_query.as_object_mut().map(|o| o.remove(k));
        }
        wide_query["limit"] = json!(window + 200);
        let wide = reference.json("POST", &path, &wide_query);
        same_up_to_ties(&got.body, &wide.body, offset, "id").err()
    };
    let estimate_differs = got.body.get("estimatedTotalHits") != same.body.get("estimatedTotalHits");
    Verdict { query: query.clone(), problem, estimate_differs }
}
