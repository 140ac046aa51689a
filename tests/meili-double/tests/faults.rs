//! Fault injection through `/_double/faults`.

mod support;

use std::path::Path;
use std::time::Instant;

use support::{http, Server, MASTER_KEY};

fn call(server: &Server, method: &str, path: &str, body: Option<&str>) -> support::Answer {
    let auth = format!("Bearer {MASTER_KEY}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    http(server.port, method, path, &headers, body.map(str::as_bytes))
}

#[test]
fn faults_answer_errors_delay_and_clear() {
    let db = std::env::temp_dir().join(format!("meili-double-faults-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&db);
    let server = Server::start(Path::new(env!("CARGO_BIN_EXE_meili-double")), &db, &[]);

    // the fault routes need the master key
    assert_eq!(
        http(server.port, "GET", "/_double/faults", &[], None).status,
        401
    );

    let a = call(
        &server,
        "POST",
        "/_double/faults",
        Some(r#"{"method":"GET","pathPrefix":"/indexes","mode":"once","status":503}"#),
    );
    assert_eq!(a.status, 200);
    let err = call(&server, "GET", "/indexes", None);
    assert_eq!(err.status, 503);
    assert_eq!(err.json()["code"], "internal");
    assert!(err.json()["link"]
        .as_str()
        .unwrap()
        .starts_with("https://docs.meilisearch.com/errors#"));
    assert_eq!(
        call(&server, "GET", "/indexes", None).status,
        200,
        "a `once` fault fires once"
    );

    // an array replaces the list; delay only
    let a = call(
        &server,
        "POST",
        "/_double/faults",
        Some(r#"[{"method":null,"pathPrefix":"/version","mode":"always","delayMs":300}]"#),
    );
    assert_eq!(a.json()["faults"].as_array().unwrap().len(), 1);
    let start = Instant::now();
    assert_eq!(call(&server, "GET", "/version", None).status, 200);
    assert!(start.elapsed().as_millis() >= 300);

    // always + status
    call(
        &server,
        "POST",
        "/_double/faults",
        Some(r#"{"pathPrefix":"/indexes/x/search","mode":"always","status":500}"#),
    );
    assert_eq!(
        call(&server, "POST", "/indexes/x/search", Some("{}")).status,
        500
    );
    assert_eq!(
        call(&server, "POST", "/indexes/x/search", Some("{}")).status,
        500
    );

    assert_eq!(call(&server, "DELETE", "/_double/faults", None).status, 200);
    assert_eq!(
        call(&server, "POST", "/indexes/x/search", Some("{}")).status,
        404
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&db);
}
