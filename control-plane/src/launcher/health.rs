//! Waiting for a child's `GET /health` to answer 200 while watching that it still runs.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::process::Child;
use super::LaunchError;

const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const PROBE_INTERVAL: Duration = Duration::from_millis(100);

/// The status code of `GET {path}` on 127.0.0.1:`port`. A minimal HTTP/1.1 client: a
/// health probe needs nothing more, and it keeps an HTTP client crate out of the build.
pub async fn probe(port: u16, path: &str) -> io::Result<u16> {
    probe_address(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).to_string(), path).await
}

/// The status code of `GET {path}` on `address` (`host:port`).
pub async fn probe_address(address: &str, path: &str) -> io::Result<u16> {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = Vec::new();
        let mut buf = [0u8; 256];
        while !head.windows(2).any(|w| w == b"\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        status_code(&head).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer"))
    };
    timeout(PROBE_TIMEOUT, exchange).await.map_err(|_| io::ErrorKind::TimedOut)?
}

fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let mut parts = std::str::from_utf8(line).ok()?.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

/// Waits until `GET /health` on `port` answers 200, failing early if `child` exits.
pub async fn wait_healthy(child: &mut Child, port: u16, deadline: Instant) -> Result<(), LaunchError> {
    let url = format!("http://127.0.0.1:{port}/health");
    loop {
        if let Some(status) = child.exit_status() {
            return Err(LaunchError::Exited { name: child.name.clone(), status, log: child.log.clone(), tail: child.log_tail() });
        }
        let last = match probe(port, "/health").await {
            Ok(200) => {
                tracing::info!(child = %child.name, %url, "healthy");
                return Ok(());
            }
            Ok(code) => format!("answered {code}"),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(LaunchError::Unhealthy { name: child.name.clone(), url, last, log: child.log.clone(), tail: child.log_tail() });
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_code_comes_from_the_status_line() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n"), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 503 Service Unavailable\r\n"), Some(503));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_code(b""), None);
    }

    #[tokio::test]
    async fn probe_reads_a_real_servers_status() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await.unwrap();
            socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
        });
        assert_eq!(probe(port, "/health").await.unwrap(), 204);
        server.await.unwrap();
    }
}
