//! Unit tests of the search: matching, filters, paging, facets, errors.

use super::*;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::format::highlight_text;
use crate::error::Code;
use crate::filter;
use crate::store::Index;
use crate::text::TypoRules;

pub(super) fn index(docs: Value, settings: Value) -> Index {
    let mut idx = Index::new("movies", Some("id".into()), OffsetDateTime::UNIX_EPOCH);
    idx.register_field("id");
    for d in docs.as_array().unwrap() {
        let id = d["id"].to_string();
        idx.upsert(id, d.as_object().unwrap().clone(), false);
    }
    idx.settings.apply(settings.as_object().unwrap());
    idx
}

pub(super) fn movies() -> Index {
    index(
        json!([
            {"id": 1, "title": "The Hobbit", "genre": "fantasy", "year": 1937},
            {"id": 2, "title": "Harry Potter and the Philosopher Stone", "genre": "Fantasy", "year": 1997},
            {"id": 3, "title": "Dune", "genre": "scifi", "year": 1965},
            {"id": 4, "title": "The Lord of the Rings", "genre": "fantasy", "year": 1954},
            {"id": 5, "title": "Foundation", "genre": "scifi", "year": 1951}
        ]),
        json!({"filterableAttributes": ["genre", "year"], "sortableAttributes": ["year", "title"]}),
    )
}

pub(super) fn search(idx: &Index, body: Value) -> Value {
    let q = SearchQuery::from_body(body.as_object().unwrap()).unwrap();
    execute(idx, &q, Instant::now()).unwrap()
}

pub(super) fn ids(res: &Value) -> Vec<i64> {
    res["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn placeholder_search_returns_everything_in_insertion_order() {
    let res = search(&movies(), json!({}));
    assert_eq!(ids(&res), vec![1, 2, 3, 4, 5]);
    assert_eq!(res["estimatedTotalHits"], 5);
    assert_eq!(res["limit"], 20);
}

#[test]
fn typo_and_prefix_matching() {
    assert_eq!(ids(&search(&movies(), json!({"q": "hobit"}))), vec![1]);
    assert_eq!(ids(&search(&movies(), json!({"q": "foun"}))), vec![5]);
    assert_eq!(
        ids(&search(&movies(), json!({"q": "dnue"}))),
        Vec::<i64>::new()
    );
}

#[test]
fn last_strategy_keeps_documents_matching_the_first_words() {
    assert_eq!(
        ids(&search(&movies(), json!({"q": "lord rings xyz"}))),
        vec![4]
    );
    assert!(ids(&search(
        &movies(),
        json!({"q": "lord xyz", "matchingStrategy": "all"})
    ))
    .is_empty());
}

#[test]
fn filter_sort_and_pagination() {
    let res = search(
        &movies(),
        json!({"filter": "genre = fantasy", "sort": ["year:desc"]}),
    );
    assert_eq!(ids(&res), vec![2, 4, 1]);
    let res = search(&movies(), json!({"hitsPerPage": 2, "page": 2}));
    assert_eq!(ids(&res), vec![3, 4]);
    assert_eq!(res["totalPages"], 3);
    assert_eq!(res["totalHits"], 5);
}

#[test]
fn facets_count_and_stats() {
    let res = search(&movies(), json!({"facets": ["genre", "year"]}));
    assert_eq!(
        res["facetDistribution"]["genre"],
        json!({"fantasy": 3, "scifi": 2})
    );
    assert_eq!(
        res["facetStats"]["year"],
        json!({"min": 1937.0, "max": 1997.0})
    );
    let keys: Vec<&String> = res["facetDistribution"]["year"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, vec!["1937", "1951", "1954", "1965", "1997"]);
}

#[test]
fn ranking_score_is_one_for_placeholder_and_below_for_partial_matches() {
    let res = search(&movies(), json!({"showRankingScore": true}));
    assert_eq!(res["hits"][0]["_rankingScore"], 1.0);
    let res = search(
        &movies(),
        json!({"q": "the hobbit", "showRankingScore": true}),
    );
    let first = res["hits"][0]["_rankingScore"].as_f64().unwrap();
    assert_eq!(res["hits"][0]["id"], 1);
    for h in res["hits"].as_array().unwrap() {
        let s = h["_rankingScore"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&s) && s <= first);
    }
}

#[test]
fn max_total_hits_caps_reachable_hits_but_not_totals() {
    let mut idx = movies();
    idx.settings.apply(
        json!({"pagination": {"maxTotalHits": 2}})
            .as_object()
            .unwrap(),
    );
    let res = search(&idx, json!({}));
    assert_eq!(ids(&res), vec![1, 2]);
    assert_eq!(res["estimatedTotalHits"], 5);
}

#[test]
fn distinct_keeps_the_first_document_per_value() {
    let res = search(&movies(), json!({"distinct": "genre"}));
    assert_eq!(ids(&res), vec![1, 3]);
}

#[test]
fn errors_name_the_index() {
    let idx = movies();
    let q = SearchQuery::from_body(json!({"filter": "title = x"}).as_object().unwrap()).unwrap();
    let e = execute(&idx, &q, Instant::now()).unwrap_err();
    assert_eq!(e.code(), Code::InvalidSearchFilter);
    assert_eq!(
        e.to_string(),
        "Index `movies`: Attribute `title` is not filterable. Available filterable attribute patterns are: `genre`, `year`.\n2:7 \"title\" = \"x\""
    );
    let q = SearchQuery::from_body(json!({"sort": ["genre:asc"]}).as_object().unwrap()).unwrap();
    assert_eq!(
        execute(&idx, &q, Instant::now()).unwrap_err().code(),
        Code::InvalidSearchSort
    );
    let q = SearchQuery::from_body(json!({"facets": ["title"]}).as_object().unwrap()).unwrap();
    assert_eq!(
        execute(&idx, &q, Instant::now()).unwrap_err().code(),
        Code::InvalidSearchFacets
    );
}

#[test]
fn count_ordered_facets_break_ties_by_descending_value() {
    let mut idx = movies();
    idx.settings.apply(
        json!({"faceting": {"sortFacetValuesBy": {"*": "count"}, "maxValuesPerFacet": 2}})
            .as_object()
            .unwrap(),
    );
    let res = search(&idx, json!({"facets": ["genre", "year"]}));
    let genre: Vec<&String> = res["facetDistribution"]["genre"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(genre, vec!["fantasy", "scifi"]);
    let year: Vec<&String> = res["facetDistribution"]["year"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(year, vec!["1997", "1965"]);
}

#[test]
fn highlights_matched_words() {
    let rules = TypoRules {
        enabled: true,
        one_typo: 5,
        two_typos: 9,
    };
    assert_eq!(
        highlight_text("Wonder Woman", &["wond".into()], rules, "<em>", "</em>"),
        "<em>Wond</em>er Woman"
    );
}

#[test]
fn serialized_filters_quote_every_token() {
    let f = filter::parse_str("genre = a AND (year > 1 OR title != \"x y\")")
        .unwrap()
        .unwrap();
    assert_eq!(
        serialize(&f),
        "(\"genre\" = \"a\") AND ((\"year\" > \"1\") OR (\"title\" != \"x y\"))"
    );
}
