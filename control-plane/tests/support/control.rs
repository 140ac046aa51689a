//! The control plane in-process (the `App` handle on its own runtime), so a test can
//! read what every Envoy ACKed and inject snapshots, while its own code stays blocking.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use miroir::app::{App, Config};
use miroir::state::ClusterState;
use miroir::xds::EnvoyStatus;
use tokio::runtime::Runtime;

pub const TOKEN: &str = "test-admin-token";

pub struct Control {
    pub rt: Runtime,
    pub app: Option<App>,
}

/// `count` nodes on 127.0.0.1 from `base_port`, all in group 0.
pub fn state(count: u16, base_port: u16, rf: u32) -> ClusterState {
    let mut state = ClusterState::empty(rf, 4);
    for i in 0..count {
        let change = miroir::state::Change::AddActiveNode { id: format!("node{i}"), address: format!("127.0.0.1:{}", base_port + i), group: 0 };
        state = state.apply(&change).unwrap().unwrap();
    }
    state
}

impl Control {
    pub fn start(dir: &Path, initial: ClusterState) -> Control {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir.join("control"));
        config.xds_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.admin_token = Some(TOKEN.into());
        config.initial = initial;
        config.probe_interval = Some(Duration::from_millis(300));
        // These tests are about configuration reaching Envoy over stand-in nodes that
        // hold no data: no rebalancer (nodes added serve at once, drained ones stay).
        config.repair = None;
        let app = rt.block_on(App::start(config)).unwrap();
        Control { rt, app: Some(app) }
    }

    pub fn app(&self) -> &App {
        self.app.as_ref().unwrap()
    }

    pub fn port(&self) -> u16 {
        self.app().addr().port()
    }

    pub fn xds_port(&self) -> u16 {
        self.app().xds_addr().unwrap().port()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    pub fn envoy(&self, node: &str) -> Option<EnvoyStatus> {
        self.app().envoys().snapshot().get(node).cloned()
    }

    pub fn version(&self) -> u64 {
        self.app().controller().state().version
    }

    /// Waits until Envoy `node` has ACKed map `version` (and so its clusters).
    pub fn wait_acked(&self, node: &str, version: u64) {
        super::mesh::eventually(&format!("{node} ACKs map {version}"), Duration::from_secs(30), || {
            self.envoy(node).is_some_and(|e| e.map_version >= Some(version))
        });
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        if let Some(app) = self.app.take() {
            let _ = self.rt.block_on(app.shutdown());
        }
    }
}
