//! Going into the background, and telling whoever started us when we are ready.
//!
//! [`detach`] forks with `daemonize` (which must happen before any thread or tokio
//! runtime exists). The parent then waits on a pipe for the child's verdict, so its
//! exit status means something: 0 once the child serves, non-zero with the child's
//! own error message when start-up failed. In the foreground the same [`Readiness`]
//! speaks to systemd instead (`READY=1`).

use daemonize::{Daemonize, Outcome};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// Where to report readiness.
pub enum Readiness {
    /// The parent waits on this pipe.
    Pipe(File),
    /// systemd (or nobody) via `$NOTIFY_SOCKET`.
    Notify,
    /// Already reported.
    Done,
}

impl Readiness {
    /// Reports that the daemon serves.
    pub fn ready(&mut self) {
        match std::mem::replace(self, Readiness::Done) {
            Readiness::Pipe(mut f) => {
                let _ = f.write_all(b"ready\n");
            }
            Readiness::Notify => {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
            }
            Readiness::Done => {}
        }
    }

    /// Reports a start-up failure (the parent prints `message` and exits 1).
    pub fn failed(&mut self, message: &str) {
        if let Readiness::Pipe(mut f) = std::mem::replace(self, Readiness::Done) {
            let _ = writeln!(f, "error: {message}");
        }
    }

    /// True until [`ready`](Self::ready) or [`failed`](Self::failed) was called.
    pub fn pending(&self) -> bool {
        !matches!(self, Readiness::Done)
    }
}

/// What [`detach`] returns in each process.
pub enum Detached {
    /// In the original process: exit with this status.
    Parent(u8),
    /// In the daemon: carry on and report through this.
    Child(Readiness),
}

/// Why the daemon could not go into the background.
#[derive(Debug, thiserror::Error)]
pub enum DetachError {
    /// The readiness pipe could not be made.
    #[error("cannot create a pipe: {0}")]
    Pipe(nix::Error),
    /// The fork failed.
    #[error("cannot go into the background: {0}")]
    Fork(daemonize::Error),
}

/// Forks into the background. The parent waits up to `wait` for the child's verdict.
pub fn detach(wait: Duration) -> Result<Detached, DetachError> {
    let (read_end, write_end) = nix::unistd::pipe().map_err(DetachError::Pipe)?;
    let outcome = Daemonize::new()
        .working_directory("/")
        .umask(0o027)
        .execute();
    match outcome {
        Outcome::Parent(Ok(_)) => {
            drop(write_end);
            Ok(Detached::Parent(wait_for_child(File::from(read_end), wait)))
        }
        Outcome::Parent(Err(e)) => Err(DetachError::Fork(e)),
        Outcome::Child(Ok(_)) => {
            drop(read_end);
            Ok(Detached::Child(Readiness::Pipe(File::from(write_end))))
        }
        Outcome::Child(Err(e)) => {
            let mut f = File::from(write_end);
            let _ = writeln!(f, "error: cannot go into the background: {e}");
            std::process::exit(1);
        }
    }
}

fn wait_for_child(mut pipe: File, wait: Duration) -> u8 {
    let deadline = Instant::now() + wait;
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pipe.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) if left.is_zero() => {
                eprintln!(
                    "skypunchd: not ready after {} s; see the log file",
                    wait.as_secs()
                );
                return 1;
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                eprintln!("skypunchd: cannot wait for the daemon: {e}");
                return 1;
            }
        }
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                if text.ends_with('\n') {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("skypunchd: cannot read the daemon's status: {e}");
                return 1;
            }
        }
    }
    match text.trim_end().strip_prefix("error: ") {
        _ if text.starts_with("ready") => 0,
        Some(msg) => {
            eprintln!("skypunchd: {msg}");
            1
        }
        None => {
            eprintln!("skypunchd: the daemon exited during start-up; see the log file");
            1
        }
    }
}
