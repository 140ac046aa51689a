//! Builds the control plane's parts — the task registry, the cluster state and its
//! controller, the xDS server, the admin API and metrics, the node prober — and
//! returns a handle that `miroir serve`, `miroir dev` and tests drive.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admin::{self, AdminState};
use crate::api;
use crate::control::{ControlError, Controller};
use crate::metrics::Metrics;
use crate::registry::{Mirror, Registry, RegistryError};
use crate::repair::tombstones::Tombstones;
use crate::repair::{RepairConfig, Repairer};
use crate::signals::Shutdown;
use crate::state::store::{FileStore, Store, StoreError};
use crate::state::ClusterState;
use crate::xds::resources::HostPort;
use crate::xds::{Ads, Envoys, TlsFiles, XdsError};

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP API (registry, admin, metrics) listens; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Holds `tasks.jsonl` and `state.json`.
    pub data_dir: PathBuf,
    /// Where ADS listens; `None` serves no xDS.
    pub xds_listen: Option<SocketAddr>,
    pub xds_tls: Option<TlsFiles>,
    /// The admin API's bearer token; `None` makes a random one (see [`App::admin_token`]).
    pub admin_token: Option<String>,
    /// The control plane's replicas as Envoys reach them (`host:port`); empty: `listen`.
    pub control_endpoints: Vec<String>,
    /// The filter module's path for Envoys whose node metadata names none.
    pub filter_wasm: String,
    /// The state to start from when the store has none.
    pub initial: ClusterState,
    /// Start from `initial` even if the store has a state (`miroir dev`).
    pub reset: bool,
    /// How often the nodes are probed; `None` disables the prober.
    pub probe_interval: Option<Duration>,
    /// The nodes' master key, passed to the filter in the shard map (see `ShardMap::node_key`).
    pub node_key: Option<String>,
    /// The rebalancer and repairer (issue 6); `None` runs neither. Its `data_dir` is
    /// replaced by this config's.
    pub repair: Option<RepairConfig>,
    /// How long requests started under the old map get before a swap reaches the nodes
    /// (see `crate::swap`).
    pub swap_drain: Duration,
}

