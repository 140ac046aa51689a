//! The double keeps its state under `--db-path` across restarts, including
//! after `kill -9`.

mod support;

use std::path::Path;

use support::{http, Server, MASTER_KEY};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_meili-double"))
}

fn call(server: &Server, method: &str, path: &str, body: Option<&str>) -> support::Answer {
    let auth = format!("Bearer {MASTER_KEY}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    http(server.port, method, path, &headers, body.map(str::as_bytes))
}

#[test]
fn state_survives_kill_9_and_restart() {
    let db = std::env::temp_dir().join(format!("meili-double-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&db);
    {
        let server = Server::start(bin(), &db, &[]);
        let a = call(
            &server,
            "POST",
            "/indexes/movies/documents",
            Some(r#"[{"id":1,"title":"Carol"},{"id":2,"title":"Moana"}]"#),
        );
        assert_eq!(a.status, 202);
        let a = call(
            &server,
            "PATCH",
            "/indexes/movies/settings",
            Some(r#"{"filterableAttributes":["title"]}"#),
        );
        assert_eq!(a.status, 202);
        server.wait_for_tasks();
        // dropping the guard sends SIGKILL
    }
    let server = Server::start(bin(), &db, &[]);
    let docs = call(&server, "GET", "/indexes/movies/documents", None).json();
    assert_eq!(docs["total"], 2);
    assert_eq!(docs["results"][1]["title"], "Moana");
    let settings = call(
        &server,
        "GET",
        "/indexes/movies/settings/filterable-attributes",
        None,
    )
    .json();
    assert_eq!(settings, serde_json::json!(["title"]));
    let tasks = call(&server, "GET", "/tasks", None).json();
    assert_eq!(tasks["total"], 2);
    assert_eq!(tasks["results"][0]["status"], "succeeded");
    // new tasks continue the uid sequence
    let a = call(&server, "DELETE", "/indexes/movies/documents/1", None).json();
    assert_eq!(a["taskUid"], 2);
    server.wait_for_tasks();
    drop(server);
    let server = Server::start(bin(), &db, &[]);
    assert_eq!(
        call(&server, "GET", "/indexes/movies/documents", None).json()["total"],
        1
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&db);
}

#[test]
fn keys_and_features_survive_restart() {
    let db = std::env::temp_dir().join(format!("meili-double-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&db);
    let uid = "99999999-9999-4999-8999-999999999999";
    let (default_keys, key) = {
        let server = Server::start(bin(), &db, &[]);
        let keys = call(&server, "GET", "/keys", None).json();
        assert_eq!(keys["total"], 4, "the default keys: {keys}");
        let body =
            format!(r#"{{"uid":"{uid}","actions":["search"],"indexes":["*"],"expiresAt":null}}"#);
        let created = call(&server, "POST", "/keys", Some(&body));
        assert_eq!(created.status, 201, "{}", created.body);
        let a = call(
            &server,
            "PATCH",
            "/experimental-features",
            Some(r#"{"metrics":true}"#),
        );
        assert_eq!(a.status, 200);
        (keys["results"].clone(), created.json()["key"].clone())
    };
    let server = Server::start(bin(), &db, &[]);
    let keys = call(&server, "GET", "/keys", None).json();
    assert_eq!(keys["total"], 5);
    // the default keys are not created again, and keep their values
    for k in default_keys.as_array().unwrap() {
        let again = call(
            &server,
            "GET",
            &format!("/keys/{}", k["uid"].as_str().unwrap()),
            None,
        )
        .json();
        assert_eq!(again["key"], k["key"]);
    }
    assert_eq!(
        call(&server, "GET", &format!("/keys/{uid}"), None).json()["key"],
        key
    );
    assert_eq!(
        call(&server, "GET", "/experimental-features", None).json()["metrics"],
        true
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&db);
}
