//! The answer of a search: the page of hits (displayed and retrieved
//! attributes, `_formatted`, ranking score and details), the totals in
//! offset/limit or page mode, and the facets.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::documents::select;
use crate::payload::Document;
use crate::ranking;
use crate::store::Index;

use super::facets::facet_distribution;
use super::format::format_hit;
use super::matching::Scored;
use super::prepare::Plan;
use super::rank::Ranked;
use super::{request_uid, SearchQuery};

/// Builds hits as one search of `index` shows them.
pub struct HitMaker<'a> {
    displayed: Option<Vec<String>>,
    separated: bool,
    query: &'a SearchQuery,
    words: &'a [String],
    rules: crate::text::TypoRules,
}

impl<'a> HitMaker<'a> {
    pub fn new(index: &Index, plan: &Plan, query: &'a SearchQuery, ranked: &'a Ranked) -> Self {
        HitMaker {
            displayed: index.settings.displayed(),
            separated: ranking::separated(&plan.ranking_rules),
            query,
            words: &ranked.words,
            rules: ranked.rules,
        }
    }

    /// One hit: displayed then retrieved attributes, `_formatted`,
    /// `_rankingScore`, `_rankingScoreDetails` (in Meilisearch's key order).
    pub fn hit(&self, scored: &Scored, doc: &Document) -> Map<String, Value> {
        self.hit_with(scored, doc, None)
    }

    /// A hit with `_federation` (federated search) after the document's
    /// fields, before `_formatted` and the scores, where Meilisearch puts it.
    pub fn hit_with(
        &self,
        scored: &Scored,
        doc: &Document,
        federation: Option<Value>,
    ) -> Map<String, Value> {
        let query = self.query;
        let mut hit = match &self.displayed {
            Some(list) => select(doc, list),
            None => doc.clone(),
        };
        if let Some(attrs) = &query.attributes_to_retrieve {
            hit = select(&hit, attrs);
        }
        let formatted = (query.attributes_to_highlight.is_some()
            || query.attributes_to_crop.is_some())
        .then(|| format_hit(&hit, query, self.words, self.rules));
        if let Some(f) = federation {
            hit.insert("_federation".into(), f);
        }
        if let Some(formatted) = formatted {
            hit.insert("_formatted".into(), Value::Object(formatted));
        }
        if query.show_ranking_score {
            hit.insert(
                "_rankingScore".into(),
                json!(ranking::global_score(&scored.details)),
            );
        }
        if query.show_ranking_score_details {
            hit.insert(
                "_rankingScoreDetails".into(),
                Value::Object(ranking::to_json(&scored.details, self.separated)),
            );
        }
        hit
    }
}

/// The `offset` and `limit` a query's paging parameters select.
pub fn window(query: &SearchQuery) -> (usize, usize) {
    if query.page.is_some() || query.hits_per_page.is_some() {
        let hpp = query.hits_per_page.unwrap_or(20);
        let page = query.page.unwrap_or(1);
        (
            page.saturating_sub(1).saturating_mul(hpp),
            if page == 0 { 0 } else { hpp },
        )
    } else {
        (query.offset.unwrap_or(0), query.limit.unwrap_or(20))
    }
}

/// Facet distribution and stats over every ranked hit, keyed by facet name.
pub fn facets(names: &[String], ranked: &Ranked, index: &Index) -> (Value, Value) {
    let by_id: Vec<(u32, &Document)> = ranked.hits.iter().map(|(s, d)| (s.internal, *d)).collect();
    facets_of(names, by_id, index)
}

/// Facet distribution and stats over documents given with their internal ids.
pub fn facets_of(
    names: &[String],
    mut by_id: Vec<(u32, &Document)>,
    index: &Index,
) -> (Value, Value) {
    by_id.sort_by_key(|(i, _)| *i);
    let docs: Vec<&Document> = by_id.into_iter().map(|(_, d)| d).collect();
    let (distribution, stats) = facet_distribution(names, &docs, index);
    // Meilisearch lists facets by name
    let sorted = |m: Map<String, Value>| -> Value {
        Value::Object(
            m.into_iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        )
    };
    (sorted(distribution), sorted(stats))
}

/// The answer of `POST /indexes/{uid}/search`.
pub fn render(
    index: &Index,
    query: &SearchQuery,
    plan: &Plan,
    ranked: &Ranked,
    started: Instant,
) -> Value {
    let total = ranked.hits.len();
    let paged = query.page.is_some() || query.hits_per_page.is_some();
    let (offset, limit) = window(query);
    let reachable = total.min(index.settings.max_total_hits());
    let maker = HitMaker::new(index, plan, query, ranked);
    let hits: Vec<Value> = ranked
        .hits
        .iter()
        .take(reachable)
        .skip(offset)
        .take(limit)
        .map(|(s, doc)| Value::Object(maker.hit(s, doc)))
        .collect();

    let mut out = Map::new();
    out.insert("hits".into(), Value::Array(hits));
    out.insert("query".into(), json!(ranked.q));
    out.insert(
        "processingTimeMs".into(),
        json!(started.elapsed().as_millis() as u64),
    );
    if paged {
        let hpp = query.hits_per_page.unwrap_or(20);
        out.insert("hitsPerPage".into(), json!(hpp));
        out.insert("page".into(), json!(query.page.unwrap_or(1)));
        let pages = if hpp == 0 { 0 } else { total.div_ceil(hpp) };
        out.insert("totalPages".into(), json!(pages));
        out.insert("totalHits".into(), json!(total));
    } else {
        out.insert("limit".into(), json!(limit));
        out.insert("offset".into(), json!(offset));
        out.insert("estimatedTotalHits".into(), json!(total));
    }
    if let Some(names) = &plan.facet_names {
        let (distribution, stats) = facets(names, ranked, index);
        out.insert("facetDistribution".into(), distribution);
        out.insert("facetStats".into(), stats);
    }
    out.insert("requestUid".into(), json!(request_uid()));
    Value::Object(out)
}
