//! The only code that speaks SQL.
//!
//! A [`Store`] owns one write connection on a dedicated thread and a small pool of read
//! connections. Writes are closures queued to the writer thread, which runs every job
//! it finds waiting inside one transaction (group commit: one fsync for many callers)
//! and answers each caller only after `COMMIT` returned. Each job runs inside its own
//! savepoint, so a job that fails is rolled back alone and does not take the others in
//! its batch with it. Reads run on tokio's blocking pool, so neither ever blocks the
//! async runtime.

pub mod alerts;
mod bars;
pub mod checks;
mod courier;
mod depend;
mod escalate;
mod filing;
pub mod firing;
mod flood;
pub mod jobs;
mod known;
pub mod notifiers;
pub mod outbox;
pub mod push;
mod quiet;
mod report;
mod retention;
mod rollup;
mod samples;
mod schema;
pub mod servers;
mod service_rules;
pub mod services;
pub mod silences;
mod status;
pub mod targets;
mod writer;

pub use bars::{Bar, Point};
pub use courier::{Courier, Deliveries};
pub use report::{Report, ReportAsk, ReportError, ReportRow, SourceFilter};
pub use retention::Pruned;
pub use rollup::Past;
pub use schema::SCHEMA_VERSION;
pub use status::Counts;
pub(crate) use writer::in_savepoint;
use writer::{Msg, Pending};
pub use writer::{Tx, COMMIT_SECONDS};

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a connection waits for a lock held by another process (e.g. `sqlite3`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// WAL size, in pages, that triggers a checkpoint.
const WAL_CHECKPOINT_PAGES: u32 = 8192;
/// Longest a slice of pruning should hold the writer; slices are sized to stay under.
pub const SLICE_BUDGET: Duration = Duration::from_millis(20);
/// Read connections kept open for reuse.
const MAX_IDLE_READERS: usize = 8;
/// Most jobs committed in one transaction, and handed by the courier to the writer
/// at once.
const MAX_BATCH: usize = 1024;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or prepared.
    #[error("cannot open database {path}: {message}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// The schema could not be applied or upgraded.
    #[error("database {path}: {message}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A statement failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The transaction holding this write could not be committed.
    #[error("database commit failed: {0}")]
    Commit(String),
    /// The store is shut down.
    #[error("the database is closed")]
    Closed,
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A value was refused.
    #[error("{0}")]
    Invalid(String),
}

impl StoreError {
    /// Whether the database is unavailable for now rather than the request wrong:
    /// locked by another process for longer than the busy timeout, full, read-only,
    /// failing to read or write, or the batch holding the write could not commit.
    /// Nothing of the request was kept; it may be tried again later.
    pub fn is_unavailable(&self) -> bool {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::Commit(_) | StoreError::Closed => true,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                C::DatabaseBusy
                    | C::DatabaseLocked
                    | C::DiskFull
                    | C::ReadOnly
                    | C::SystemIoFailure
                    | C::CannotOpen
                    | C::OutOfMemory
            ),
            _ => false,
        }
    }
}

/// What a commit survives (SQLite's `synchronous`): `Normal` a crash of the daemon or
/// kill -9 (WAL), `Full` also a power loss, at one fsync per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous = NORMAL`.
    Normal,
    /// `synchronous = FULL`.
    Full,
}

/// The result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    /// Where the outcomes of this handle's writes are handed over (see [`Courier`]).
    courier: Option<Courier>,
}

/// What the writes of history follow (`[history]`).
#[derive(Debug, Clone)]
pub struct HistorySettings {
    /// The calendar local days are counted in.
    pub calendar: crate::domain::history::Calendar,
    /// A service's unchanged reports are kept at most this often (ms; 0 keeps all).
    pub sample_ms: i64,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            calendar: crate::domain::history::Calendar::system(),
            sample_ms: 300_000,
        }
    }
}

