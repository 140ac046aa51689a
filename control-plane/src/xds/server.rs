//! The ADS gRPC service: one task per Envoy stream runs a [`StreamState`] against
//! the cache's current snapshot, waking on a request or a new snapshot.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_stream::Stream;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use super::cache::Cache;
use super::status::Envoys;
use super::stream::StreamState;

/// Certificate and key (PEM files) to serve xDS over TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum XdsError {
    #[error("cannot read the xDS TLS {what} {path}: {source}")]
    TlsFile { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("invalid xDS TLS configuration: {0}")]
    Tls(tonic::transport::Error),
    #[error("the xDS server failed: {0}")]
    Serve(tonic::transport::Error),
}

#[derive(Clone)]
pub struct Ads {
    cache: Cache,
    envoys: Envoys,
    default_filter_wasm: Arc<str>,
}

impl Ads {
    pub fn new(cache: Cache, envoys: Envoys, default_filter_wasm: &str) -> Ads {
        Ads { cache, envoys, default_filter_wasm: default_filter_wasm.into() }
    }

    /// Serves ADS on `listener` until `stop` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: Option<TlsFiles>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), XdsError> {
        let mut builder = Server::builder().http2_keepalive_interval(Some(std::time::Duration::from_secs(10)));
        if let Some(tls) = tls {
            let read = |what, path: &PathBuf| std::fs::read(path).map_err(|source| XdsError::TlsFile { what, path: path.clone(), source });
            let identity = Identity::from_pem(read("certificate", &tls.cert)?, read("key", &tls.key)?);
            builder = builder.tls_config(ServerTlsConfig::new().identity(identity)).map_err(XdsError::Tls)?;
        }
        builder
            .add_service(AggregatedDiscoveryServiceServer::new(self))
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop)
            .await
            .map_err(XdsError::Serve)
    }
}

async fn wakeup(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl AggregatedDiscoveryService for Ads {
    type StreamAggregatedResourcesStream = ResponseStream<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = ResponseStream<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let peer = request.remote_addr();
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let this = self.clone();
        tokio::spawn(async move { this.run_stream(inbound, tx, peer).await });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn delta_aggregated_resources(
        &self,
        _: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        Err(Status::unimplemented("Miroir serves state-of-the-world ADS; set api_type: GRPC"))
    }
}

impl Ads {
    async fn run_stream(
        self,
        mut inbound: Streaming<DiscoveryRequest>,
        tx: mpsc::Sender<Result<DiscoveryResponse, Status>>,
        peer: Option<SocketAddr>,
    ) {
        let mut state = StreamState::new(&self.default_filter_wasm);
        let mut snapshots: watch::Receiver<_> = self.cache.subscribe();
        let mut node: Option<String> = None;
        loop {
            tokio::select! {
                message = inbound.message() => match message {
                    Ok(Some(request)) => match state.on_request(&request, Instant::now()) {
                        Ok(events) => {
                            if node.is_none() {
                                node = state.node_id().map(str::to_owned);
                                if let Some(id) = &node {
                                    tracing::info!(envoy = %id, ?peer, "ADS stream opened");
                                    self.envoys.connected(id, 1);
                                }
                            }
                            for event in &events {
                                self.envoys.record(node.as_deref().unwrap_or("?"), event);
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(Status::invalid_argument(e.to_string()))).await;
                            break;
                        }
                    },
                    Ok(None) => break,
                    Err(status) => {
                        tracing::info!(envoy = ?node, %status, "ADS stream broken");
                        break;
                    }
                },
                changed = snapshots.changed() => if changed.is_err() { break },
                // A retiring cluster's grace ended: it may go now.
                () = wakeup(state.next_wakeup()) => {}
            }
            let snapshot = snapshots.borrow_and_update().clone();
            let Some(snapshot) = snapshot else { continue };
            let (responses, events) = state.responses(&snapshot, Instant::now());
            for event in &events {
                self.envoys.record(node.as_deref().unwrap_or("?"), event);
            }
            for response in responses {
                if tx.send(Ok(response)).await.is_err() {
                    break;
                }
            }
        }
        if let Some(id) = &node {
            tracing::info!(envoy = %id, "ADS stream closed");
            self.envoys.connected(id, -1);
        }
    }
}
