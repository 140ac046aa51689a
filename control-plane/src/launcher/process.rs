//! The children of `miroir dev`: each writes to its own log file, is watched for an
//! exit it did on its own, and is stopped politely (SIGTERM) then firmly (SIGKILL).

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::time::Instant;

use super::LaunchError;

/// Lines of a child's log quoted when it fails.
const TAIL_LINES: usize = 20;

pub struct Child {
    pub name: String,
    pub log: PathBuf,
    process: tokio::process::Child,
    exited: Option<ExitStatus>,
}

impl Child {
    /// Starts `program` in `cwd` with stdout and stderr going to `log` (truncated).
    pub fn spawn(name: &str, program: &Path, args: &[OsString], cwd: &Path, log: PathBuf) -> Result<Child, LaunchError> {
        let spawn_err = |source| LaunchError::Spawn { name: name.to_owned(), program: program.to_owned(), source };
        let out = File::create(&log).map_err(spawn_err)?;
        let err = out.try_clone().map_err(spawn_err)?;
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Out of the terminal's process group: Ctrl-C reaches only us, and we stop
            // the children in order instead of racing them.
            .process_group(0)
            .kill_on_drop(true);
        // SAFETY: the closure runs between fork and exec and only makes prctl(2), which
        // is async-signal-safe. It makes the kernel kill the child if `miroir dev` dies
        // without cleaning up (SIGKILL, a crash), so no node outlives the launcher.
        unsafe {
            command.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(std::io::Error::from));
        }
        let process = command.spawn().map_err(spawn_err)?;
        tracing::info!(child = name, pid = process.id(), log = %log.display(), "started");
        Ok(Child { name: name.to_owned(), log, process, exited: None })
    }

    /// The exit status once the child has exited; never blocks.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.process.try_wait().ok().flatten();
        }
        self.exited
    }

    /// The last lines of the child's log, for an error message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return "(the log is empty)".into();
        }
        lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
    }

    fn signal(&self, signal: Signal) {
        if let Some(pid) = self.process.id() {
            let _ = kill(Pid::from_raw(pid as i32), signal);
        }
    }
}

/// Sends SIGTERM to every running child, waits up to `grace` for all of them, then
/// SIGKILLs the rest.
pub async fn stop_all(children: &mut [Child], grace: Duration) {
    for child in children.iter_mut().rev() {
        if child.exit_status().is_none() {
            child.signal(Signal::SIGTERM);
        }
    }
    let deadline = Instant::now() + grace;
    for child in children.iter_mut().rev() {
        if child.exited.is_some() {
            continue;
        }
        let status = match tokio::time::timeout_at(deadline, child.process.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                tracing::warn!(child = %child.name, "still running {grace:?} after SIGTERM, sending SIGKILL");
                let _ = child.process.start_kill();
                child.process.wait().await.ok()
            }
        };
        match status {
            Some(status) => tracing::info!(child = %child.name, %status, "stopped"),
            None => tracing::warn!(child = %child.name, "stopped, exit status unknown"),
        }
        child.exited = status;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, dir: &Path) -> Child {
        let args = [OsString::from("-c"), OsString::from(script)];
        Child::spawn("test", Path::new("/bin/sh"), &args, dir, dir.join("test.log")).unwrap()
    }

    #[tokio::test]
    async fn a_child_that_ignores_sigterm_is_killed_after_the_grace_period() {
        let dir = tempfile::tempdir().unwrap();
        let mut children = [sh("trap '' TERM; echo ready; while :; do sleep 0.1; done", dir.path())];
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        stop_all(&mut children, Duration::from_millis(300)).await;
        assert!(children[0].exit_status().is_some());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(children[0].log_tail(), "ready");
    }

    #[tokio::test]
    async fn a_child_that_exits_on_its_own_is_noticed_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = sh("for i in $(seq 1 30); do echo line $i; done; exit 3", dir.path());
        let deadline = Instant::now() + Duration::from_secs(5);
        while child.exit_status().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(child.exit_status().and_then(|s| s.code()), Some(3));
        let tail = child.log_tail();
        assert!(tail.starts_with("line 11\n") && tail.ends_with("line 30"), "{tail}");
    }
}
