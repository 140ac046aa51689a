//! Routes Meilisearch has but the double does not model answer a clear
//! Meilisearch-shaped error naming them; unknown routes a bare 404.

mod support;

use std::path::Path;

use support::{http, Server, MASTER_KEY};

#[test]
fn unmodelled_routes_are_named_not_answered_wrongly() {
    let db = std::env::temp_dir().join(format!("meili-double-unsupported-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&db);
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_meili-double")), &db, &[]);
    let auth = format!("Bearer {MASTER_KEY}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    for (method, path) in [
        ("POST", "/indexes/movies/similar"),
        ("POST", "/dumps"),
        ("GET", "/network"),
        ("POST", "/indexes/movies/documents/edit"),
    ] {
        let a = http(server.port, method, path, &headers, Some(b"{}"));
        assert_eq!(a.status, 501, "{method} {path}: {}", a.body);
        let body = a.json();
        assert_eq!(body["code"], "not_implemented");
        assert!(body["message"].as_str().unwrap_or_default().contains(path));
    }
    let a = http(server.port, "GET", "/nope", &headers, None);
    assert_eq!((a.status, a.body.as_str()), (404, ""));
    drop(server);
    let _ = std::fs::remove_dir_all(&db);
}