impl Config {
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Config {
        Config {
            listen,
            data_dir,
            xds_listen: None,
            xds_tls: None,
            admin_token: None,
            control_endpoints: Vec::new(),
            filter_wasm: crate::launcher::DEFAULT_FILTER_WASM.to_owned(),
            initial: ClusterState::default(),
            reset: false,
            probe_interval: Some(Duration::from_secs(1)),
            node_key: None,
            repair: Some(RepairConfig::new(PathBuf::new())),
            swap_drain: Duration::from_millis(crate::cli::DEFAULT_SWAP_DRAIN_MS),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Xds(#[from] XdsError),
    #[error("`{0}` is not a host:port control endpoint")]
    BadEndpoint(String),
    #[error("the control plane cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("the control plane's HTTP server failed: {0}")]
    Serve(io::Error),
    #[error("the control plane's HTTP server panicked")]
    Panicked,
}

/// A running control plane.
pub struct App {
    addr: SocketAddr,
    xds_addr: Option<SocketAddr>,
    registry: Arc<Registry>,
    controller: Arc<Controller>,
    envoys: Envoys,
    metrics: Arc<Metrics>,
    token: Arc<str>,
    stop: watch::Sender<bool>,
    server: JoinHandle<io::Result<()>>,
    xds: Option<JoinHandle<Result<(), XdsError>>>,
    prober: Option<JoinHandle<()>>,
    repairer: Option<(Arc<Repairer>, JoinHandle<()>)>,
}

async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), AppError> {
    let listener = TcpListener::bind(addr).await.map_err(|source| AppError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(|source| AppError::Bind { addr, source })?;
    Ok((listener, bound))
}

impl App {
    /// Loads the registry and the state and starts serving; returns once bound.
    pub async fn start(config: Config) -> Result<App, AppError> {
        let store: Arc<dyn Store> = Arc::new(FileStore::new(&config.data_dir));
        App::start_with(config, store, watch::channel(None).1, None).await
    }

    /// As [`App::start`], with the state in `store` and the task records also in
    /// `mirror`; `follower_of` says, while this replica does not lead, who does (see
    /// [`crate::ha`]).
    pub async fn start_with(
        config: Config,
        store: Arc<dyn Store>,
        follower_of: watch::Receiver<Option<String>>,
        mirror: Option<Arc<dyn Mirror>>,
    ) -> Result<App, AppError> {
        let dir = config.data_dir.clone();
        let registry = tokio::task::spawn_blocking(move || Registry::open(&dir)).await.map_err(|_| AppError::Panicked)??;
        let registry = match mirror {
            Some(mirror) => registry.with_mirror(mirror),
            None => registry,
        };
        let registry = Arc::new(registry);
        let (listener, addr) = bind(config.listen).await?;

        let endpoints = if config.control_endpoints.is_empty() { vec![addr.to_string()] } else { config.control_endpoints.clone() };
        let control = endpoints.iter().map(|e| HostPort::parse(e).ok_or_else(|| AppError::BadEndpoint(e.clone()))).collect::<Result<Vec<_>, _>>()?;
        let loader = store.clone();
        let stored = tokio::task::spawn_blocking(move || loader.load()).await.map_err(|_| AppError::Panicked)??;
        let initial = match stored {
            Some(stored) if !config.reset => stored,
            stored => {
                let mut initial = config.initial.clone();
                initial.version = initial.version.max(stored.map_or(0, |s| s.version + 1));
                initial
            }
        };
        let mut initial = initial;
        initial.node_key = config.node_key.clone();
        let metrics = Arc::new(Metrics::default());
        let controller = Arc::new(Controller::new(initial, store, control, metrics.clone(), follower_of)?);
        let envoys = Envoys::new(metrics.clone());
        let token: Arc<str> = config.admin_token.clone().unwrap_or_else(random_token).into();

        let (stop, stopped) = watch::channel(false);
        let until_stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let repairer = config.repair.clone().map(|mut repair| {
            repair.data_dir = config.data_dir.clone();
            let tombstones = Tombstones::from_records(&registry.page(None, usize::MAX).results);
            Arc::new(Repairer::new(repair, tombstones, metrics.clone()))
        });
        let admin_state = AdminState {
            controller: controller.clone(),
            envoys: envoys.clone(),
            metrics: metrics.clone(),
            token: token.clone(),
            repairer: repairer.clone(),
        };
        let mut tasks = api::router(registry.clone());
        if let Some(repairer) = &repairer {
            let (repairer, controller) = (repairer.clone(), controller.clone());
            let hook = api::RecordHook(Arc::new(move |record| {
                let (repairer, controller) = (repairer.clone(), controller.clone());
                Box::pin(async move { repairer.on_record(&controller, &record).await })
            }));
            tasks = tasks.layer(axum::Extension(hook));
        }
        let swapper = Arc::new(crate::swap::Swapper::new(controller.clone(), envoys.clone(), registry.clone(), config.swap_drain));
        tokio::spawn(crate::swap::recover::recover(swapper.clone()));
        let router = tasks.merge(admin::router(admin_state)).merge(crate::swap::router(swapper));
        let http_stop = until_stopped(stopped.clone());
        let server = tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(http_stop).await });

        let (xds, xds_addr) = match config.xds_listen {
            Some(xds_listen) => {
                let (listener, xds_addr) = bind(xds_listen).await?;
                let ads = Ads::new(controller.cache().clone(), envoys.clone(), &config.filter_wasm);
                let xds_stop = until_stopped(stopped.clone());
                tracing::info!(%xds_addr, tls = config.xds_tls.is_some(), "xDS (ADS) listening");
                (Some(tokio::spawn(ads.serve(listener, config.xds_tls.clone(), xds_stop))), Some(xds_addr))
            }
            None => (None, None),
        };
        let prober = config.probe_interval.map(|interval| tokio::spawn(crate::prober::run(controller.clone(), interval)));
        let repairer = repairer.map(|r| {
            let task = tokio::spawn(crate::repair::rebalancer::run(r.clone(), controller.clone(), envoys.clone()));
            (r, task)
        });
        tracing::info!(%addr, version = controller.state().version, "control plane listening");
        Ok(App { addr, xds_addr, registry, controller, envoys, metrics, token, stop, server, xds, prober, repairer })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn xds_addr(&self) -> Option<SocketAddr> {
        self.xds_addr
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub fn controller(&self) -> &Arc<Controller> {
        &self.controller
    }

    pub fn envoys(&self) -> &Envoys {
        &self.envoys
    }

    /// The rebalancer's shared state, when it runs.
    pub fn repairer(&self) -> Option<&Arc<Repairer>> {
        self.repairer.as_ref().map(|(r, _)| r)
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn admin_token(&self) -> &str {
        &self.token
    }

    /// Serves until Ctrl-C or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(mut self, shutdown: &mut Shutdown) -> Result<(), AppError> {
        tokio::select! {
            name = shutdown.recv() => {
                tracing::info!("{name} received, stopping");
                self.shutdown().await
            }
            ended = &mut self.server => flatten(ended),
        }
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the servers.
    pub async fn shutdown(self) -> Result<(), AppError> {
        let _ = self.stop.send(true);
        if let Some(prober) = self.prober {
            prober.abort();
        }
        if let Some((_, task)) = self.repairer {
            task.abort();
        }
        if let Some(xds) = self.xds {
            // ADS streams never end on their own: give them a moment, then cut them.
            match tokio::time::timeout(Duration::from_secs(1), xds).await {
                Ok(Ok(result)) => result?,
                Ok(Err(_)) => return Err(AppError::Panicked),
                Err(_) => {}
            }
        }
        flatten(self.server.await)
    }
}

fn flatten(ended: Result<io::Result<()>, tokio::task::JoinError>) -> Result<(), AppError> {
    ended.map_err(|_| AppError::Panicked)?.map_err(AppError::Serve)
}

/// 128 random bits from the OS, hex.
pub fn random_token() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes = (nanos ^ u128::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
