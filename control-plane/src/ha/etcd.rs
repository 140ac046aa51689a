//! A small etcd v3 client over etcd's JSON gateway (`/v3/...`, keys and values in
//! base64), blocking: the few calls the election and the state need.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::state::store::StoreError;

pub struct Etcd {
    endpoints: Vec<String>,
    agent: ureq::Agent,
}

fn etcd_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Etcd(e.to_string())
}

pub fn b64(s: &[u8]) -> String {
    B64.encode(s)
}

impl Etcd {
    pub fn new(endpoints: &[String]) -> Etcd {
        let endpoints = endpoints.iter().map(|e| e.trim_end_matches('/').to_owned()).collect();
        Etcd { endpoints, agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(2)).build() }
    }

    /// POSTs to the first endpoint that answers.
    pub fn call(&self, path: &str, body: Value) -> Result<Value, StoreError> {
        let mut last = StoreError::Etcd("no etcd endpoint".into());
        for endpoint in &self.endpoints {
            match self.agent.post(&format!("{endpoint}{path}")).send_json(body.clone()) {
                Ok(response) => return response.into_json::<Value>().map_err(etcd_err),
                Err(ureq::Error::Status(code, response)) => {
                    return Err(StoreError::Etcd(format!("{path}: {code} {}", response.into_string().unwrap_or_default())))
                }
                Err(e) => last = etcd_err(format!("{endpoint}{path}: {e}")),
            }
        }
        Err(last)
    }

    /// The value of `key` and its mod revision, if present.
    pub fn get(&self, key: &str) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        let answer = self.call("/v3/kv/range", json!({"key": b64(key.as_bytes())}))?;
        let Some(kv) = answer["kvs"].get(0) else { return Ok(None) };
        let value = B64.decode(kv["value"].as_str().unwrap_or_default()).map_err(etcd_err)?;
        let revision = kv["mod_revision"].as_str().and_then(|r| r.parse().ok()).unwrap_or(0);
        Ok(Some((value, revision)))
    }

    /// Every value under `prefix`, in key order.
    pub fn range_prefix(&self, prefix: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut end = prefix.as_bytes().to_vec();
        if let Some(last) = end.last_mut() {
            *last += 1;
        }
        let answer = self.call("/v3/kv/range", json!({"key": b64(prefix.as_bytes()), "range_end": b64(&end)}))?;
        answer["kvs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|kv| B64.decode(kv["value"].as_str().unwrap_or_default()).map_err(etcd_err))
            .collect()
    }

    pub fn grant(&self, ttl_secs: i64) -> Result<i64, StoreError> {
        let answer = self.call("/v3/lease/grant", json!({"TTL": ttl_secs}))?;
        answer["ID"].as_str().and_then(|id| id.parse().ok()).ok_or_else(|| etcd_err(format!("no lease id in {answer}")))
    }

    /// Renews `lease`; false once it has expired.
    pub fn keep_alive(&self, lease: i64) -> Result<bool, StoreError> {
        let answer = self.call("/v3/lease/keepalive", json!({"ID": lease.to_string()}))?;
        let ttl = answer["result"]["TTL"].as_str().and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
        Ok(ttl > 0)
    }

    pub fn revoke(&self, lease: i64) -> Result<(), StoreError> {
        self.call("/v3/lease/revoke", json!({"ID": lease.to_string()})).map(drop)
    }

    /// Puts `key` = `value` bound to `lease` if the key does not exist; true if it did so.
    pub fn create(&self, key: &str, value: &[u8], lease: i64) -> Result<bool, StoreError> {
        let k = b64(key.as_bytes());
        let txn = json!({
            "compare": [{"key": k, "target": "CREATE", "create_revision": "0"}],
            "success": [{"request_put": {"key": k, "value": b64(value), "lease": lease.to_string()}}],
        });
        Ok(self.call("/v3/kv/txn", txn)?["succeeded"].as_bool().unwrap_or(false))
    }

    /// Puts `key` = `value` if `guard` still holds `guard_value`; true if it did so.
    pub fn put_if(&self, guard: &str, guard_value: &[u8], key: &str, value: &[u8]) -> Result<bool, StoreError> {
        let txn = json!({
            "compare": [{"key": b64(guard.as_bytes()), "target": "VALUE", "value": b64(guard_value)}],
            "success": [{"request_put": {"key": b64(key.as_bytes()), "value": b64(value)}}],
        });
        Ok(self.call("/v3/kv/txn", txn)?["succeeded"].as_bool().unwrap_or(false))
    }

    /// Deletes every key of `keys` and puts `also` in one transaction if `guard` still
    /// holds `guard_value`; true if it did so.
    pub fn delete_if(&self, guard: &str, guard_value: &[u8], keys: &[String], also: (&str, &[u8])) -> Result<bool, StoreError> {
        let mut deletes: Vec<Value> = keys.iter().map(|k| json!({"request_delete_range": {"key": b64(k.as_bytes())}})).collect();
        deletes.push(json!({"request_put": {"key": b64(also.0.as_bytes()), "value": b64(also.1)}}));
        let txn = json!({
            "compare": [{"key": b64(guard.as_bytes()), "target": "VALUE", "value": b64(guard_value)}],
            "success": deletes,
        });
        Ok(self.call("/v3/kv/txn", txn)?["succeeded"].as_bool().unwrap_or(false))
    }
}
