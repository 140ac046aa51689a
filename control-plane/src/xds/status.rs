//! What every Envoy holds: per node id and type, the version sent, ACKed, and the
//! last NACK. Fed by the ADS streams; read by the admin API, `/health` and tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::stream::{short_name, Event};
use crate::metrics::{labels, version_number, Metrics};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeStatus {
    pub sent_version: Option<String>,
    pub acked_version: Option<String>,
    pub acks: u64,
    pub nacks: u64,
    pub last_nack: Option<Nack>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nack {
    pub version: String,
    pub error: String,
    pub at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvoyStatus {
    /// ADS streams open from this Envoy right now.
    pub streams: usize,
    /// The shard map version this Envoy ACKed last.
    pub map_version: Option<u64>,
    /// By type: clusters, endpoints, routes, map.
    pub types: BTreeMap<String, TypeStatus>,
}

/// Shared by every stream; cheap to clone.
#[derive(Clone)]
pub struct Envoys {
    inner: Arc<Mutex<BTreeMap<String, EnvoyStatus>>>,
    changed: watch::Sender<u64>,
    metrics: Arc<Metrics>,
}

impl Envoys {
    pub fn new(metrics: Arc<Metrics>) -> Envoys {
        Envoys { inner: Arc::default(), changed: watch::channel(0).0, metrics }
    }

    fn update(&self, node: &str, f: impl FnOnce(&mut EnvoyStatus)) {
        let mut all = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(all.entry(node.to_owned()).or_default());
        drop(all);
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn connected(&self, node: &str, delta: isize) {
        self.update(node, |s| s.streams = s.streams.saturating_add_signed(delta));
        self.metrics.streams.inc_by(delta as i64);
    }

    pub fn record(&self, node: &str, event: &Event) {
        let (type_url, kind) = match event {
            Event::Sent { type_url, .. } => (type_url, "sent"),
            Event::Ack { type_url, .. } => (type_url, "ack"),
            Event::Nack { type_url, .. } => (type_url, "nack"),
            Event::Held { type_url, .. } => (type_url, "held"),
        };
        let name = short_name(type_url);
        let by_type = labels(&[("type", name)]);
        match event {
            Event::Sent { .. } => drop(self.metrics.pushes.get_or_create(&by_type).inc()),
            Event::Ack { version, .. } => {
                self.metrics.acks.get_or_create(&by_type).inc();
                self.metrics.acked_version.get_or_create(&labels(&[("node", node), ("type", name)])).set(version_number(version));
            }
            Event::Held { version, .. } => {
                self.metrics.acked_version.get_or_create(&labels(&[("node", node), ("type", name)])).set(version_number(version));
            }
            Event::Nack { version, error, .. } => {
                self.metrics.nacks.get_or_create(&by_type).inc();
                tracing::warn!(envoy = node, r#type = name, version, error, "Envoy refused a config (NACK); it keeps the previous one");
            }
        }
        tracing::debug!(envoy = node, r#type = name, kind, "xds");
        self.update(node, |s| {
            let t = s.types.entry(name.to_owned()).or_default();
            match event {
                Event::Sent { version, .. } => t.sent_version = Some(version.clone()),
                Event::Ack { version, map_version, .. } => {
                    t.acks += 1;
                    t.acked_version = Some(version.clone());
                    if map_version.is_some() {
                        s.map_version = *map_version;
                    }
                }
                Event::Held { version, map_version, .. } => {
                    t.acked_version = Some(version.clone());
                    if map_version.is_some() {
                        s.map_version = *map_version;
                    }
                }
                Event::Nack { version, error, .. } => {
                    t.nacks += 1;
                    let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
                    t.last_nack = Some(Nack { version: version.clone(), error: error.clone(), at });
                }
            }
        });
    }

    pub fn snapshot(&self) -> BTreeMap<String, EnvoyStatus> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Notified on every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Waits until `pred` holds over every Envoy's status.
    pub async fn wait_for(&self, mut pred: impl FnMut(&BTreeMap<String, EnvoyStatus>) -> bool) {
        let mut rx = self.subscribe();
        loop {
            if pred(&self.snapshot()) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
