//! The pid file, held under an exclusive `flock` for the daemon's whole life.
//!
//! The lock, not the file's existence, says whether a daemon runs: a file left behind
//! by a killed daemon is unlocked and simply taken over, while a live daemon's file
//! cannot be locked and makes a second daemon refuse to start, naming the pid.

use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Errors of taking the pid file.
#[derive(Debug, thiserror::Error)]
pub enum PidError {
    /// Another daemon holds the lock.
    #[error("skypunchd is already running (pid {pid}, pid file {path})")]
    AlreadyRunning {
        /// The other daemon's pid as written in the file.
        pid: String,
        /// The pid file.
        path: PathBuf,
    },
    /// The file could not be created or written.
    #[error("pid file {path}: {message}")]
    Io {
        /// The pid file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

/// A held pid file; removed by [`PidFile::remove`].
pub struct PidFile {
    path: PathBuf,
    lock: Flock<File>,
}

impl PidFile {
    /// Locks the file at `path` and writes this process's pid into it.
    pub fn acquire(path: &Path) -> Result<PidFile, PidError> {
        let io = |message: String| PidError::Io {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| io(format!("cannot create {}: {e}", dir.display())))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map_err(|e| io(e.to_string()))?;
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                return Err(PidError::AlreadyRunning {
                    pid: pid.trim().to_string(),
                    path: path.to_path_buf(),
                });
            }
            Err((_, e)) => return Err(io(format!("cannot lock: {e}"))),
        };
        lock.set_len(0).map_err(|e| io(e.to_string()))?;
        lock.rewind().map_err(|e| io(e.to_string()))?;
        writeln!(lock, "{}", std::process::id()).map_err(|e| io(e.to_string()))?;
        lock.sync_data().map_err(|e| io(e.to_string()))?;
        Ok(PidFile {
            path: path.to_path_buf(),
            lock,
        })
    }

    /// Deletes the file, then releases the lock.
    pub fn remove(self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            log::warn!("cannot remove pid file {}: {e}", self.path.display());
        }
        drop(self.lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_file_is_taken_over_and_live_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/d.pid");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "999999\n").unwrap();
        let held = PidFile::acquire(&path).unwrap();
        let mine = std::process::id().to_string();
        assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), mine);
        match PidFile::acquire(&path) {
            Err(PidError::AlreadyRunning { pid, .. }) => assert_eq!(pid, mine),
            other => panic!("expected a refusal, got {:?}", other.err()),
        }
        held.remove();
        assert!(!path.exists());
    }
}
