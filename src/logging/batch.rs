//! The log file's appender: the lines of a burst reach the file in one write.
//!
//! log4rs's file appender writes and flushes every record. With ten thousand checks a
//! second, each logging its result at INFO, that was a `write(2)` per check and a lock
//! the runtime's threads queued on. Here a line is encoded by the thread that logs it
//! and waits up to [`HOLD`] for company; a WARN or ERROR line, and a full buffer, are
//! written at once, after the lines that came before them. Rotation stays log4rs's: the
//! file appender underneath sees one record per burst.

use super::LineEncoder;
use log4rs::append::Append;
use log4rs::encode::writer::simple::SimpleWriter;
use log4rs::encode::{Encode, Write as EncodeWrite};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long an INFO line may wait before it is written: short enough for `tail -f`, and
/// the most a `kill -9` can lose of them.
const HOLD: Duration = Duration::from_millis(50);
/// Waiting bytes that are written at once.
const FULL: usize = 64 * 1024;

/// Buffers lines for `file`, whose encoder must write a record's message as it is
/// ([`Verbatim`]).
#[derive(Debug)]
pub(super) struct Batched {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    file: Box<dyn Append>,
    waiting: Mutex<Waiting>,
    /// Held from taking a burst to its end in the file, so bursts keep their order.
    writing: Mutex<()>,
    wake: Condvar,
    /// No thread writes late lines: each is written at once.
    direct: bool,
}

#[derive(Debug, Default)]
struct Waiting {
    lines: Vec<u8>,
    closed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Batched {
    /// Starts the thread that writes the lines that waited [`HOLD`].
    pub(super) fn new(file: Box<dyn Append>) -> Batched {
        let mut shared = Arc::new(Shared {
            file,
            waiting: Mutex::new(Waiting::default()),
            writing: Mutex::new(()),
            wake: Condvar::new(),
            direct: false,
        });
        let late = shared.clone();
        let started = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || late.run());
        // A thread that did not start dropped its clone with it: `shared` is ours alone.
        if started.is_err() {
            if let Some(s) = Arc::get_mut(&mut shared) {
                s.direct = true;
            }
        }
        Batched { shared }
    }
}

impl Shared {
    fn run(&self) {
        let mut w = lock(&self.waiting);
        loop {
            while w.lines.is_empty() && !w.closed {
                w = self.wake.wait(w).unwrap_or_else(PoisonError::into_inner);
            }
            if w.closed {
                return;
            }
            drop(w);
            std::thread::sleep(HOLD);
            if let Err(e) = self.write_out() {
                eprintln!("skypunchd: cannot write the log file: {e}");
            }
            w = lock(&self.waiting);
        }
    }

    /// Writes every waiting line.
    fn write_out(&self) -> anyhow::Result<()> {
        let _order = lock(&self.writing);
        let burst = std::mem::take(&mut lock(&self.waiting).lines);
        if burst.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&burst);
        self.file.append(
            &log::Record::builder()
                .level(log::Level::Info)
                .args(format_args!("{text}"))
                .build(),
        )
    }
}

impl Append for Batched {
    fn append(&self, record: &log::Record) -> anyhow::Result<()> {
        let full = {
            let mut w = lock(&self.shared.waiting);
            let was_empty = w.lines.is_empty();
            LineEncoder.encode(&mut SimpleWriter(&mut w.lines), record)?;
            if was_empty {
                self.shared.wake.notify_one();
            }
            w.lines.len() >= FULL
        };
        if full || self.shared.direct || record.level() <= log::Level::Warn {
            self.shared.write_out()?;
        }
        Ok(())
    }

    fn flush(&self) {
        if let Err(e) = self.shared.write_out() {
            eprintln!("skypunchd: cannot write the log file: {e}");
        }
        self.shared.file.flush();
    }
}

impl Drop for Batched {
    /// A reload replaces the appender: what waits is written before the new one starts.
    fn drop(&mut self) {
        self.flush();
        lock(&self.shared.waiting).closed = true;
        self.shared.wake.notify_one();
    }
}

/// Writes a record's message as it is: the bursts [`Batched`] hands over are whole lines.
#[derive(Debug)]
pub(super) struct Verbatim;

impl Encode for Verbatim {
    fn encode(&self, w: &mut dyn EncodeWrite, record: &log::Record) -> anyhow::Result<()> {
        write!(w, "{}", record.args())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log4rs::append::rolling_file::policy::compound::roll::fixed_window::FixedWindowRoller;
    use log4rs::append::rolling_file::policy::compound::trigger::size::SizeTrigger;
    use log4rs::append::rolling_file::policy::compound::CompoundPolicy;
    use log4rs::append::rolling_file::RollingFileAppender;

    fn batched(dir: &std::path::Path) -> (Batched, std::path::PathBuf) {
        let path = dir.join("s.log");
        let policy = CompoundPolicy::new(
            Box::new(SizeTrigger::new(1 << 30)),
            Box::new(
                FixedWindowRoller::builder()
                    .build(&format!("{}.{{}}", path.display()), 1)
                    .unwrap(),
            ),
        );
        let file = RollingFileAppender::builder()
            .encoder(Box::new(Verbatim))
            .build(&path, Box::new(policy))
            .unwrap();
        (Batched::new(Box::new(file)), path)
    }

    fn log(b: &Batched, level: log::Level, text: &str) {
        b.append(
            &log::Record::builder()
                .level(level)
                .args(format_args!("{text}"))
                .build(),
        )
        .unwrap();
    }

    fn messages(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| l.splitn(4, ' ').nth(3).unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn a_warning_writes_what_waited_before_it_and_itself_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let (b, path) = batched(dir.path());
        log(&b, log::Level::Info, "one");
        log(&b, log::Level::Info, "two");
        log(&b, log::Level::Warn, "three");
        assert_eq!(messages(&path), ["one", "two", "three"]);
    }

    #[test]
    fn info_lines_reach_the_file_within_the_hold_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (b, path) = batched(dir.path());
        let want: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        for line in &want {
            log(&b, log::Level::Info, line);
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while messages(&path).len() < want.len() && std::time::Instant::now() < deadline {
            std::thread::sleep(HOLD / 5);
        }
        assert_eq!(messages(&path), want);
        drop(b);
    }

    #[test]
    fn dropping_the_appender_writes_what_waits() {
        let dir = tempfile::tempdir().unwrap();
        let (b, path) = batched(dir.path());
        log(&b, log::Level::Info, "last words");
        drop(b);
        assert_eq!(messages(&path), ["last words"]);
    }
}
