//! The repairer's view of one Meilisearch node: its HTTP API, spoken with the master
//! key, straight to the node (not through Envoy: the control plane must see each
//! replica on its own). Blocking calls; run them off the async workers.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

/// A document as a node stores it (bookkeeping fields included).
pub type Doc = Map<String, Value>;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("node {address} does not answer: {message}")]
    Unreachable { address: String, message: String },
    #[error("node {address} answered {status} to {what}: {body}")]
    Status { address: String, what: String, status: u16, body: String },
    #[error("node {address}: task {uid} failed: {error}")]
    TaskFailed { address: String, uid: u64, error: String },
    #[error("node {address}: task {uid} did not finish within {secs} s")]
    TaskTimeout { address: String, uid: u64, secs: u64 },
    #[error("node {address} gave an unexpected answer to {what}: {body}")]
    BadAnswer { address: String, what: String, body: String },
}

#[derive(Clone)]
pub struct NodeApi {
    pub address: String,
    key: Option<String>,
    agent: ureq::Agent,
    /// How long a node task may take before the repairer gives up on this round.
    task_timeout: Duration,
}

impl std::fmt::Debug for NodeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeApi").field("address", &self.address).finish()
    }
}

/// Documents fetched per call.
pub const PAGE: usize = 1000;

impl NodeApi {
    pub fn new(address: &str, key: Option<&str>) -> NodeApi {
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(2)).timeout(Duration::from_secs(60)).build();
        NodeApi { address: address.to_owned(), key: key.map(str::to_owned), agent, task_timeout: Duration::from_secs(120) }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), NodeError> {
        let mut request = self.agent.request(method, &format!("http://{}{path}", self.address));
        if let Some(key) = &self.key {
            request = request.set("Authorization", &format!("Bearer {key}"));
        }
        let result = match body {
            Some(body) => request.set("Content-Type", "application/json").send_string(&body.to_string()),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(NodeError::Unreachable { address: self.address.clone(), message: e.to_string() }),
        };
        let status = response.status();
        let text = response
            .into_string()
            .map_err(|e| NodeError::Unreachable { address: self.address.clone(), message: e.to_string() })?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// A call that must answer `ok`; anything else is an error naming the call.
    fn expect(&self, method: &str, path: &str, body: Option<&Value>, ok: u16) -> Result<Value, NodeError> {
        let (status, value) = self.call(method, path, body)?;
        if status == ok {
            Ok(value)
        } else {
            Err(NodeError::Status { address: self.address.clone(), what: format!("{method} {path}"), status, body: value.to_string() })
        }
    }

    fn bad(&self, what: &str, body: &Value) -> NodeError {
        NodeError::BadAnswer { address: self.address.clone(), what: what.to_owned(), body: body.to_string() }
    }

    fn task_uid(&self, what: &str, answer: &Value) -> Result<u64, NodeError> {
        answer.get("taskUid").and_then(Value::as_u64).ok_or_else(|| self.bad(what, answer))
    }

    /// Every index uid on the node.
    pub fn index_uids(&self) -> Result<Vec<String>, NodeError> {
        let mut uids = Vec::new();
        let mut offset = 0;
        loop {
            let path = format!("/indexes?limit=1000&offset={offset}");
            let page = self.expect("GET", &path, None, 200)?;
            let results = page.get("results").and_then(Value::as_array).ok_or_else(|| self.bad(&path, &page))?;
            uids.extend(results.iter().filter_map(|i| i.get("uid").and_then(Value::as_str).map(str::to_owned)));
            let total = page.get("total").and_then(Value::as_u64).unwrap_or(0) as usize;
            offset += results.len();
            if results.is_empty() || offset >= total {
                return Ok(uids);
            }
        }
    }

    /// The index's description (`primaryKey`, ...), `None` if the node has no such index.
    pub fn index(&self, uid: &str) -> Result<Option<Value>, NodeError> {
        let path = format!("/indexes/{uid}");
        match self.call("GET", &path, None)? {
            (200, value) => Ok(Some(value)),
            (404, _) => Ok(None),
            (status, body) => Err(NodeError::Status { address: self.address.clone(), what: format!("GET {path}"), status, body: body.to_string() }),
        }
    }

    pub fn create_index(&self, uid: &str, primary_key: Option<&str>) -> Result<u64, NodeError> {
        let answer = self.expect("POST", "/indexes", Some(&json!({"uid": uid, "primaryKey": primary_key})), 202)?;
        self.task_uid("POST /indexes", &answer)
    }

    pub fn settings(&self, uid: &str) -> Result<Value, NodeError> {
        self.expect("GET", &format!("/indexes/{uid}/settings"), None, 200)
    }

    pub fn update_settings(&self, uid: &str, settings: &Value) -> Result<u64, NodeError> {
        let path = format!("/indexes/{uid}/settings");
        let answer = self.expect("PATCH", &path, Some(settings), 202)?;
        self.task_uid(&path, &answer)
    }

    /// One page of the documents matching `filter`, all fields; with the total.
    pub fn fetch(&self, uid: &str, filter: &str, offset: usize, limit: usize) -> Result<(Vec<Doc>, u64), NodeError> {
        let path = format!("/indexes/{uid}/documents/fetch");
        let page = self.expect("POST", &path, Some(&json!({"filter": filter, "offset": offset, "limit": limit})), 200)?;
        let results = page.get("results").and_then(Value::as_array).ok_or_else(|| self.bad(&path, &page))?;
        let docs = results.iter().filter_map(|d| d.as_object().cloned()).collect();
        Ok((docs, page.get("total").and_then(Value::as_u64).unwrap_or(0)))
    }

    /// Every document matching `filter`, page by page.
    pub fn fetch_all(&self, uid: &str, filter: &str) -> Result<Vec<Doc>, NodeError> {
        let mut all = Vec::new();
        loop {
            let (page, total) = self.fetch(uid, filter, all.len(), PAGE)?;
            let done = page.len() < PAGE || all.len() + page.len() >= total as usize;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// How many documents match `filter`.
    pub fn count(&self, uid: &str, filter: &str) -> Result<u64, NodeError> {
        Ok(self.fetch(uid, filter, 0, 0)?.1)
    }

    /// Adds or replaces whole documents (bookkeeping fields as given).
    pub fn put_documents(&self, uid: &str, docs: &[Doc], primary_key: &str) -> Result<u64, NodeError> {
        let path = format!("/indexes/{uid}/documents?primaryKey={primary_key}");
        let answer = self.expect("POST", &path, Some(&Value::Array(docs.iter().cloned().map(Value::Object).collect())), 202)?;
        self.task_uid(&path, &answer)
    }

    pub fn delete_ids(&self, uid: &str, ids: &[Value]) -> Result<u64, NodeError> {
        let path = format!("/indexes/{uid}/documents/delete-batch");
        let answer = self.expect("POST", &path, Some(&Value::Array(ids.to_vec())), 202)?;
        self.task_uid(&path, &answer)
    }

    pub fn delete_by_filter(&self, uid: &str, filter: &str) -> Result<u64, NodeError> {
        let path = format!("/indexes/{uid}/documents/delete");
        let answer = self.expect("POST", &path, Some(&json!({"filter": filter})), 202)?;
        self.task_uid(&path, &answer)
    }

    /// Enqueues `POST /swap-indexes` with `swaps` (Meilisearch's body): its task uid.
    pub fn swap_indexes(&self, swaps: &Value) -> Result<u64, NodeError> {
        let answer = self.expect("POST", "/swap-indexes", Some(swaps), 202)?;
        self.task_uid("POST /swap-indexes", &answer)
    }

    /// The node's `indexSwap` tasks enqueued after `since` (RFC 3339), newest first.
    pub fn swap_tasks_since(&self, since: &str) -> Result<Vec<Value>, NodeError> {
        let since: String = url_encode(since);
        let path = format!("/tasks?types=indexSwap&afterEnqueuedAt={since}&limit=1000");
        let answer = self.expect("GET", &path, None, 200)?;
        Ok(answer.get("results").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// When the oldest task still enqueued or processing was enqueued (µs since the
    /// epoch); `None` when the queue is empty. Writes older than that were all applied.
    pub fn oldest_pending_us(&self) -> Result<Option<u64>, NodeError> {
        let path = "/tasks?statuses=enqueued,processing&reverse=true&limit=1";
        let answer = self.expect("GET", path, None, 200)?;
        let Some(first) = answer.get("results").and_then(Value::as_array).and_then(|r| r.first()) else { return Ok(None) };
        let at = first.get("enqueuedAt").and_then(Value::as_str).ok_or_else(|| self.bad(path, &answer))?;
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).map_err(|_| self.bad(path, &answer))?;
        Ok(Some((at.unix_timestamp_nanos() / 1000).max(0) as u64))
    }

    /// Waits for a node task to succeed; a failed or canceled task is an error.
    pub fn wait(&self, task: u64) -> Result<(), NodeError> {
        let deadline = Instant::now() + self.task_timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            let path = format!("/tasks/{task}");
            let answer = self.expect("GET", &path, None, 200)?;
            match answer.get("status").and_then(Value::as_str) {
                Some("succeeded") => return Ok(()),
                Some("failed" | "canceled") => {
                    let error = answer.get("error").map_or_else(|| "canceled".to_owned(), Value::to_string);
                    return Err(NodeError::TaskFailed { address: self.address.clone(), uid: task, error });
                }
                Some(_) => {}
                None => return Err(self.bad(&path, &answer)),
            }
            if Instant::now() > deadline {
                return Err(NodeError::TaskTimeout { address: self.address.clone(), uid: task, secs: self.task_timeout.as_secs() });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// Percent-encodes a query value (`+` and `:` in timestamps).
fn url_encode(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
