//! Replays every request recorded against a real Meilisearch 1.50
//! (`fixtures/meili-1.50/*.json`) against a freshly started double and
//! checks the same status, the same error `code` and `message`, and the
//! same JSON shape (keys and value types recursively, array lengths;
//! values of timestamps, durations, uids, sizes and ranking scores are
//! ignored). Other scalar values and the key order must match too, unless
//! `SHAPE_ONLY=1` is set.

mod support;

use std::path::Path;

use support::{body_value, fixtures_dir, shape_diff, shape_only_diff, Fixture, Server};

/// An expired tenant token's message quotes the current time: hide it.
fn normalize_clock(body: &mut serde_json::Value) {
    if let Some(serde_json::Value::String(m)) = body.get_mut("message") {
        if let Some(at) = m.find("we're now `") {
            let start = at + "we're now `".len();
            let end = m[start..].find('`').map_or(m.len(), |e| start + e);
            m.replace_range(start..end, "<now>");
        }
    }
}

fn replay(fixture: &Fixture) -> Vec<String> {
    let bin = Path::new(env!("CARGO_BIN_EXE_meili-double"));
    let db = std::env::temp_dir().join(format!(
        "meili-double-replay-{}-{}",
        fixture.scenario,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&db);
    let server = Server::start(bin, &db, &fixture.server_args);
    let mut failures = Vec::new();
    for (i, exchange) in fixture.exchanges.iter().enumerate() {
        let req = &exchange.request;
        let answer = server.request(req);
        if req.wait {
            server.wait_for_tasks();
        }
        let label = format!("{} #{i} {} {}", fixture.scenario, req.method, req.path);
        let expected = &exchange.response;
        let mut expected_body = expected.body.clone();
        let mut actual = body_value(&answer);
        normalize_clock(&mut expected_body);
        normalize_clock(&mut actual);
        let expected = support::Recorded {
            status: expected.status,
            body: expected_body,
        };
        if answer.status != expected.status {
            failures.push(format!(
                "{label}: status {} != recorded {} (body {})",
                answer.status, expected.status, answer.body
            ));
            continue;
        }
        for key in ["code", "message"] {
            if expected.body.get(key).is_some()
                && expected.body.get("link").is_some()
                && expected.body[key] != actual[key]
            {
                failures.push(format!(
                    "{label}: {key} {} != recorded {}",
                    actual[key], expected.body[key]
                ));
            }
        }
        // failed tasks: compare their error code too
        if let Some(code) = expected.body.get("error").and_then(|e| e.get("code")) {
            if actual.get("error").and_then(|e| e.get("code")) != Some(code) {
                failures.push(format!(
                    "{label}: task error {} != recorded {}",
                    actual["error"], expected.body["error"]
                ));
            }
        }
        let mut diffs = Vec::new();
        if req.shape_only {
            shape_only_diff(&expected.body, &actual, &mut diffs);
        } else {
            shape_diff(&expected.body, &actual, "", &mut diffs);
        }
        for d in diffs {
            failures.push(format!("{label}: shape {d}"));
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&db);
    failures
}

#[test]
fn double_answers_like_recorded_meilisearch() {
    let mut entries: Vec<_> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no fixtures recorded");
    let only = std::env::var("SCENARIO").ok();
    let mut failures = Vec::new();
    for path in entries {
        let fixture: Fixture = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if only.as_deref().is_some_and(|o| o != fixture.scenario) {
            continue;
        }
        failures.extend(replay(&fixture));
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
