//! A continuous read load through Miroir (point reads, index stats, health) for the
//! tests that change things under it; it counts every request that is not a 200.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Requests sent and the failures seen (status and body), from `threads` loops.
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..threads)
            .map(|t| {
                let (stop, sent, failures) = (stop.clone(), sent.clone(), failures.clone());
                std::thread::spawn(move || {
                    let mut i = t as u64;
                    let started = std::time::Instant::now();
                    // Bounded: stops when told, or after 100,000 requests at most.
                    while !stop.load(Ordering::Relaxed) && i < 100_000 {
                        let path = match i % 4 {
                            0 => format!("/indexes/movies/documents/{i}"),
                            1 => "/indexes/movies/stats".to_string(),
                            2 => "/indexes/movies/search?q=film".to_string(),
                            _ => "/health".to_string(),
                        };
                        let answer = super::try_http(port, "GET", &path, "");
                        sent.fetch_add(1, Ordering::Relaxed);
                        match answer {
                            Ok((200, _)) => {}
                            Ok((status, body)) => failures.lock().unwrap().push(format!("{:?} {path}: {status} {body}", started.elapsed())),
                            Err(e) => failures.lock().unwrap().push(format!("{:?} {path}: {e}", started.elapsed())),
                        }
                        i += 2;
                    }
                })
            })
            .collect();
        Load { stop, sent, failures, threads }
    }

    pub fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.sent.load(Ordering::Relaxed), failures)
    }
}

