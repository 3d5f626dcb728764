//! Reports waiting to be delivered, oldest first, kept in a file while any wait.
//!
//! Reports are queued in memory and sent at once; only when the server cannot take
//! them does the queue go to disk (JSON lines, written to a temporary file, synced,
//! then renamed over the spool, so a crash leaves the old or the new file, never half
//! of one). The file is read back at start, so an agent restarted during an outage
//! delivers what the previous one measured. The queue is bounded: beyond `max`
//! reports the oldest are dropped, with a warning.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;

/// One measured state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The service.
    pub name: String,
    /// OK, WARN, FAIL or UNK.
    pub state: String,
    /// The first line of the plugin's output.
    pub info: String,
    /// Seconds promised until the next report.
    pub period: u64,
    /// When it was measured (ms since the epoch).
    pub time_ms: i64,
    /// Whether a delivery already failed (then the server is told `time`).
    #[serde(default)]
    pub late: bool,
}

/// The queue and its file.
pub struct Spool {
    path: Option<PathBuf>,
    queue: VecDeque<Report>,
    max: usize,
    /// Whether the file holds the queue (else it does not exist).
    on_disk: bool,
}

/// Why the spool file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A spool left by a previous run cannot be read.
    #[error("cannot read the spool {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The emptied spool cannot be removed.
    #[error("cannot remove the spool {}: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The spool cannot be written (or made durable).
    #[error("cannot write the spool {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Spool {
    /// Opens the spool at `path` (none: memory only), loading what a previous run left.
    pub fn open(path: Option<PathBuf>, max: usize) -> Result<Spool, SpoolError> {
        let mut queue = VecDeque::new();
        let mut on_disk = false;
        if let Some(p) = &path {
            match std::fs::read_to_string(p) {
                Ok(text) => {
                    on_disk = true;
                    for (i, line) in text
                        .lines()
                        .enumerate()
                        .filter(|(_, l)| !l.trim().is_empty())
                    {
                        match serde_json::from_str::<Report>(line) {
                            Ok(r) => queue.push_back(r),
                            Err(e) => log::warn!(
                                "spool {}: line {} is unreadable and skipped: {e}",
                                p.display(),
                                i + 1
                            ),
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(SpoolError::Read {
                        path: p.clone(),
                        source,
                    })
                }
            }
        }
        let mut spool = Spool {
            path,
            queue,
            max: max.max(1),
            on_disk,
        };
        spool.trim();
        Ok(spool)
    }

    /// Reports waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues reports; the oldest go when the spool is full.
    pub fn push(&mut self, reports: Vec<Report>) {
        self.queue.extend(reports);
        self.trim();
    }

    fn trim(&mut self) {
        let excess = self.queue.len().saturating_sub(self.max);
        if excess > 0 {
            self.queue.drain(..excess);
            log::warn!(
                "spool full ({} reports): the {excess} oldest dropped",
                self.max
            );
        }
    }

    /// The oldest reports, at most `n`, stopping before a service repeats (the server
    /// keeps only the last entry of a service within one request).
    pub fn next_batch(&self, n: usize) -> Vec<Report> {
        let mut seen = std::collections::HashSet::new();
        self.queue
            .iter()
            .take(n)
            .take_while(|r| seen.insert(r.name.as_str()))
            .cloned()
            .collect()
    }

    /// Forgets the `n` oldest reports (delivered or refused).
    pub fn remove_first(&mut self, n: usize) {
        self.queue.drain(..n.min(self.queue.len()));
    }

    /// Marks every queued report as late (its delivery failed).
    pub fn mark_late(&mut self) {
        for r in &mut self.queue {
            r.late = true;
        }
    }

    /// Writes the queue to its file, or removes the file when the queue is empty.
    /// What is written is late by then: it will be sent with its time.
    pub fn save(&mut self) -> Result<(), SpoolError> {
        self.mark_late();
        let Some(path) = &self.path else {
            return Ok(());
        };
        if self.queue.is_empty() {
            if self.on_disk {
                match std::fs::remove_file(path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(SpoolError::Remove {
                            path: path.clone(),
                            source,
                        })
                    }
                }
                self.on_disk = false;
            }
            return Ok(());
        }
        let fail = |source| SpoolError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(fail)?;
        let mut text = String::new();
        for r in &self.queue {
            text.push_str(&serde_json::to_string(r).unwrap_or_default());
            text.push('\n');
        }
        f.write_all(text.as_bytes()).map_err(fail)?;
        f.sync_all().map_err(fail)?;
        std::fs::rename(&tmp, path).map_err(fail)?;
        // The rename is durable only once the directory holding it is on disk.
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(std::path::Path::new(".")))
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
        self.on_disk = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, t: i64) -> Report {
        Report {
            name: name.into(),
            state: "OK".into(),
            info: String::new(),
            period: 60,
            time_ms: t,
            late: false,
        }
    }

    #[test]
    fn survives_a_restart_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.spool");
        let mut s = Spool::open(Some(path.clone()), 3).unwrap();
        s.push((0..5).map(|i| report(&format!("s{i}"), i)).collect());
        assert_eq!(s.len(), 3);
        s.mark_late();
        s.save().unwrap();
        let mut again = Spool::open(Some(path.clone()), 3).unwrap();
        let names: Vec<String> = again.next_batch(10).into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["s2", "s3", "s4"]);
        assert!(again.next_batch(1)[0].late);
        again.remove_first(3);
        again.save().unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_batch_stops_before_a_service_repeats() {
        let mut s = Spool::open(None, 100).unwrap();
        s.push(vec![
            report("a", 1),
            report("b", 1),
            report("a", 2),
            report("c", 2),
        ]);
        let batch: Vec<String> = s.next_batch(10).into_iter().map(|r| r.name).collect();
        assert_eq!(batch, ["a", "b"]);
    }
}
