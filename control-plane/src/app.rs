//! Builds the control plane's parts (today the task registry and its HTTP API; xDS
//! joins later) and returns a handle that `miroir serve`, `miroir dev` and tests drive.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api;
use crate::registry::{Registry, RegistryError};
use crate::signals::Shutdown;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP API listens; port 0 picks a free one (see [`App::addr`]).
    pub listen: SocketAddr,
    /// Holds `tasks.jsonl`.
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
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
    registry: Arc<Registry>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<io::Result<()>>,
}

impl App {
    /// Loads the registry and starts serving; returns once the socket is bound.
    pub async fn start(config: Config) -> Result<App, AppError> {
        let dir = config.data_dir.clone();
        let registry = tokio::task::spawn_blocking(move || Registry::open(&dir)).await.map_err(|_| AppError::Panicked)??;
        let registry = Arc::new(registry);
        let listener = TcpListener::bind(config.listen).await.map_err(|source| AppError::Bind { addr: config.listen, source })?;
        let addr = listener.local_addr().map_err(|source| AppError::Bind { addr: config.listen, source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = api::router(registry.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        tracing::info!(%addr, "control plane listening");
        Ok(App { addr, registry, stop, server })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
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

    /// Stops accepting, lets in-flight requests finish, and waits for the server.
    pub async fn shutdown(self) -> Result<(), AppError> {
        let _ = self.stop.send(());
        flatten(self.server.await)
    }
}

fn flatten(ended: Result<io::Result<()>, tokio::task::JoinError>) -> Result<(), AppError> {
    ended.map_err(|_| AppError::Panicked)?.map_err(AppError::Serve)
}
