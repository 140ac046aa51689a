//! Free loopback ports for concurrently running test deployments.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};

static NEXT: AtomicU16 = AtomicU16::new(0);

/// A block of `n` consecutive ports free right now on 127.0.0.1.
pub fn free_block(n: u16) -> u16 {
    let seed = 20_000 + (std::process::id() % 400) as u16 * 100;
    loop {
        let offset = NEXT.fetch_add(n, Ordering::SeqCst);
        let base = seed.wrapping_add(offset);
        if base < 20_000 || base > 60_000 {
            NEXT.store(0, Ordering::SeqCst);
            continue;
        }
        if (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
}
