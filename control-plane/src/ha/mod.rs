//! High availability: the cluster state in etcd, one leader among the `miroir serve`
//! replicas, elected with a lease (whoever creates the leader key, bound to its lease,
//! leads until the lease lapses). Only the leader changes the state, and its writes
//! are fenced (a transaction that checks it still holds the leader key). Followers
//! poll the state and serve xDS from it, so an Envoy may connect to any replica.
//! The task registry's records live in etcd too; Envoy sends the filter's registry
//! calls to the leader only (it health-checks `/_miroir/ready`), and a new leader
//! reloads every record before it answers ready.

pub mod etcd;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::app::{self, App, AppError};
use crate::control::Controller;
use crate::registry::{Mirror, Registry};
use miroir_core::task::TaskRecord;
use crate::signals::Shutdown;
use crate::state::store::{Store, StoreError};
use crate::state::ClusterState;
use etcd::Etcd;

pub const STATE_KEY: &str = "/miroir/state";
/// Task records, one key each: `/miroir/tasks/<uid, 20 digits>`.
pub const TASKS_PREFIX: &str = "/miroir/tasks/";
/// The next task uid as of the last forget (`DELETE /tasks`): a new leader starts no
/// lower, so a forgotten uid is never handed out again. Outside `TASKS_PREFIX`.
pub const TASKS_NEXT_UID_KEY: &str = "/miroir/tasks-next-uid";
pub const LEADER_KEY: &str = "/miroir/leader";
/// A dead leader is replaced within about this long.
const LEASE_TTL_SECS: i64 = 3;
const POLL: Duration = Duration::from_millis(200);
/// Lease renewals happen every this many polls (1 s).
const RENEW_EVERY: u32 = 5;

#[derive(Debug, Clone)]
pub struct EtcdConfig {
    pub endpoints: Vec<String>,
    /// This replica's name in the election.
    pub replica: String,
    /// Where clients reach this replica's HTTP API (followers point to the leader's).
    pub advertise: String,
}

/// The state in etcd; saves succeed only while this replica leads.
pub struct EtcdStore {
    etcd: Arc<Etcd>,
    identity: Vec<u8>,
}

impl Store for EtcdStore {
    fn load(&self) -> Result<Option<ClusterState>, StoreError> {
        match self.etcd.get(STATE_KEY)? {
            None => Ok(None),
            Some((bytes, _)) => serde_json::from_slice(&bytes).map(Some).map_err(|e| StoreError::Etcd(format!("bad state in etcd: {e}"))),
        }
    }

    fn save(&self, state: &ClusterState) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(state).expect("a ClusterState always serializes");
        if self.etcd.put_if(LEADER_KEY, &self.identity, STATE_KEY, &bytes)? {
            Ok(())
        } else {
            Err(StoreError::NotLeader)
        }
    }
}

/// The task registry's records in etcd, written only while this replica leads.
pub struct EtcdTasks {
    etcd: Arc<Etcd>,
    identity: Vec<u8>,
}

