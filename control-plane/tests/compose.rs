//! docker-compose.yml cannot run here (no Docker engine), so this keeps it in step with
//! `miroir dev` instead: the same nodes and groups, replication and shards, ports,
//! master key and payload limit, the committed bootstrap, the filter module mount.

use std::path::Path;

use clap::Parser;
use miroir::cli::{Cli, Command};
use miroir::launcher::{DEFAULT_FILTER_WASM, NODE_PAYLOAD_LIMIT};
use serde_json::Value;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap();
    let mut value: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    value.apply_merge().unwrap();
    serde_json::to_value(value).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().map(|s| s.as_str().unwrap_or_default().to_owned()).collect()
}

#[test]
fn the_compose_mesh_is_the_dev_mesh() {
    let compose = yaml("docker-compose.yml");
    let services = compose["services"].as_object().unwrap();
    let Command::Dev(dev) = Cli::try_parse_from(["miroir", "dev", "--data-dir", "x"]).unwrap().command else { unreachable!() };
    let topology = dev.topology.topology();

    // The nodes: one official Meilisearch container per dev node, same key and limit.
    let meili: Vec<&String> = services.keys().filter(|k| k.starts_with("meili")).collect();
    assert_eq!(meili.len(), topology.nodes as usize);
    let mut keys = Vec::new();
    for (i, name) in meili.iter().enumerate() {
        assert_eq!(**name, format!("meili{i}"));
        let node = &services[*name];
        assert!(node["image"].as_str().unwrap().starts_with("getmeili/meilisearch:v1.50"), "{node}");
        let env = &node["environment"];
        assert_eq!(env["MEILI_HTTP_PAYLOAD_SIZE_LIMIT"], NODE_PAYLOAD_LIMIT);
        assert_eq!(env["MEILI_NO_ANALYTICS"], "true");
        keys.push(env["MEILI_MASTER_KEY"].as_str().unwrap().to_owned());
    }
    assert!(keys.iter().all(|k| !k.is_empty() && *k == keys[0]), "one master key for every node: {keys:?}");

    // The control plane starts from the dev mesh's state, nodes named by service.
    let control = &services["control-plane"];
    assert_eq!(control["build"], ".");
    assert!(control["environment"]["MIROIR_ADMIN_TOKEN"].as_str().is_some_and(|t| !t.is_empty()));
    let mut args = vec!["miroir".to_owned()];
    args.extend(strings(&control["command"]));
    args.push("--admin-token=from-the-environment".into());
    let Command::Serve(serve) = Cli::try_parse_from(&args).unwrap().command else { panic!("the control plane runs `miroir serve`") };
    let state = serve.initial_state().unwrap();
    let expected = topology.initial_state().unwrap();
    assert_eq!((state.replication_factor, state.default_shards), (expected.replication_factor, expected.default_shards));
    let shape = |s: &miroir::state::ClusterState| s.nodes.iter().map(|n| (n.id.clone(), n.group)).collect::<Vec<_>>();
    assert_eq!(shape(&state), shape(&expected));
    let addresses: Vec<&str> = state.nodes.iter().map(|n| n.address.as_str()).collect();
    assert_eq!(addresses, (0..topology.nodes).map(|i| format!("meili{i}:7700")).collect::<Vec<_>>());
    assert_eq!(serve.listen.port(), 7701);
    assert!(strings(&control["ports"]).contains(&format!("{}:7701", topology.ports.control)));
    assert_eq!(serve.control_endpoints, ["control-plane:7701"]);

    // Envoy: the committed bootstrap, the filter module where the bootstrap says, the dev ports.
    let envoy = &services["envoy"];
    assert!(envoy["image"].as_str().unwrap().starts_with("envoyproxy/envoy:v1.40"), "{envoy}");
    let command = strings(&envoy["command"]);
    let config = &command[command.iter().position(|a| a == "-c").unwrap() + 1];
    let volumes = strings(&envoy["volumes"]);
    assert!(volumes.contains(&format!("./envoy/bootstrap.yaml:{config}:ro")), "{volumes:?}");
    let bootstrap = yaml("envoy/bootstrap.yaml");
    let wasm = bootstrap["node"]["metadata"]["filter_wasm"].as_str().unwrap();
    assert!(volumes.contains(&format!("./{DEFAULT_FILTER_WASM}:{wasm}:ro")), "{volumes:?}");
    let ports = strings(&envoy["ports"]);
    let listener = &bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"];
    let admin = &bootstrap["admin"]["address"]["socket_address"];
    assert!(ports.contains(&format!("{}:{}", topology.ports.listener, listener["port_value"])), "{ports:?}");
    assert!(ports.contains(&format!("{}:{}", topology.ports.admin, admin["port_value"])), "{ports:?}");
    let xds = &bootstrap["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"];
    assert_eq!(xds["address"], "control-plane");
    assert_eq!(xds["port_value"], serve.xds_listen.port());
}

#[test]
fn the_dockerfile_builds_the_control_plane_the_compose_file_runs() {
    let dockerfile = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --locked -p miroir"));
    assert!(dockerfile.contains(r#"ENTRYPOINT ["miroir"]"#));
    let ignore = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target"), "the build context leaves target/ out");
}
