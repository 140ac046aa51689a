//! The bootstrap `miroir envoy-config` prints is accepted by the real Envoy
//! (`envoy --mode validate`, a fraction of a second), and the committed example is current.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn envoy_config(args: &[&str]) -> Value {
    let out = Command::new(support::miroir_bin()).arg("envoy-config").args(args).output().unwrap();
    assert!(out.status.success(), "miroir envoy-config failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("envoy-config prints JSON")
}

fn validate(config: &Path, cwd: &Path) {
    let out = Command::new(support::envoy_bin()).args(["--mode", "validate", "-c"]).arg(config).current_dir(cwd).output().unwrap();
    assert!(
        out.status.success(),
        "envoy rejected {}:\n{}{}",
        config.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_generated_bootstrap_passes_envoy_validation() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("filter.wasm");
    support::write_noop_filter(&wasm);
    let bootstrap = envoy_config(&["--nodes", "4", "--rf", "2", "--groups", "2", "--shards", "8", "--filter-wasm", wasm.to_str().unwrap()]);
    let config = dir.path().join("envoy.json");
    std::fs::write(&config, serde_json::to_vec_pretty(&bootstrap).unwrap()).unwrap();
    validate(&config, dir.path());
}

#[test]
fn the_committed_example_is_what_envoy_config_prints_and_envoy_accepts_it() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../envoy/dev-3-nodes.json");
    let committed: Value = serde_json::from_slice(&std::fs::read(&example).unwrap()).unwrap();
    assert_eq!(
        committed,
        envoy_config(&["--nodes", "3", "--rf", "2", "--shards", "16"]),
        "envoy/dev-3-nodes.json is stale: regenerate it with `miroir envoy-config --nodes 3 --rf 2 --shards 16`"
    );
    // Its filter path is relative to the repository root, where Envoy would run.
    let root = tempfile::tempdir().unwrap();
    support::write_noop_filter(&root.path().join(miroir::launcher::DEFAULT_FILTER_WASM));
    validate(&example, root.path());
}
