//! API keys: stored per node in `<db-path>/double-keys.json` (written
//! atomically on each change), each key's value the HMAC-SHA256 of its uid
//! with the master key, as meilisearch-auth computes it, so a key created
//! with the same `uid` on every node has the same value everywhere. The four
//! default keys are created on first start with a master key.

pub mod actions;
pub mod routes;

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::store::atomic_write;
use crate::tasks::fmt_time;

/// One API key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiKey {
    pub uid: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub actions: Vec<String>,
    pub indexes: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Meilisearch's key value: hex HMAC-SHA256 of the uid, keyed by the master key.
pub fn key_value(master_key: &str, uid: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(master_key.as_bytes()) else {
        return String::new();
    };
    mac.update(uid.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random-looking UUIDv4 (hash of the time and a counter; the double needs
/// unique uids, not unpredictable ones).
pub fn new_uuid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{:?}-{}-{}",
        std::time::SystemTime::now(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut b: [u8; 16] = [0; 16];
    b.copy_from_slice(&Sha256::digest(seed.as_bytes())[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl ApiKey {
    /// The key as `GET /keys` shows it.
    pub fn view(&self, master_key: &str) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "key": key_value(master_key, &self.uid),
            "uid": self.uid,
            "actions": self.actions,
            "indexes": self.indexes,
            "expiresAt": self.expires_at.map(fmt_time),
            "createdAt": fmt_time(self.created_at),
            "updatedAt": fmt_time(self.updated_at),
        })
    }

    pub fn expired(&self) -> bool {
        self.expires_at
            .is_some_and(|e| e <= OffsetDateTime::now_utc())
    }
}

/// The keys of a node, newest first.
#[derive(Debug, Default)]
pub struct KeyStore {
    path: Option<PathBuf>,
    pub keys: Vec<ApiKey>,
}

impl KeyStore {
    /// Loads the keys under `dir`, creating the default keys the first time.
    pub fn open(dir: &Path, with_defaults: bool) -> std::io::Result<Self> {
        let path = dir.join("double-keys.json");
        if path.exists() {
            let keys = serde_json::from_slice(&std::fs::read(&path)?)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            return Ok(KeyStore {
                path: Some(path),
                keys,
            });
        }
        let mut store = KeyStore {
            path: Some(path),
            keys: Vec::new(),
        };
        if with_defaults {
            let defaults: [(&str, &str, &[&str]); 4] = [
                ("Default Chat API Key", "Use it to chat and search from the frontend", &["chatCompletions", "search"]),
                ("Default Read-Only Admin API Key", "Use it to read information across the whole database. Caution! Do not expose this key on a public frontend", &["*.get", "keys.get"]),
                ("Default Admin API Key", "Use it for anything that is not a search operation. Caution! Do not expose it on a public frontend", &["*"]),
                ("Default Search API Key", "Use it to search from the frontend", &["search"]),
            ];
            let now = OffsetDateTime::now_utc();
            for (i, (name, description, actions)) in defaults.iter().enumerate() {
                let at = now + time::Duration::microseconds(i as i64);
                store.keys.insert(
                    0,
                    ApiKey {
                        uid: new_uuid(),
                        name: Some(name.to_string()),
                        description: Some(description.to_string()),
                        actions: actions.iter().map(|a| a.to_string()).collect(),
                        indexes: vec!["*".into()],
                        expires_at: None,
                        created_at: at,
                        updated_at: at,
                    },
                );
            }
            store.save()?;
        }
        Ok(store)
    }

    pub fn save(&self) -> std::io::Result<()> {
        match &self.path {
            Some(p) => atomic_write(p, &serde_json::to_vec(&self.keys)?),
            None => Ok(()),
        }
    }

    /// The key whose uid or value is `id`.
    pub fn find(&self, master_key: &str, id: &str) -> Option<usize> {
        self.keys
            .iter()
            .position(|k| k.uid == id || key_value(master_key, &k.uid) == id)
    }

    /// The key whose value is `token`.
    pub fn by_value(&self, master_key: &str, token: &str) -> Option<&ApiKey> {
        self.keys
            .iter()
            .find(|k| key_value(master_key, &k.uid) == token)
    }

    pub fn by_uid(&self, uid: &str) -> Option<&ApiKey> {
        self.keys.iter().find(|k| k.uid == uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_is_the_hmac_of_the_uid() {
        // recorded from Meilisearch 1.50 (master key `double-test-master-key`)
        assert_eq!(
            key_value(
                "double-test-master-key",
                "11111111-1111-4111-8111-111111111111"
            ),
            "bcb794ff177a5fa85244e9ede058d4d4caba570148acdf46ac2d0eb3d081664a"
        );
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_ne!(u, new_uuid());
    }
}
