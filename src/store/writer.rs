//! The writer thread: one connection, group commit, and what it remembers.
//!
//! Callers queue jobs (closures); the thread runs every job it finds waiting (up to
//! [`MAX_BATCH`](super::MAX_BATCH)) inside one transaction, each in its own savepoint, or, for jobs that
//! may be run again, under one shared savepoint (see [`Store::write_repeatable`]); it
//! commits once and only then answers each caller.
//!
//! A job is given a [`Tx`]: the connection (it derefs to one) and the writer's state,
//! which lives on this thread for its whole life and is passed to each job explicitly:
//! what it knows of pushed servers and services, and whether deliveries were stored
//! (to wake the delivery loop after the commit).

use super::courier::Courier;
use super::known::Known;
#[cfg(doc)]
use super::Store;
use super::MAX_BATCH;
use super::{Result, StoreError};
use crate::domain::metrics::Histogram;
use rusqlite::Connection;
use std::cell::{Cell, RefCell, RefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// How long each committed batch took, from its first job to the end of its COMMIT:
/// what every write queued behind it waits.
pub static COMMIT_SECONDS: Histogram = Histogram::new();

/// A write job's view of the writer: its connection, inside the batch's transaction,
/// and what the writer thread keeps between jobs.
pub struct Tx<'a> {
    conn: &'a Connection,
    state: &'a WriterState,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl<'a> Tx<'a> {
    /// A job's view of `conn` with `state` (the writer thread's, or a test's).
    pub(super) fn new(conn: &'a Connection, state: &'a WriterState) -> Tx<'a> {
        Tx { conn, state }
    }

    /// What the writer knows of pushed servers and services.
    pub(super) fn known(&self) -> RefMut<'_, Known> {
        self.state.known.borrow_mut()
    }

    /// Forgets all of it: it may be stale (a job or commit undone, rows changed by
    /// another connection, servers added or removed).
    pub(super) fn forget(&self) {
        *self.state.known.borrow_mut() = Known::default();
    }

    /// Whether other jobs are queued behind this batch: a job that may take long
    /// (many check results) stops early then, so that they wait for one commit of its
    /// part rather than for all of it.
    pub(super) fn others_waiting(&self) -> bool {
        self.state.queued.load(Ordering::Relaxed) > 0
    }

    /// Notes that deliveries were stored: the delivery loop is woken after the commit.
    pub(super) fn raised(&self) {
        self.state.raised.set(true);
    }

    /// What keeps alerts quiet besides the database's silences: the maintenance
    /// windows, and which of them were open at the last sweep.
    pub(super) fn quiet(&self) -> RefMut<'_, QuietState> {
        self.state.quiet.borrow_mut()
    }
}

/// The maintenance windows of the configuration and what the sweeps remember.
#[derive(Default)]
pub(super) struct QuietState {
    /// `[[maintenance]]`, as last set.
    pub windows: std::sync::Arc<[crate::domain::quiet::Window]>,
    /// The names of the windows open at the last sweep.
    pub open: Vec<String>,
    /// Per escalating notifier: alerts raised up to this time (ms) were looked at.
    pub escalated_to: std::collections::HashMap<i64, i64>,
}

/// Why a batch was not committed (every job of it is answered with this).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub(super) struct BatchFailed(String);

/// What the writer thread keeps between jobs.
#[derive(Default)]
pub(super) struct WriterState {
    known: RefCell<Known>,
    raised: Cell<bool>,
    quiet: RefCell<QuietState>,
    /// Jobs sent and not yet taken from the queue.
    queued: Arc<AtomicUsize>,
}

/// A write queued to the writer thread.
pub(super) trait Job: Send {
    /// Whether it may be run again (see [`Store::write_repeatable`]); one that may not is
    /// run inside its own savepoint.
    fn again(&self) -> bool;
    /// Runs it inside the batch's transaction; false when it failed.
    fn run(&mut self, tx: &Tx) -> bool;
    /// Answers its caller: the outcome of its last run if the batch was committed, or
    /// why the batch was not.
    fn answer(self: Box<Self>, batch: Result<(), BatchFailed>);
}

