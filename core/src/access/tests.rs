use serde_json::json;

use super::*;
use crate::route::classify;

fn need(action: &'static str, index: Option<&str>) -> Need {
    Need::on(action, index)
}

fn need_for(method: Method, path: &str) -> Option<(&'static str, Option<String>)> {
    need_of(&classify(method, path), method, path).map(|n| (n.action, n.index))
}

#[test]
fn every_route_needs_the_action_meilisearchs_route_table_names() {
    use Method::*;
    let on = |a: &'static str, i: &str| Some((a, Some(i.to_string())));
    let global = |a: &'static str| Some((a, None));
    assert_eq!(need_for(Get, "/health"), None);
    assert_eq!(need_for(Get, "/version"), global("version"));
    assert_eq!(need_for(Get, "/indexes"), global("indexes.get"));
    assert_eq!(need_for(Get, "/indexes/movies"), on("indexes.get", "movies"));
    assert_eq!(need_for(Get, "/indexes/movies/settings"), on("settings.get", "movies"));
    assert_eq!(need_for(Get, "/indexes/movies/settings/ranking-rules"), on("settings.get", "movies"));
    assert_eq!(need_for(Get, "/indexes/movies/stats"), on("stats.get", "movies"));
    assert_eq!(need_for(Get, "/stats"), global("stats.get"));
    assert_eq!(need_for(Post, "/indexes/movies/search"), on("search", "movies"));
    assert_eq!(need_for(Get, "/indexes/movies/search?q=a"), on("search", "movies"));
    assert_eq!(need_for(Post, "/indexes/movies/facet-search"), on("search", "movies"));
    assert_eq!(need_for(Post, "/indexes/movies/similar"), on("search", "movies"));
    assert_eq!(need_for(Post, "/multi-search"), global("search"));
    assert_eq!(need_for(Get, "/indexes/movies/documents"), on("documents.get", "movies"));
    assert_eq!(need_for(Post, "/indexes/movies/documents/fetch"), on("documents.get", "movies"));
    assert_eq!(need_for(Get, "/indexes/movies/documents/7"), on("documents.get", "movies"));
    assert_eq!(need_for(Post, "/indexes/movies/fields"), on("fields.post", "movies"));
    assert_eq!(need_for(Get, "/tasks"), global("tasks.get"));
    assert_eq!(need_for(Get, "/tasks/3"), global("tasks.get"));
    assert_eq!(need_for(Get, "/batches"), global("tasks.get"));
    assert_eq!(need_for(Get, "/batches/2"), global("tasks.get"));
    assert_eq!(need_for(Get, "/keys"), global("keys.get"));
    assert_eq!(need_for(Get, "/keys/abc"), global("keys.get"));
    assert_eq!(need_for(Get, "/experimental-features"), global("experimental.get"));
    // Writes, as before.
    assert_eq!(need_for(Post, "/indexes/movies/documents"), on("documents.add", "movies"));
    assert_eq!(need_for(Delete, "/keys/abc"), global("keys.delete"));
    assert_eq!(need_for(Patch, "/indexes/movies/settings"), on("settings.update", "movies"));
}

#[test]
fn actions_match_exactly_or_by_wildcard() {
    let key = json!({"actions": ["documents.*", "search"], "indexes": ["*"]});
    assert!(judge(&key, &need("documents.add", Some("movies")), 1).is_ok());
    assert_eq!(judge(&key, &need("settings.update", Some("movies")), 1).unwrap_err().code, Code::InvalidApiKey);
    assert!(judge(&json!({"actions": ["*"], "indexes": ["*"]}), &need("keys.create", None), 1).is_ok());
}

#[test]
fn star_get_grants_reads_but_not_the_keys() {
    let key = json!({"actions": ["*.get"], "indexes": ["*"]});
    for action in ["search", "documents.get", "settings.get", "stats.get", "tasks.get", "version", "fields.post"] {
        assert!(judge(&key, &need(action, None), 1).is_ok(), "{action}");
    }
    for action in ["keys.get", "documents.add", "settings.update"] {
        assert!(judge(&key, &need(action, None), 1).is_err(), "{action}");
    }
}

#[test]
fn indexes_are_checked_first_and_listed_sorted() {
    let key = json!({"actions": ["*"], "indexes": ["prod_*", "movies"]});
    assert!(judge(&key, &need("documents.add", Some("prod_books")), 1).is_ok());
    let refusal = judge(&key, &need("documents.add", Some("books")), 1).unwrap_err();
    assert_eq!(refusal.code, Code::InvalidApiKey);
    assert_eq!(refusal.message, r#"The API key cannot acces the index `books`, authorized indexes are ["movies", "prod_*"]."#);
}

#[test]
fn without_an_index_a_scoped_key_passes_only_routes_that_filter_by_index() {
    let scoped = json!({"actions": ["*"], "indexes": ["movies"]});
    assert!(judge(&scoped, &need("indexes.get", None), 1).is_ok(), "GET /indexes lists the key's own");
    assert!(judge(&scoped, &need("tasks.get", None), 1).is_ok());
    assert!(judge(&scoped, &need("search", None), 1).is_ok(), "multi-search checks each query");
    assert!(judge(&scoped, &need("version", None), 1).is_err());
    assert!(judge(&scoped, &need("keys.get", None), 1).is_err());
}

#[test]
fn an_expired_key_is_invalid_and_an_unknown_clock_leaves_it_to_the_nodes() {
    let key = json!({"actions": ["search"], "indexes": ["*"], "expiresAt": "2030-01-01T00:00:00Z"});
    let before = 1_893_455_999_000; // 2029-12-31T23:59:59Z
    assert!(judge(&key, &need("search", Some("movies")), before).is_ok());
    let refusal = judge(&key, &need("search", Some("movies")), before + 1_000).unwrap_err();
    assert_eq!((refusal.code, refusal.message.as_str()), (Code::InvalidApiKey, "The provided API key is invalid."));
    assert!(judge(&key, &need("search", Some("movies")), 0).is_ok());
}

#[test]
fn headers_are_parsed_as_meilisearch_does() {
    assert_eq!(bearer(None).unwrap_err().code, Code::MissingAuthorizationHeader);
    assert_eq!(bearer(Some("Basic abc")).unwrap_err().code, Code::MissingAuthorizationHeader);
    assert_eq!(bearer(Some("Bearer")).unwrap_err().code, Code::InvalidApiKey);
    assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
}
