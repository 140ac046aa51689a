//! Running parts of a mesh for the integration tests: stand-in nodes, the real Envoy
//! with a bootstrap, `miroir serve`, and the real filter module. A missing program is
//! a failure that says how to get it, never a skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use miroir::envoy_config::Bootstrap;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use super::{envoy_bin, fake_node};

/// The real Miroir filter: MIROIR_FILTER_WASM, else the wasm build in the target dir.
pub fn filter_wasm() -> PathBuf {
    if let Some(path) = std::env::var_os("MIROIR_FILTER_WASM") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("wasm32-wasip1/wasm/miroir_filter.wasm");
    assert!(
        path.is_file(),
        "the Miroir filter {} is missing: build it with `cargo build -p miroir-filter --target wasm32-wasip1 --profile wasm` \
         (or set MIROIR_FILTER_WASM); these tests run it in the real Envoy and never skip",
        path.display()
    );
    path
}

pub fn eventually(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(mut command: Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        command.stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Proc { child, log }
    }

    pub fn kill9(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A stand-in node (tests/fixtures/fake_node.py) named `name` on `port`.
pub fn start_node(dir: &Path, name: &str, port: u16) -> Proc {
    let mut command = Command::new(fake_node());
    command.args(["--http-addr", &format!("127.0.0.1:{port}")]).arg("--db-path").arg(dir.join(name));
    let node = Proc::spawn(command, dir.join(format!("{name}.log")));
    eventually(&format!("{name} answers /health"), Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    node
}

/// The real Envoy on a bootstrap; `node_id` is its xDS identity.
pub struct Envoy {
    pub proc: Proc,
    pub port: u16,
    pub admin: u16,
}

impl Envoy {
    pub fn start(dir: &Path, node_id: &str, port: u16, admin: u16, xds: &[u16], tls_ca: Option<&Path>) -> Envoy {
        let host = "127.0.0.1";
        let bootstrap = Bootstrap {
            node_id: node_id.into(),
            bind: "127.0.0.1".into(),
            listener_port: port,
            admin_port: admin,
            xds: xds.iter().map(|p| (host.to_owned(), *p)).collect(),
            filter_wasm: filter_wasm().to_string_lossy().into_owned(),
            xds_tls_ca: tls_ca.map(|p| p.to_string_lossy().into_owned()),
        };
        let config = dir.join(format!("{node_id}.json"));
        std::fs::write(&config, serde_json::to_vec_pretty(&bootstrap.to_json()).unwrap()).unwrap();
        let mut command = Command::new(envoy_bin());
        command
            .arg("-c")
            .arg(&config)
            .args(["--disable-hot-restart", "--concurrency", "1", "--log-level", "warn"])
            .current_dir(dir);
        Envoy { proc: Proc::spawn(command, dir.join(format!("{node_id}.log"))), port, admin }
    }

    /// Envoy's own view (`/config_dump`), as JSON; null while its admin is not up.
    pub fn config_dump(&self, resource: &str) -> Value {
        match super::try_http(self.admin, "GET", &format!("/config_dump?resource={resource}"), "") {
            Ok((200, body)) => serde_json::from_str(&body).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Names of the clusters Envoy has active.
    pub fn active_clusters(&self) -> Vec<String> {
        let dump = self.config_dump("dynamic_active_clusters");
        dump["configs"].as_array().into_iter().flatten().filter_map(|c| c["cluster"]["name"].as_str().map(str::to_owned)).collect()
    }

    /// The shard map version Envoy's filter configuration holds, read from Envoy.
    pub fn map_version(&self) -> Option<u64> {
        let dump = self.config_dump("ecds_filters");
        let config = dump["configs"].get(0)?;
        config["version_info"].as_str()?.parse().ok()
    }
}

/// `miroir` with arguments; returns (success, stdout, stderr).
pub fn miroir(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(super::miroir_bin()).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `miroir serve` as a child process, on its own ports.
pub struct Serve {
    pub proc: Proc,
    pub port: u16,
    pub xds: u16,
    args: Vec<String>,
    log: PathBuf,
}

impl Serve {
    pub fn start(dir: &Path, name: &str, port: u16, xds: u16, extra: &[&str]) -> Serve {
        let mut args: Vec<String> = ["serve", "--listen", &format!("127.0.0.1:{port}"), "--xds-listen", &format!("127.0.0.1:{xds}")]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(["--data-dir".into(), dir.join(name).to_string_lossy().into_owned()]);
        args.extend(["--admin-token".into(), super::control::TOKEN.into(), "--probe-interval-ms".into(), "300".into()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = dir.join(format!("{name}.log"));
        let proc = Serve::spawn(&args, &log);
        let serve = Serve { proc, port, xds, args, log };
        serve.wait_listening();
        serve
    }

    fn spawn(args: &[String], log: &Path) -> Proc {
        // Appends, so a restart keeps the first run's log.
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut command = Command::new(super::miroir_bin());
        command.args(args).env("RUST_LOG", "info").stdin(Stdio::null()).stdout(out.try_clone().unwrap()).stderr(out);
        Proc { child: command.spawn().unwrap(), log: log.to_owned() }
    }

    fn wait_listening(&self) {
        eventually("miroir serve answers /health", Duration::from_secs(30), || {
            super::try_http(self.port, "GET", "/health", "").is_ok_and(|(s, _)| s == 200)
        });
    }

    /// SIGKILL, then the same command again.
    pub fn restart_after_kill9(&mut self) {
        self.proc.kill9();
        self.proc = Serve::spawn(&self.args, &self.log);
        self.wait_listening();
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An admin API call with the test token.
    pub fn admin(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let (status, body) = super::request(self.port, method, path, body, Some(super::control::TOKEN)).unwrap_or((0, String::new()));
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The map version Envoy `node` ACKed, as this replica saw it.
    pub fn acked_map(&self, node: &str) -> Option<u64> {
        self.admin("GET", "/_miroir/admin/envoys", "").1[node]["mapVersion"].as_u64()
    }

    pub fn version(&self) -> u64 {
        self.admin("GET", "/_miroir/admin/state", "").1["version"].as_u64().unwrap_or(0)
    }
}
