//! A small blocking client that returns every answer, error or not, as status + JSON.

use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    /// Response headers, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// The error `code`, if the answer is an error.
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    key: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: impl Into<String>, key: &str) -> Client {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(300)).build();
        Client { base: base.into(), key: key.to_string(), agent }
    }

    pub fn send(&self, method: &str, path: &str, content_type: Option<&str>, body: Option<&[u8]>) -> Answer {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base)).set("Authorization", &format!("Bearer {}", self.key));
        if let Some(ct) = content_type {
            req = req.set("Content-Type", ct);
        }
        let result = match body {
            Some(b) => req.send_bytes(b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: no answer: {e}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| Some((name.to_ascii_lowercase(), response.header(&name)?.to_string())))
            .collect();
        let text = response.into_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body, headers }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, None, None)
    }

    pub fn json(&self, method: &str, path: &str, body: &Value) -> Answer {
        self.send(method, path, Some("application/json"), Some(body.to_string().as_bytes()))
    }

    /// Polls a task until it ends; returns it. Panics if it never ends.
    pub fn wait_task(&self, uid: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let answer = self.get(&format!("/tasks/{uid}"));
            assert_eq!(answer.status, 200, "task {uid}: {answer:?}");
            if matches!(answer.body["status"].as_str(), Some("succeeded" | "failed" | "canceled")) {
                return answer.body;
            }
            assert!(Instant::now() < deadline, "task {uid} never finished: {answer:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a write and waits for its task.
    pub fn write_and_wait(&self, method: &str, path: &str, content_type: &str, body: &[u8]) -> Value {
        let answer = self.send(method, path, Some(content_type), Some(body));
        assert_eq!(answer.status, 202, "{method} {path}: {answer:?}");
        let uid = answer.body["taskUid"].as_u64().unwrap_or_else(|| panic!("no integer taskUid in {answer:?}"));
        self.wait_task(uid)
    }
}
