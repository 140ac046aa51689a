//! Time from an admin change (its HTTP answer) to every Envoy ACKing it, with 1 and
//! with 10 Envoys on one control plane, side by side in one run (the changes
//! alternate between the two meshes). Two kinds of change: draining/undraining a node
//! (a new map) and adding a node (its cluster, endpoints, guard route, then the map).
//!
//!   cargo build -p miroir-filter --target wasm32-wasip1 --profile wasm
//!   cargo bench -p miroir --bench xds_ack
//!
//! Real Envoy (`envoy` on PATH), stand-in nodes (python3).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::control::{state, Control, TOKEN};
use support::mesh::{start_node, Envoy, Proc};

const ROUNDS: usize = 15;

struct Mesh {
    control: Control,
    envoys: Vec<Envoy>,
    _nodes: Vec<Proc>,
    spare_port: u16,
}

fn mesh(dir: &std::path::Path, name: &str, envoys: u16) -> Mesh {
    let base = support::free_ports(4 + 2 * envoys);
    let nodes = (0..4).map(|i| start_node(dir, &format!("{name}-node{i}"), base + i)).collect();
    let control = Control::start(&dir.join(name), state(3, base, 2));
    let envoys: Vec<Envoy> = (0..envoys)
        .map(|e| Envoy::start(dir, &format!("{name}-envoy{e}"), base + 4 + 2 * e, base + 5 + 2 * e, &[control.xds_port()], None))
        .collect();
    let m = Mesh { control, envoys, _nodes: nodes, spare_port: base + 3 };
    m.wait_all(m.control.version());
    m
}

impl Mesh {
    fn wait_all(&self, version: u64) {
        let envoys = self.control.app().envoys().clone();
        let ids: Vec<String> = (0..self.envoys.len()).map(|e| self.envoys[e].proc.log.file_stem().unwrap().to_string_lossy().into_owned()).collect();
        let all = envoys.wait_for(move |s| ids.iter().all(|id| s.get(id).is_some_and(|e| e.map_version >= Some(version))));
        self.control.rt.block_on(async { tokio::time::timeout(Duration::from_secs(60), all).await }).expect("every Envoy ACKs");
    }

    /// Makes one change through the admin API; the time until every Envoy ACKed it.
    fn timed(&self, method: &str, path: &str, body: &str) -> Duration {
        let started = Instant::now();
        let (status, answer) = support::request(self.control.port(), method, path, body, Some(TOKEN)).unwrap();
        assert_eq!(status, 200, "{answer}");
        self.wait_all(self.control.version());
        started.elapsed()
    }
}

fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    format!("median {}, p90 {}, max {}", ms(times[times.len() / 2]), ms(times[times.len() * 9 / 10]), ms(times[times.len() - 1]))
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let meshes = [mesh(dir.path(), "one", 1), mesh(dir.path(), "ten", 10)];
    let mut drain = [Vec::new(), Vec::new()];
    let mut add = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        for (m, mesh) in meshes.iter().enumerate() {
            let verb = if round % 2 == 0 { "drain" } else { "undrain" };
            drain[m].push(mesh.timed("POST", &format!("/_miroir/admin/nodes/node1/{verb}"), ""));
            // A new id each round: a removed node's cluster lingers a while in Envoy.
            let body = format!(r#"{{"id":"extra{round}","address":"127.0.0.1:{}"}}"#, mesh.spare_port);
            add[m].push(mesh.timed("POST", "/_miroir/admin/nodes", &body));
            mesh.timed("DELETE", &format!("/_miroir/admin/nodes/extra{round}"), "");
        }
    }
    println!("admin change -> every Envoy ACKed ({ROUNDS} changes of each kind per mesh, interleaved)");
    for (m, envoys) in [1, 10].iter().enumerate() {
        println!("  {envoys:>2} Envoy(s), drain/undrain (new map):        {}", summary(drain[m].clone()));
        println!("  {envoys:>2} Envoy(s), add a node (cluster, then map): {}", summary(add[m].clone()));
    }
}