/// A job and the caller waiting for it.
pub(super) struct Pending<T, F> {
    pub(super) f: F,
    pub(super) again: bool,
    pub(super) outcome: Option<Result<T>>,
    pub(super) tx: oneshot::Sender<Result<T>>,
    pub(super) courier: Option<Courier>,
}

impl<T, F> Job for Pending<T, F>
where
    F: FnMut(&Tx) -> Result<T> + Send,
    T: Send + 'static,
{
    fn again(&self) -> bool {
        self.again
    }

    fn run(&mut self, tx: &Tx) -> bool {
        let outcome = if self.again {
            (self.f)(tx)
        } else {
            in_savepoint(tx, &mut self.f)
        };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, batch: Result<(), BatchFailed>) {
        let outcome = match (batch, self.outcome) {
            (Ok(()), Some(outcome)) => outcome,
            (Err(e), _) => Err(StoreError::Commit(e.to_string())),
            (Ok(()), None) => Err(StoreError::Commit("the write was not run".into())),
        };
        let tx = self.tx;
        match self.courier {
            Some(c) => {
                // Gone only with its runtime, and with it the task waiting here.
                let _ = c.tx.send(Box::new(move || {
                    let _ = tx.send(outcome);
                }));
                c.waiting.fetch_sub(1, Ordering::Release);
            }
            None => {
                let _ = tx.send(outcome);
            }
        }
    }
}

pub(super) enum Msg {
    Job(Box<dyn Job>),
    Close(oneshot::Sender<()>),
}

/// Runs `f` in a savepoint: kept on success, rolled back alone on failure.
/// A write job that does several independent things uses it for each.
pub(crate) fn in_savepoint<T>(tx: &Tx, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
    tx.prepare_cached("SAVEPOINT job")?.execute([])?;
    let out = f(tx);
    if out.is_err() {
        tx.forget();
        tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
    }
    tx.prepare_cached("RELEASE job")?.execute([])?;
    out
}

/// `queued` counts the jobs sent to `rx` and not yet received.
pub(super) fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Msg>,
    queued: Arc<AtomicUsize>,
    outbox: &tokio::sync::Notify,
) {
    let state = WriterState {
        queued,
        ..WriterState::default()
    };
    let tx = Tx::new(&conn, &state);
    let mut closing = None;
    let mut data_version = None;
    while closing.is_none() {
        let Ok(first) = rx.recv() else { break };
        let mut jobs = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Job(job) => {
                    state.queued.fetch_sub(1, Ordering::Relaxed);
                    jobs.push(job);
                }
                Msg::Close(done) => {
                    closing = Some(done);
                    break;
                }
            }
            if jobs.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !jobs.is_empty() {
            run_batch(&tx, jobs, &mut data_version);
            // Committed or rolled back: either way the delivery loop may look.
            if state.raised.replace(false) {
                outbox.notify_one();
            }
        }
    }
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
        log::warn!("database checkpoint at shutdown failed: {e}");
    }
    drop(conn);
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

fn run_batch(conn: &Tx, mut jobs: Vec<Box<dyn Job>>, data_version: &mut Option<i64>) {
    if let Err(e) = exec_cached(conn, "BEGIN IMMEDIATE") {
        let failed = BatchFailed(e.to_string());
        log::error!("database: cannot begin a transaction: {failed}");
        for job in jobs {
            job.answer(Err(failed.clone()));
        }
        return;
    }
    // Another connection committed since the last batch: what the writer knows of
    // the rows may be stale.
    let version = conn
        .prepare_cached("PRAGMA data_version")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .ok();
    if version.is_none() || version != *data_version {
        conn.forget();
        *data_version = version;
    }
    let began = std::time::Instant::now();
    let batch = run_jobs(conn, &mut jobs).and_then(|()| {
        exec_cached(conn, "COMMIT").map_err(|e| {
            log::error!("database: commit of {} writes failed: {e}", jobs.len());
            BatchFailed(e.to_string())
        })
    });
    if batch.is_ok() {
        COMMIT_SECONDS.observe(began.elapsed());
    }
    if batch.is_err() {
        let _ = exec_cached(conn, "ROLLBACK");
        conn.forget();
    }
    for job in jobs {
        job.answer(batch.clone());
    }
}

