//! xDS over TLS: `miroir serve` with a certificate made at test time (rcgen), the real
//! Envoy trusting only that certificate's CA, and the map ACKed through it.

mod support;

use std::time::Duration;

use support::mesh::{eventually, miroir, start_node, Envoy, Serve};

#[test]
fn envoy_gets_and_acks_its_config_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path, ca_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"), dir.path().join("ca.pem"));
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    std::fs::write(&cert_path, certified.cert.pem()).unwrap();
    std::fs::write(&ca_path, certified.cert.pem()).unwrap();
    std::fs::write(&key_path, certified.signing_key.serialize_pem()).unwrap();

    let base = support::free_ports(5);
    let (port, admin, control, xds, node_port) = (base, base + 1, base + 2, base + 3, base + 4);
    let _node = start_node(dir.path(), "node0", node_port);
    let tls = ["--xds-tls-cert", cert_path.to_str().unwrap(), "--xds-tls-key", key_path.to_str().unwrap()];
    let serve = Serve::start(dir.path(), "control", control, xds, &tls);
    let (ok, out, err) = miroir(&["nodes", "add", "node0", &format!("127.0.0.1:{node_port}"), "--control", &serve.url(), "--admin-token", support::control::TOKEN]);
    assert!(ok, "{out}{err}");
    let envoy = Envoy::start(dir.path(), "envoy-tls", port, admin, &[xds], Some(&ca_path));
    eventually("Envoy ACKs the map over TLS", Duration::from_secs(30), || serve.acked_map("envoy-tls") == Some(1));
    eventually("Miroir serves", Duration::from_secs(30), || support::http(envoy.port, "GET", "/indexes/movies/documents/3", "").0 == 200);
    let dump = envoy.config_dump("static_clusters");
    let tls_socket = &dump["configs"][0]["cluster"]["transport_socket"];
    assert_eq!(tls_socket["name"], "envoy.transport_sockets.tls", "{dump}");
}
