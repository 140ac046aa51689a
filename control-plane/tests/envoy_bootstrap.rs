//! The ADS bootstrap `miroir envoy-config` prints is accepted by the real Envoy
//! (`envoy --mode validate`, a fraction of a second), and the committed one for the
//! container mesh (envoy/bootstrap.yaml) is what it prints for that mesh.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn envoy_config(args: &[&str]) -> Value {
    let out = Command::new(support::miroir_bin()).arg("envoy-config").args(args).output().unwrap();
    assert!(out.status.success(), "miroir envoy-config failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("envoy-config prints JSON")
}

fn validate(config: &Path) {
    let out = Command::new(support::envoy_bin()).args(["--mode", "validate", "-c"]).arg(config).output().unwrap();
    assert!(
        out.status.success(),
        "envoy rejected {}:\n{}{}",
        config.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_generated_bootstrap_passes_envoy_validation_with_and_without_tls() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    for extra in [vec![], vec!["--xds", "localhost:18001", "--xds-tls-ca", ca.to_str().unwrap()]] {
        let mut args = vec!["--node-id", "e1", "--xds", "127.0.0.1:18000", "--filter-wasm", "/abs/f.wasm"];
        args.extend(extra);
        let bootstrap = envoy_config(&args);
        let config = dir.path().join("envoy.json");
        std::fs::write(&config, serde_json::to_vec_pretty(&bootstrap).unwrap()).unwrap();
        validate(&config);
    }
}

#[test]
fn the_committed_container_bootstrap_is_what_envoy_config_prints_and_envoy_accepts_it() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../envoy/bootstrap.yaml");
    let committed: Value = serde_yaml::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let printed = envoy_config(&[
        "--node-id", "envoy", "--bind", "0.0.0.0", "--xds", "control-plane:18000", "--filter-wasm", "/etc/envoy/miroir_filter.wasm",
    ]);
    assert_eq!(committed, printed, "envoy/bootstrap.yaml differs from `miroir envoy-config` for the container mesh");
    validate(&path);
}