/// Runs a statement without parameters, prepared once.
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Runs a batch's jobs: each that may not run again in its own savepoint, and runs of
/// those that may under one shared savepoint (see [`Store::write_repeatable`]).
fn run_jobs(conn: &Tx, jobs: &mut [Box<dyn Job>]) -> Result<(), BatchFailed> {
    let exec = |sql: &str| {
        exec_cached(conn, sql).map_err(|e| {
            log::error!("database: {sql} failed: {e}");
            BatchFailed(e.to_string())
        })
    };
    // The jobs that succeeded under the open shared savepoint, if one is open.
    let mut shared: Option<Vec<usize>> = None;
    for i in 0..jobs.len() {
        if !jobs[i].again() {
            if shared.take().is_some() {
                exec("RELEASE shared")?;
            }
            jobs[i].run(conn);
            continue;
        }
        let done = match shared.as_mut() {
            Some(done) => done,
            None => {
                exec("SAVEPOINT shared")?;
                shared.insert(Vec::new())
            }
        };
        if jobs[i].run(conn) {
            done.push(i);
            continue;
        }
        // Undo this one with the others since the savepoint; run those again alone.
        let others = std::mem::take(done);
        shared = None;
        exec("ROLLBACK TO shared")?;
        exec("RELEASE shared")?;
        conn.forget();
        for j in others {
            exec("SAVEPOINT job")?;
            if !jobs[j].run(conn) {
                conn.forget();
                exec("ROLLBACK TO job")?;
            }
            exec("RELEASE job")?;
        }
    }
    if shared.is_some() {
        exec("RELEASE shared")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{target_names, temp_store, StoreError};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_failing_write_again_is_undone_alone_and_its_neighbours_run_again() {
        use std::sync::atomic::Ordering;
        let (_dir, store) = temp_store();
        // Holds the writer so that the writes below are queued into one batch.
        let holder = store.clone();
        let held = tokio::spawn(async move {
            holder
                .write(|_| {
                    std::thread::sleep(Duration::from_millis(300));
                    Ok(())
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let runs = Arc::new(AtomicUsize::new(0));
        let insert = |name: &'static str, fail: bool| {
            let runs = runs.clone();
            store.write_repeatable(move |c| {
                runs.fetch_add(1, Ordering::SeqCst);
                c.execute(
                    "INSERT INTO targets (name, url) VALUES (?, 'http://x/')",
                    [name],
                )?;
                match fail {
                    true => Err(StoreError::Invalid(format!("{name} refused"))),
                    false => Ok(name),
                }
            })
        };
        let once = store.write(|c| {
            c.execute(
                "INSERT INTO targets (name, url) VALUES ('d', 'http://x/')",
                [],
            )?;
            Ok("d")
        });
        let (a, b, c, d, e) = tokio::join!(
            insert("a", false),
            insert("b", false),
            insert("c", true),
            once,
            insert("e", false)
        );
        held.await.unwrap().unwrap();
        assert_eq!(
            (a.unwrap(), b.unwrap(), d.unwrap(), e.unwrap()),
            ("a", "b", "d", "e")
        );
        assert_eq!(c.unwrap_err().to_string(), "c refused");
        // a and b ran again after c failed; c and e once.
        assert_eq!(runs.load(Ordering::SeqCst), 6);
        let names = target_names(&store).await;
        assert_eq!(names, ["a", "b", "d", "e"]);
    }

    #[tokio::test]
    async fn a_failing_job_does_not_undo_its_batch_neighbours() {
        let (_dir, store) = temp_store();
        let a = store.write(|c| {
            c.execute(
                "INSERT INTO targets (name, url) VALUES ('a', 'http://a/')",
                [],
            )?;
            Ok(())
        });
        let b = store.write(|c| {
            c.execute(
                "INSERT INTO targets (name, url) VALUES ('b', 'http://b/')",
                [],
            )?;
            Err::<(), _>(StoreError::Invalid("refused".into()))
        });
        let (a, b) = tokio::join!(a, b);
        assert!(a.is_ok());
        assert!(b.is_err());
        let names = target_names(&store).await;
        assert_eq!(names, vec!["a".to_string()]);
    }
}