struct Inner {
    /// `[push] max_alerts_per_minute`, read when a pushed report's job is queued.
    alert_limit: std::sync::atomic::AtomicU32,
    /// `[history]` settings the writes follow.
    history: std::sync::RwLock<Arc<HistorySettings>>,
    /// `[[service_rule]]` entries, read when a job that may judge a service is queued.
    service_rules: std::sync::RwLock<Arc<[crate::domain::rules::ServiceRule]>>,
    path: PathBuf,
    sync: Durability,
    writer: mpsc::Sender<Msg>,
    /// Jobs sent to the writer that it has not taken yet: a long job stops early when
    /// others wait behind it (see [`Tx::others_waiting`]).
    queued: Arc<AtomicUsize>,
    outbox: Arc<tokio::sync::Notify>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies the schema or its
    /// migrations, and starts the writer thread.
    pub fn open(path: &Path, sync: Durability) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                message: format!("cannot create directory {}: {e}", dir.display()),
            })?;
        }
        let mut conn = open_connection(path, sync, false)?;
        schema::prepare(&mut conn, path)?;
        flood::prepare_flood_gate(&conn).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            message: format!("cannot prepare the alert counters: {e}"),
        })?;
        let (tx, rx) = mpsc::channel();
        let outbox = Arc::new(tokio::sync::Notify::new());
        let raised = outbox.clone();
        let queued = Arc::new(AtomicUsize::new(0));
        let waiting = queued.clone();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::writer_loop(conn, rx, waiting, &raised))
            .map_err(|e| StoreError::Open {
                path: path.to_path_buf(),
                message: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Store {
            courier: None,
            inner: Arc::new(Inner {
                alert_limit: std::sync::atomic::AtomicU32::new(flood::DEFAULT_ALERT_LIMIT),
                history: std::sync::RwLock::new(Arc::new(HistorySettings::default())),
                service_rules: std::sync::RwLock::new(Arc::from(Vec::new())),
                path: path.to_path_buf(),
                sync,
                writer: tx,
                queued,
                outbox,
                writer_thread: Mutex::new(Some(thread)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// A handle whose writes are answered through `courier`.
    pub fn delivering_to(&self, courier: Courier) -> Store {
        Store {
            inner: self.inner.clone(),
            courier: Some(courier),
        }
    }

    /// Sets how many alerts one pushing server may raise in a minute (0 = no limit).
    pub fn set_max_alerts_per_minute(&self, limit: u32) {
        self.inner.alert_limit.store(limit, Ordering::Relaxed);
    }

    fn max_alerts_per_minute(&self) -> u32 {
        self.inner.alert_limit.load(Ordering::Relaxed)
    }

    /// Sets the calendar days are counted in and how often unchanged reports are kept.
    pub fn set_history(&self, settings: HistorySettings) {
        if let Ok(mut h) = self.inner.history.write() {
            *h = Arc::new(settings);
        }
    }

    /// The `[[service_rule]]` entries in force.
    pub fn service_rules(&self) -> Arc<[crate::domain::rules::ServiceRule]> {
        match self.inner.service_rules.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The `[history]` settings in force.
    pub fn history(&self) -> Arc<HistorySettings> {
        match self.inner.history.read() {
            Ok(h) => h.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Woken after a commit that stored deliveries (the delivery loop waits on it).
    pub fn outbox(&self) -> Arc<tokio::sync::Notify> {
        self.inner.outbox.clone()
    }

    /// Runs `sql` (a DELETE taking `?1` = `before` and `?2` = a slice size) one slice
    /// per write job until a slice comes back short, so other writers are not held up:
    /// the slice shrinks when one takes longer than [`SLICE_BUDGET`] and grows when it
    /// is quick. Returns the number of rows deleted.
    pub(crate) async fn delete_in_slices(&self, sql: &'static str, before: i64) -> Result<usize> {
        let mut size: i64 = 1000;
        let mut total = 0;
        loop {
            let (n, took) = self
                .write(move |c| {
                    let started = std::time::Instant::now();
                    let n = c.execute(sql, rusqlite::params![before, size])?;
                    Ok((n, started.elapsed()))
                })
                .await?;
            total += n;
            if (n as i64) < size {
                return Ok(total);
            }
            size = if took > SLICE_BUDGET {
                (size / 2).max(50)
            } else if took < SLICE_BUDGET / 4 {
                (size * 2).min(50_000)
            } else {
                size
            };
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` inside the writer's transaction, in a savepoint of its own (a failure
    /// undoes only its own changes); resolves once it is committed.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Tx) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let mut f = Some(f);
        let once = move |c: &Tx| match f.take() {
            Some(f) => f(c),
            None => Err(StoreError::Commit("a write was run twice".into())),
        };
        self.queue(once, false).await
    }

    /// Like [`Store::write`], for a write that may be run more than once: consecutive
    /// such writes share one savepoint instead of one each, and when one of them
    /// fails, the others are undone with it and run again, each in its own. Whatever
    /// `f` does outside the transaction must bear being done twice.
    pub async fn write_repeatable<T, F>(&self, f: F) -> Result<T>
    where
        F: FnMut(&Tx) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.queue(f, true).await
    }

    async fn queue<T, F>(&self, f: F, again: bool) -> Result<T>
    where
        F: FnMut(&Tx) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        if let Some(c) = &self.courier {
            c.waiting.fetch_add(1, Ordering::Relaxed);
        }
        let job = Pending {
            f,
            again,
            outcome: None,
            tx,
            courier: self.courier.clone(),
        };
        self.inner.queued.fetch_add(1, Ordering::Relaxed);
        if self.inner.writer.send(Msg::Job(Box::new(job))).is_err() {
            self.inner.queued.fetch_sub(1, Ordering::Relaxed);
            if let Some(c) = &self.courier {
                c.waiting.fetch_sub(1, Ordering::Relaxed);
            }
            return Err(StoreError::Closed);
        }
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a read connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f))
            .await
            .map_err(|e| StoreError::Commit(format!("read task failed: {e}")))?
    }

    /// Runs `f` on a read connection on the calling thread (for non-async callers).
    pub fn read_blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Connection) -> Result<T>,
    {
        let pooled = self.inner.readers.lock().ok().and_then(|mut v| v.pop());
        let conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.inner.path, self.inner.sync, true)?,
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
        }
        out
    }

    /// Finishes every queued write, checkpoints the WAL and stops the writer thread.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.writer.send(Msg::Close(tx)).is_ok() {
            let _ = rx.await;
        }
        let handle = self
            .inner
            .writer_thread
            .lock()
            .ok()
            .and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Ok(mut pool) = self.inner.readers.lock() {
            pool.clear();
        }
    }
}

fn open_connection(path: &Path, sync: Durability, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let err = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let conn = Connection::open_with_flags(path, flags).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    let sync = match sync {
        Durability::Normal => "NORMAL",
        Durability::Full => "FULL",
    };
    let pragmas = if read_only {
        "PRAGMA foreign_keys = ON;".to_string()
    } else {
        // Rows updated every second are copied from the WAL once per checkpoint, so a
        // larger threshold (32 MiB instead of 4) means far fewer copies under load.
        // temp_store = MEMORY keeps the savepoints' sub-journal off the disk: each job
        // runs in a savepoint, and a file-backed sub-journal costs a write per page.
        format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}; PRAGMA cache_size = -16384; \
             PRAGMA temp_store = MEMORY;"
        )
    };
    conn.execute_batch(&pragmas).map_err(err)?;
    register_functions(&conn).map_err(err)?;
    Ok(conn)
}

/// The store's SQL functions, on every connection it opens: the writer adds packed
/// histograms up, readers sum them, migrations 8 and 16 pack histograms and samples.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    rollup::register_functions(conn)?;
    samples::register_functions(conn)
}

/// A store on a new database in a temporary directory, for unit tests.
#[cfg(test)]
pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db"), Durability::Normal).unwrap();
    (dir, store)
}

/// The targets' names, sorted, for unit tests.
#[cfg(test)]
pub(crate) async fn target_names(store: &Store) -> Vec<String> {
    store
        .read(|c| {
            let mut s = c.prepare("SELECT name FROM targets ORDER BY name")?;
            let rows = s.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hand_insert_with_two_columns_gets_defaults() {
        let (_dir, store) = temp_store();
        store
            .write(|c| {
                c.execute(
                    "INSERT INTO targets (name, url) VALUES ('n', 'http://n/')",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let row: (String, i64, i64, i64, i64, String) = store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT method, expect_status, frequency, timeout, enabled, status FROM targets",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(row, ("GET".into(), 200, 60, 10, 1, "NEW".into()));
    }

    #[tokio::test]
    async fn writes_survive_close_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::open(&path, Durability::Full).unwrap();
        store
            .write(|c| {
                c.execute("INSERT INTO servers (name, key_salt, key_hash, created) VALUES ('h', 's', 'k', 0)", [])?;
                Ok(())
            })
            .await
            .unwrap();
        store.close().await;
        assert!(matches!(
            store.write(|_| Ok(())).await,
            Err(StoreError::Closed)
        ));
        let store = Store::open(&path, Durability::Normal).unwrap();
        let n: i64 = store
            .read(|c| Ok(c.query_row("SELECT count(*) FROM servers", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn definition_changes_bump_the_counter_but_results_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = open_connection(&path, Durability::Normal, false).unwrap();
        schema::prepare(&mut conn, &path).unwrap();
        let version = |c: &Connection| -> i64 {
            c.query_row(
                "SELECT value FROM meta WHERE key = 'definitions'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        };
        let v0 = version(&conn);
        conn.execute(
            "INSERT INTO targets (name, url) VALUES ('a', 'http://a/')",
            [],
        )
        .unwrap();
        let v1 = version(&conn);
        conn.execute(
            "UPDATE targets SET pass_count = pass_count + 1, status = 'PASS'",
            [],
        )
        .unwrap();
        assert_eq!(version(&conn), v1);
        conn.execute("UPDATE targets SET enabled = 0", []).unwrap();
        assert!(v1 > v0 && version(&conn) > v1);
    }
}
