//! Issue 4's must-show for the other official SDKs: an application's whole workflow written
//! with the Python SDK (`meilisearch` on PyPI) and the JavaScript SDK (`meilisearch` on
//! npm), each pinned, run unchanged against one Meilisearch node and against a Miroir mesh.
//! Each script prints what the application saw, step by step (`tests/sdk/*/workflow.*`);
//! both transcripts must be equal, and the one node's transcript is checked too, so two
//! equally broken deployments cannot pass.
//!
//! The SDKs are installed by `scripts/prerequisites`; a missing one fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use miroir_e2e::{Mesh, MeshSpec, SingleNode, MASTER_KEY};
use serde_json::{json, Value};

type Transcript = BTreeMap<String, Value>;

#[derive(Clone, Copy, Debug)]
enum Sdk {
    Python,
    JavaScript,
}

fn sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk")
}

impl Sdk {
    /// The command running this SDK's workflow script, after checking the SDK is installed
    /// at its pinned version.
    fn command(self) -> Command {
        match self {
            Sdk::Python => {
                let pinned = std::fs::read_to_string(sdk_dir().join("python/requirements.txt")).expect("tests/sdk/python/requirements.txt");
                let pinned = pinned.lines().find_map(|l| l.strip_prefix("meilisearch==")).expect("meilisearch pinned in requirements.txt").trim().to_string();
                let installed = Command::new("python3").args(["-c", "import meilisearch.version as v; print(v.__version__)"]).output();
                let installed = installed.ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
                assert_eq!(
                    installed.as_deref(),
                    Some(pinned.as_str()),
                    "the official Python SDK meilisearch=={pinned} is not installed for python3: run `bash scripts/prerequisites` \
                     (or `pip install -r tests/sdk/python/requirements.txt`)"
                );
                let mut command = Command::new("python3");
                command.arg(sdk_dir().join("python/workflow.py"));
                command
            }
            Sdk::JavaScript => {
                let js = sdk_dir().join("js");
                let lock: Value = serde_json::from_str(&std::fs::read_to_string(js.join("package-lock.json")).expect("tests/sdk/js/package-lock.json"))
                    .expect("package-lock.json is JSON");
                let pinned = lock["packages"]["node_modules/meilisearch"]["version"].as_str().expect("meilisearch locked").to_string();
                let installed = std::fs::read_to_string(js.join("node_modules/meilisearch/package.json")).ok();
                let installed = installed.and_then(|p| serde_json::from_str::<Value>(&p).ok()).and_then(|p| p["version"].as_str().map(str::to_string));
                assert_eq!(
                    installed.as_deref(),
                    Some(pinned.as_str()),
                    "the official JavaScript SDK meilisearch@{pinned} is not installed in tests/sdk/js/node_modules: run \
                     `bash scripts/prerequisites` (or `npm ci` in tests/sdk/js); Node.js >= 20.19 must be on PATH"
                );
                let mut command = Command::new("node");
                command.arg(js.join("workflow.mjs"));
                command
            }
        }
    }

    /// Runs the script against the deployment at `url`; its transcript.
    fn run(self, url: &str, mode: &str) -> Transcript {
        let output = self.command().args([url, MASTER_KEY, mode]).output().unwrap_or_else(|e| panic!("run the {self:?} SDK's script: {e}"));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "the {self:?} SDK's script failed ({}):\n{stdout}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("the {self:?} SDK's transcript is not JSON ({e}):\n{stdout}"))
    }
}

/// Both SDKs' transcripts against one deployment.
fn transcripts(url: &str, mode: &str) -> [(Sdk, Transcript); 2] {
    [(Sdk::Python, Sdk::Python.run(url, mode)), (Sdk::JavaScript, Sdk::JavaScript.run(url, mode))]
}