impl Mirror for EtcdTasks {
    fn save(&self, record: &TaskRecord) -> Result<(), String> {
        let key = format!("{TASKS_PREFIX}{:020}", record.uid);
        let value = serde_json::to_vec(record).expect("a TaskRecord always serializes");
        match self.etcd.put_if(LEADER_KEY, &self.identity, &key, &value) {
            Ok(true) => Ok(()),
            Ok(false) => Err("this replica no longer leads".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn forget(&self, uids: &[u64], next_uid: u64) -> Result<(), String> {
        let keys: Vec<String> = uids.iter().map(|uid| format!("{TASKS_PREFIX}{uid:020}")).collect();
        let floor = next_uid.to_string();
        match self.etcd.delete_if(LEADER_KEY, &self.identity, &keys, (TASKS_NEXT_UID_KEY, floor.as_bytes())) {
            Ok(true) => Ok(()),
            Ok(false) => Err("this replica no longer leads".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn next_uid_floor(&self) -> Result<u64, String> {
        match self.etcd.get(TASKS_NEXT_UID_KEY).map_err(|e| e.to_string())? {
            None => Ok(0),
            Some((bytes, _)) => String::from_utf8_lossy(&bytes).parse().map_err(|e| format!("bad {TASKS_NEXT_UID_KEY} in etcd: {e}")),
        }
    }

    fn load_all(&self) -> Result<Vec<TaskRecord>, String> {
        let values = self.etcd.range_prefix(TASKS_PREFIX).map_err(|e| e.to_string())?;
        values.iter().map(|v| serde_json::from_slice(v).map_err(|e| format!("a task record in etcd: {e}"))).collect()
    }
}

/// Runs one replica until a signal.
pub async fn serve(config: app::Config, etcd_config: EtcdConfig, shutdown: &mut Shutdown) -> Result<(), AppError> {
    let etcd = Arc::new(Etcd::new(&etcd_config.endpoints));
    let identity = serde_json::to_vec(&json!({"replica": etcd_config.replica, "advertise": etcd_config.advertise}))
        .expect("JSON always serializes");
    let store = Arc::new(EtcdStore { etcd: etcd.clone(), identity: identity.clone() });
    let (follower_of, follower_rx) = watch::channel(Some("unknown".to_owned()));
    let tasks = Arc::new(EtcdTasks { etcd: etcd.clone(), identity: identity.clone() });
    let app = App::start_with(config, store.clone(), follower_rx, Some(tasks)).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let election = Election {
        etcd,
        store,
        identity,
        follower_of,
        controller: app.controller().clone(),
        registry: app.registry().clone(),
        stop: stop.clone(),
    };
    let metrics = app.metrics().clone();
    let thread = std::thread::spawn(move || election.run(&metrics.leader));
    let ended = app.run_until_signal(shutdown).await;
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    ended
}

struct Election {
    etcd: Arc<Etcd>,
    store: Arc<EtcdStore>,
    identity: Vec<u8>,
    follower_of: watch::Sender<Option<String>>,
    controller: Arc<Controller>,
    registry: Arc<Registry>,
    stop: Arc<AtomicBool>,
}

impl Election {
    fn run(self, leader_gauge: &prometheus_client::metrics::gauge::Gauge) {
        let mut lease: Option<i64> = None;
        let mut tick: u32 = 0;
        while !self.stop.load(Ordering::Relaxed) {
            tick = tick.wrapping_add(1);
            lease = match lease {
                Some(id) if tick.is_multiple_of(RENEW_EVERY) => self.renew(id),
                Some(id) => Some(id),
                None => self.campaign(),
            };
            leader_gauge.set(i64::from(lease.is_some()));
            if lease.is_none() {
                self.follow();
            }
            std::thread::sleep(POLL);
        }
        if let Some(id) = lease {
            // Step down at once rather than make the others wait for the lease to lapse.
            let _ = self.etcd.revoke(id);
        }
    }

    fn renew(&self, id: i64) -> Option<i64> {
        match self.etcd.keep_alive(id) {
            Ok(true) => Some(id),
            outcome => {
                tracing::warn!(?outcome, "lost the leader lease; following");
                self.follower_of.send_replace(Some("unknown".into()));
                None
            }
        }
    }

    /// Tries to become the leader; returns the lease on success.
    fn campaign(&self) -> Option<i64> {
        match self.etcd.get(LEADER_KEY) {
            Ok(Some((value, _))) => {
                let advertise = serde_json::from_slice::<serde_json::Value>(&value)
                    .ok()
                    .and_then(|v| v["advertise"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "unknown".into());
                if value != self.identity {
                    self.follower_of.send_if_modified(|f| replace(f, Some(advertise)));
                    return None;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("etcd: {e}");
                return None;
            }
        }
        let id = self.etcd.grant(LEASE_TTL_SECS).ok()?;
        match self.etcd.create(LEADER_KEY, &self.identity, id) {
            Ok(true) => {
                // Serve the latest shared state and task records before writing anything.
                if let Ok(Some(state)) = self.store.load() {
                    let _ = self.controller.adopt(state);
                }
                if let Err(e) = self.registry.reload_from_mirror() {
                    tracing::warn!("not leading: {e}");
                    let _ = self.etcd.revoke(id);
                    return None;
                }
                tracing::info!(lease = id, "elected leader");
                self.follower_of.send_replace(None);
                Some(id)
            }
            _ => {
                let _ = self.etcd.revoke(id);
                None
            }
        }
    }

    fn follow(&self) {
        match self.store.load() {
            Ok(Some(state)) => {
                if let Err(e) = self.controller.adopt(state) {
                    tracing::error!("cannot serve the shared state: {e}");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("etcd: {e}"),
        }
    }
}

fn replace(slot: &mut Option<String>, value: Option<String>) -> bool {
    let changed = *slot != value;
    *slot = value;
    changed
}
