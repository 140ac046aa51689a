//! Records the scenarios against a real Meilisearch binary and writes them
//! to `fixtures/meili-1.50/`. Ignored by default; run with:
//!
//! ```sh
//! MEILI_BIN=/path/to/meilisearch cargo test -p meili-double --test record_fixtures -- --ignored
//! ```
//!
//! The binary is started on 127.0.0.1 with a fresh database per scenario;
//! `SCENARIO=a,b` records only those scenarios.

mod support;

use std::path::PathBuf;

use support::{body_value, fixtures_dir, Exchange, Fixture, Recorded, Server};

#[test]
#[ignore = "needs a real Meilisearch binary in MEILI_BIN"]
fn record_real_meilisearch() {
    let bin = PathBuf::from(
        std::env::var("MEILI_BIN").expect("set MEILI_BIN to a Meilisearch 1.50 binary"),
    );
    let only = std::env::var("SCENARIO").ok();
    std::fs::create_dir_all(fixtures_dir()).unwrap();
    let scenarios = support::scenarios::all()
        .into_iter()
        .chain(support::api_scenarios::all());
    for scenario in scenarios {
        // SCENARIO=a,b records only those
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|n| n == scenario.name))
        {
            continue;
        }
        let db = std::env::temp_dir().join(format!(
            "meili-record-{}-{}",
            scenario.name,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&db);
        let server = Server::start(&bin, &db, &scenario.server_args);
        let version = server.request(&support::Request {
            method: "GET".into(),
            path: "/version".into(),
            content_type: None,
            body: None,
            auth: "master".into(),
            wait: false,
            shape_only: false,
            headers: Vec::new(),
        });
        let mut exchanges = Vec::new();
        for step in scenario.steps {
            let answer = server.request(&step);
            if step.wait {
                server.wait_for_tasks();
            }
            exchanges.push(Exchange {
                request: step,
                response: Recorded {
                    status: answer.status,
                    body: body_value(&answer),
                },
            });
        }
        drop(server);
        let _ = std::fs::remove_dir_all(&db);
        let fixture = Fixture {
            scenario: scenario.name.to_string(),
            recorded_with: format!(
                "Meilisearch {}",
                version.json()["pkgVersion"].as_str().unwrap_or("?")
            ),
            server_args: scenario.server_args,
            exchanges,
        };
        let path = fixtures_dir().join(format!("{}.json", scenario.name));
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&fixture).unwrap() + "\n",
        )
        .unwrap();
        eprintln!("recorded {}", path.display());
    }
}