/// Every step where Miroir's transcript differs from one node's.
fn differences(sdk: Sdk, expected: &Transcript, through_miroir: &Transcript) -> Vec<String> {
    let mut steps: Vec<&String> = expected.keys().chain(through_miroir.keys()).collect();
    steps.sort();
    steps.dedup();
    steps
        .into_iter()
        .filter(|step| expected.get(*step) != through_miroir.get(*step))
        .map(|step| format!("{sdk:?} `{step}`:\n  one node: {}\n  Miroir:   {}", show(expected.get(step)), show(through_miroir.get(step))))
        .collect()
}

fn show(outcome: Option<&Value>) -> String {
    outcome.map_or_else(|| "(no such step)".to_string(), Value::to_string)
}

/// Runs both SDKs against one node, checks what it shows, then against a mesh; compares.
fn compare(mode: &str, check_reference: impl Fn(Sdk, &Transcript)) {
    // Both SDKs must be installed before anything starts (a missing one fails, never skips).
    let _ = (Sdk::Python.command(), Sdk::JavaScript.command());
    let single = SingleNode::start();
    let expected = transcripts(&single.client.base, mode);
    drop(single);
    for (sdk, transcript) in &expected {
        let unexpected: Vec<_> = transcript.iter().filter(|(_, v)| v.get("unexpected").is_some()).collect();
        assert!(unexpected.is_empty(), "the {sdk:?} SDK failed on one node: {unexpected:?}");
        check_reference(*sdk, transcript);
    }

    let mesh = Mesh::start(MeshSpec::default());
    let through_miroir = transcripts(&mesh.client.base, mode);
    let differences: Vec<String> =
        expected.iter().zip(&through_miroir).flat_map(|((sdk, one_node), (_, miroir))| differences(*sdk, one_node, miroir)).collect();
    assert!(differences.is_empty(), "{}\n{}", differences.join("\n"), mesh.logs());
}

#[test]
fn sdk_other_python_and_javascript_through_miroir_see_what_one_node_shows() {
    compare("workflow", |sdk, seen| {
        // "space" is in every fourth title and in document 7's new one; JavaScript's workflow
        // also retitles document 9 by CSV, whose untyped id is a string: sorted after numbers.
        let mut space: Vec<Value> = (0..60).step_by(4).chain([7]).map(|i| json!(i)).collect();
        space.sort_by_key(Value::as_u64);
        if matches!(sdk, Sdk::JavaScript) {
            space.push(json!("9"));
        }
        assert_eq!(seen["search"]["ids"], json!(space), "{seen:#?}");
        assert_eq!(seen["document not created"]["error"], "document_not_found", "skipCreation");
        let metadata = &seen["add documents with metadata"];
        assert!(metadata.to_string().contains("customMetadata"), "the task shows its customMetadata: {metadata}");
        assert_eq!(seen["add documents csv"]["status"], "succeeded");
        assert_eq!(seen["add documents ndjson"]["details"]["indexedDocuments"], 10);
        assert_eq!(seen["document missing its id"]["error"], "missing_document_id");
        assert_eq!(seen["write with the search key"]["error"], "invalid_api_key");
        assert_eq!(seen["invalid filter"]["error"], "invalid_search_filter");
        assert_eq!(seen["index not found"]["error"], "index_not_found");
        assert_eq!(seen["documents left"], 50);
        assert_eq!(seen["index gone"]["http"], 404);
        let tenant = &seen["tenant token"]["search"];
        assert!(tenant.as_array().is_some_and(|t| !t.is_empty() && t.len() < space.len()), "the tenant token's filter applies: {tenant}");
        assert_eq!(seen["distinct search"]["ids"], json!([1, 2, 3]));
    });
}

/// The SDKs' batches and index swap: expected to fail until Miroir serves `/batches` and
/// `/swap-indexes` (both answer 501 `miroir_unsupported_route` before those land).
#[test]
fn sdk_other_batches_and_swap() {
    compare("batches-and-swap", |_, seen| {
        assert_eq!(seen["a after swap"], json!([10, 11, 12]), "{seen:#?}");
        assert_eq!(seen["batches"]["some"], true);
        assert_eq!(seen["swap a missing index"]["error"], "index_not_found");
    });
}
