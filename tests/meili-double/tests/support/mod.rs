//! Shared helpers of the integration tests: a tiny HTTP/1.1 client, a
//! server process guard, the recorded-fixture format and the scenarios.
#![allow(dead_code)]

pub mod api_scenarios;
pub mod random;
pub mod scenarios;
pub mod tokens;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const MASTER_KEY: &str = "double-test-master-key";

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = body.unwrap_or(b"");
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    // a server may answer (e.g. 413) before reading everything: ignore write errors
    let _ = stream.write_all(&bytes);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw.get(split + 4..).unwrap_or(&[]).to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..pos]).trim(), 16)
                .unwrap_or(0);
            if size == 0 {
                break;
            }
            let start = pos + 2;
            let end = (start + size).min(rest.len());
            out.extend_from_slice(&rest[start..end]);
            rest = rest.get(end + 2..).unwrap_or(&[]);
        }
        body = out;
    }
    Answer {
        status,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, killed (SIGKILL) on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub db: PathBuf,
}

impl Server {
    /// Starts `bin` like Meilisearch (`--http-addr`, `--db-path`, `--master-key`, `--no-analytics`).
    pub fn start(bin: &Path, db: &Path, extra: &[String]) -> Server {
        let port = free_port();
        let child = Command::new(bin)
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--db-path")
            .arg(db)
            .arg("--master-key")
            .arg(MASTER_KEY)
            .arg("--no-analytics")
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start server");
        let server = Server {
            child,
            port,
            db: db.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && http(port, "GET", "/health", &[], None).status == 200
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server {} did not start", bin.display());
    }

    pub fn request(&self, step: &Request) -> Answer {
        let auth_header;
        let mut headers: Vec<(&str, &str)> = Vec::new();
        match step.auth.as_str() {
            "none" => {}
            "wrong" => headers.push(("Authorization", "Bearer not-the-key")),
            "basic" => headers.push(("Authorization", "Basic abc")),
            "empty" => headers.push(("Authorization", "Bearer")),
            other if other.starts_with("bearer:") => {
                auth_header = format!("Bearer {}", &other["bearer:".len()..]);
                headers.push(("Authorization", &auth_header));
            }
            _ => {
                auth_header = format!("Bearer {MASTER_KEY}");
                headers.push(("Authorization", &auth_header));
            }
        }
        if let Some(ct) = &step.content_type {
            headers.push(("Content-Type", ct));
        }
        for (k, v) in &step.headers {
            headers.push((k, v));
        }
        http(
            self.port,
            &step.method,
            &step.path,
            &headers,
            step.body.as_deref().map(str::as_bytes),
        )
    }

    /// Waits until no task is enqueued or processing.
    pub fn wait_for_tasks(&self) {
        let auth = format!("Bearer {MASTER_KEY}");
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let a = http(
                self.port,
                "GET",
                "/tasks?statuses=enqueued,processing&limit=1",
                &[("Authorization", &auth)],
                None,
            );
            if a.json()["total"] == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        panic!("tasks did not finish");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One recorded request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub method: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `master` (default), `none`, `wrong`, `basic`, `empty`, or
    /// `bearer:<token>` (an API key or a tenant token).
    #[serde(default = "master")]
    pub auth: String,
    /// Wait for every task to finish after this request.
    #[serde(default)]
    pub wait: bool,
    /// Compare only the answer's shape (keys, types, lengths), not its
    /// values: for answers whose content the double simplifies (batches).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shape_only: bool,
    /// Extra request headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
}

fn master() -> String {
    "master".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recorded {
    pub status: u16,
    pub body: Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exchange {
    pub request: Request,
    pub response: Recorded,
}

/// A recorded scenario: server arguments and request/answer pairs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fixture {
    pub scenario: String,
    pub recorded_with: String,
    #[serde(default)]
    pub server_args: Vec<String>,
    pub exchanges: Vec<Exchange>,
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("meili-1.50")
}

pub fn body_value(a: &Answer) -> Value {
    if a.body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&a.body).unwrap_or_else(|_| Value::String(a.body.clone()))
    }
}

/// Keys whose values differ between runs (only their type is compared).
const VOLATILE: [&str; 23] = [
    "key",
    "queryUid",
    "progressTrace",
    "internalDatabaseSizes",
    "_rankingScore",
    "enqueuedAt",
    "startedAt",
    "finishedAt",
    "duration",
    "createdAt",
    "updatedAt",
    "taskUid",
    "uid",
    "batchUid",
    "lastUpdate",
    "databaseSize",
    "usedDatabaseSize",
    "rawDocumentDbSize",
    "avgDocumentSize",
    "commitSha",
    "commitDate",
    "processingTimeMs",
    "requestUid",
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares JSON shapes: same keys and value types recursively, same array
/// lengths, and (unless `SHAPE_ONLY` is set) the same scalar values for
/// every key but the volatile ones.
pub fn shape_only_diff(expected: &Value, actual: &Value, out: &mut Vec<String>) {
    diff(expected, actual, "", false, out)
}

pub fn shape_diff(expected: &Value, actual: &Value, path: &str, out: &mut Vec<String>) {
    let values = std::env::var("SHAPE_ONLY").is_err();
    diff(expected, actual, path, values, out)
}

fn diff(expected: &Value, actual: &Value, path: &str, values: bool, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for k in e.keys() {
                match a.get(k) {
                    Some(av) => {
                        let ev = &e[k];
                        let compare_scores =
                            k == "_rankingScore" && std::env::var("SCORES").is_ok();
                        if compare_scores
                            && (ev.as_f64().unwrap_or(0.0) - av.as_f64().unwrap_or(0.0)).abs()
                                > 1e-9
                        {
                            out.push(format!("{path}.{k}: score {ev} != {av}"));
                        }
                        if VOLATILE.contains(&k.as_str()) {
                            // volatile: a missing value on one side is fine only if both are null-ish
                            if kind(ev) != kind(av) && !(ev.is_null() || av.is_null()) {
                                out.push(format!("{path}.{k}: type {} != {}", kind(ev), kind(av)));
                            }
                        } else {
                            diff(ev, av, &format!("{path}.{k}"), values, out);
                        }
                    }
                    None => out.push(format!("{path}: missing key `{k}`")),
                }
            }
            for k in a.keys() {
                if !e.contains_key(k) {
                    out.push(format!("{path}: unexpected key `{k}`"));
                }
            }
            let (ek, ak): (Vec<&String>, Vec<&String>) = (e.keys().collect(), a.keys().collect());
            if values && e.len() == a.len() && ek != ak && e.keys().all(|k| a.contains_key(k)) {
                out.push(format!("{path}: key order {ek:?} != {ak:?}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!("{path}: array length {} != {}", e.len(), a.len()));
            }
            for (i, (ev, av)) in e.iter().zip(a.iter()).enumerate() {
                diff(ev, av, &format!("{path}[{i}]"), values, out);
            }
        }
        (e, a) if kind(e) != kind(a) => {
            out.push(format!("{path}: type {} != {}", kind(e), kind(a)))
        }
        (e, a) => {
            // values are compared too unless SHAPE_ONLY is set; fractional numbers (ranking
            // scores) within a few ULPs, since the double's arithmetic may round its last
            // digit differently (visible when serde_json parses floats exactly, as it does
            // in the workspace build where core enables `float_roundtrip`)
            let close = match (e.as_f64(), a.as_f64()) {
                (Some(x), Some(y)) if !(e.is_i64() || e.is_u64()) => {
                    (x - y).abs() <= 1e-14 * x.abs().max(1.0)
                }
                _ => false,
            };
            if values && e != a && !close {
                out.push(format!("{path}: value {e} != {a}"));
            }
        }
    }
}
