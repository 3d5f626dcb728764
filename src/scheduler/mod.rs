//! When each target is checked.
//!
//! One task owns the targets' next ticks ([`due`]), and starts the due ones a
//! [`FIRING_STEP`] at a time. A target's ticks lie on a fixed grid from its
//! first check (`first + k × frequency`): a slow check never shifts the next one.
//! First checks are spread over the first period by a hash of the target's id, so ten
//! thousand targets do not fire in the same millisecond. Each check runs in its own
//! task, bounded by a semaphore; a tick that finds the target's previous check still
//! running is skipped and logged, so a target is never checked twice at once and a
//! hanging target never delays another. A check takes its permit before its task is
//! made: a machine that cannot keep up passes ticks over (counted, logged every
//! [`CROWDED_LOG`]) instead of piling up tasks that wait, so memory stays bounded by
//! `max_concurrent_checks` whatever the number of targets.
//!
//! Definitions come from the database: the scheduler re-reads them when the
//! `meta.definitions` counter moves (rows added with `sqlite3` are noticed within
//! [`POLL`]) or when asked through [`SchedulerHandle::refresh`].

use crate::domain::supervise::Verdict;
use crate::domain::target::TargetRow;
use crate::domain::time::Backoff;
use crate::probe::{CheckOutcome, Prober};
use crate::store::checks::CheckRecord;
use crate::store::{Store, StoreError};
use crate::target::TargetDef;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often the definitions counter is read.
pub const POLL: Duration = Duration::from_secs(2);

mod due;
mod last;

use due::Due;

use last::OutcomeSummary;
pub use last::{LastChecks, LatestCheck, SPARK_POINTS};

/// Talks to the scheduler.
#[derive(Clone)]
pub struct SchedulerHandle {
    tx: mpsc::UnboundedSender<()>,
    last: Arc<LastChecks>,
}

impl SchedulerHandle {
    /// Re-read target definitions (after a change made through the daemon itself).
    pub fn refresh(&self) {
        let _ = self.tx.send(());
    }

    /// The trace of the target's latest scheduled check since the daemon started.
    pub fn last_trace(&self, id: i64) -> Option<String> {
        self.last.render(id)
    }

    /// The target's latest check and recent response times, if it ran since start.
    pub fn live(&self, id: i64) -> Option<LatestCheck> {
        self.last.live(id)
    }
}

/// What a check task needs.
struct Shared {
    prober: Arc<Prober>,
    permits: Arc<Semaphore>,
    /// The number of permits, for the log.
    limit: usize,
    last: Arc<LastChecks>,
    results: mpsc::Sender<CheckRecord>,
}

/// Results waiting to be written; a full queue makes checks wait (backpressure).
const RESULT_QUEUE: usize = 32 * 1024;
/// Most results gathered into one batch.
const RESULT_BATCH: usize = 8 * 1024;
/// How long a routine result (a PASS after a PASS) waits for others to share its
/// transaction. Every transaction rewrites each page it touches in the WAL, and the
/// targets' rows and their hourly and daily figures sit on hundreds of pages that a
/// batch of ten thousand targets' results touches nearly all of: at 10,000 checks a
/// second, a transaction every 100 ms cost ~11 µs more CPU per check than one every
/// 500 ms (BENCHMARKS.md). A result that may change a state is written at once, and a
/// long batch does not hold other writes back: its job stops after
/// [`YIELD_AFTER`](crate::store::checks::YIELD_AFTER) when others wait behind it.
const RESULT_LINGER: Duration = Duration::from_millis(500);
/// Due checks are started together on a grid of this step from the scheduler's start
/// (up to a step after their tick): with ten thousand targets spread over a second,
/// the runtime's threads then wake a hundred times a second instead of a thousand.
const FIRING_STEP: Duration = Duration::from_millis(10);

struct Slot {
    /// A digest of the row the definition was made from: a changed row is noticed
    /// without keeping a second copy of every target's strings.
    fingerprint: u64,
    def: Arc<TargetDef>,
    running: Arc<AtomicBool>,
    /// Bumped when the slot is rescheduled, so stale heap entries are ignored.
    generation: u64,
}

/// Starts the scheduler; checks run on `tracker` and stop being started once
/// `shutdown` is cancelled.
pub fn spawn(
    store: Store,
    prober: Arc<Prober>,
    max_concurrent: usize,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) -> SchedulerHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let last = Arc::new(LastChecks::default());
    let (results, pending) = mpsc::channel(RESULT_QUEUE);
    tracker.spawn(write_results(store.clone(), pending));
    let shared = Arc::new(Shared {
        prober,
        permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
        limit: max_concurrent.max(1),
        last: last.clone(),
        results,
    });
    let t = tracker.clone();
    tracker.spawn(run(store, shared, rx, t, shutdown));
    SchedulerHandle { tx, last }
}

/// The first tick of a target: a stable, well-spread point in its first period.
pub fn first_offset(id: i64, frequency_s: u32) -> Duration {
    let period_ms = u64::from(frequency_s.max(1)) * 1000;
    let h = (id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Duration::from_millis((h >> 32) % period_ms)
}

/// The next tick after `due` on the grid of `period` that is not in the past; also
/// returns how many ticks were passed over.
pub fn next_tick(due: Instant, period: Duration, now: Instant) -> (Instant, u64) {
    let next = due + period;
    if next > now {
        return (next, 0);
    }
    let behind = now.duration_since(next).as_nanos() / period.as_nanos().max(1);
    let missed = behind as u64 + 1;
    (next + period * (missed as u32), missed)
}

/// Writes results in batches: whatever queued up while the previous batch was being
/// committed goes into the next one. Ends once every sender is gone and the queue
/// is drained, so a graceful stop loses no result.
///
/// A batch the database could not take for now (locked by another process, disk
/// full) is kept and written again with a growing delay: meanwhile the queue fills,
/// and checks that cannot hand over their result skip their ticks (logged), so
/// memory stays bounded and no result is dropped.
async fn write_results(store: Store, mut pending: mpsc::Receiver<CheckRecord>) {
    let mut batch = Vec::with_capacity(RESULT_BATCH);
    while pending.recv_many(&mut batch, RESULT_BATCH).await > 0 {
        gather(&mut pending, &mut batch).await;
        // Shared with each try: a retry costs no copy of the records.
        let records: Arc<[CheckRecord]> = std::mem::take(&mut batch).into();
        let mut backoff = Backoff::new(RETRY_FIRST, RETRY_MAX);
        // A job may stop early to let other writes through; the rest follows.
        let mut from = 0;
        while from < records.len() {
            match store.record_checks(records.clone(), from).await {
                Ok(done) => {
                    for (id, name, event) in done.events {
                        log::warn!("[{id}] {name}: {} raised", event.as_str());
                    }
                    from = done.next;
                }
                Err(e) if e.is_unavailable() && !matches!(e, StoreError::Closed) => {
                    let wait = backoff.next_wait();
                    log::error!(
                        "cannot store {} check results for now ({e}); trying again in {} ms",
                        records.len() - from,
                        wait.as_millis()
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    log::error!("cannot store {} check results: {e}", records.len() - from);
                    break;
                }
            }
        }
    }
}

/// First wait before writing a batch of results again.
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// Longest wait between two tries.
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Lets a batch of routine results fill for up to [`RESULT_LINGER`]; returns at once
/// when it is full, holds an urgent result, or the queue has closed.
async fn gather(pending: &mut mpsc::Receiver<CheckRecord>, batch: &mut Vec<CheckRecord>) {
    let deadline = tokio::time::Instant::now() + RESULT_LINGER;
    let mut seen = 0;
    while batch.len() < RESULT_BATCH && !batch[seen..].iter().any(|r| r.urgent) {
        seen = batch.len();
        let room = RESULT_BATCH - batch.len();
        tokio::select! {
            n = pending.recv_many(batch, room) => if n == 0 { return },
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
}

async fn run(
    store: Store,
    shared: Arc<Shared>,
    mut refresh: mpsc::UnboundedReceiver<()>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let mut slots: HashMap<i64, Slot> = HashMap::new();
    let mut queue = Due::new(Instant::now(), FIRING_STEP);
    let mut seen_version = None;
    let mut crowded = Crowded::default();
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = queue.next();
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = sleep_until(next) => {
                fire_due(&shared, &mut slots, &mut queue, &tracker, &mut crowded);
            }
            _ = poll.tick() => {
                match store.definitions_version().await {
                    Ok(v) if Some(v) != seen_version => {
                        seen_version = Some(v);
                        reload(&store, &shared, &mut slots, &mut queue).await;
                    }
                    Ok(_) => {}
                    Err(e) => log::error!("scheduler: cannot read definitions: {e}"),
                }
            }
            Some(()) = refresh.recv() => {
                while refresh.try_recv().is_ok() {}
                reload(&store, &shared, &mut slots, &mut queue).await;
            }
        }
    }
    log::debug!("scheduler stopped");
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn fingerprint(row: &TargetRow) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    row.hash(&mut h);
    h.finish()
}

async fn reload(store: &Store, shared: &Shared, slots: &mut HashMap<i64, Slot>, queue: &mut Due) {
    let rows = match store.target_rows().await {
        Ok(r) => r,
        Err(e) => {
            log::error!("scheduler: cannot load targets: {e}");
            return;
        }
    };
    let now = Instant::now();
    let (mut added, mut changed) = (0, 0);
    let mut wanted = HashMap::with_capacity(rows.len());
    // A parent named by no row makes its child FAIL saying so (the file's targets were
    // checked at load; rows added otherwise are checked here).
    let names: std::collections::HashSet<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    let judged = |row: &TargetRow| {
        let mut def = TargetDef::from_row(row);
        if def.invalid.is_none() && !def.options.depends_on.is_empty() {
            def.invalid = def.unknown_parent(&names);
        }
        def
    };
    let has_parents = |row: &TargetRow| row.options.contains("depends_on");
    for row in rows.iter().filter(|r| r.enabled) {
        wanted.insert(row.id, ());
        // A child's definition depends on the other names too: looked at every time.
        let child = has_parents(row).then(|| judged(row));
        let fingerprint =
            fingerprint(row) ^ u64::from(child.as_ref().is_some_and(|d| d.invalid.is_some()));
        // A child's definition is made once: for its fingerprint, and for its slot.
        let def_of = |row: &TargetRow| child.unwrap_or_else(|| judged(row));
        match slots.get_mut(&row.id) {
            Some(slot) if slot.fingerprint == fingerprint => {}
            Some(slot) => {
                let def = def_of(row);
                if let Some(problem) = &def.invalid {
                    log::warn!("[{}] {}: {problem}", def.id, def.name);
                }
                if slot.def.frequency != def.frequency {
                    slot.generation += 1;
                    let first = now + first_offset(row.id, def.frequency);
                    queue.push(first, row.id, slot.generation);
                }
                slot.def = Arc::new(def);
                slot.fingerprint = fingerprint;
                changed += 1;
            }
            None => {
                let def = def_of(row);
                if let Some(problem) = &def.invalid {
                    log::warn!("[{}] {}: {problem}", def.id, def.name);
                }
                queue.push(now + first_offset(row.id, def.frequency), row.id, 0);
                slots.insert(
                    row.id,
                    Slot {
                        fingerprint,
                        def: Arc::new(def),
                        running: Arc::new(AtomicBool::new(false)),
                        generation: 0,
                    },
                );
                added += 1;
            }
        }
    }
    let before = slots.len();
    slots.retain(|id, _| wanted.contains_key(id));
    shared.last.forget_all_but(slots);
    shared
        .prober
        .retain_connections(|id| slots.contains_key(&id));
    let removed = before - slots.len();
    if added + changed + removed > 0 {
        log::info!(
            "scheduler: {} targets scheduled ({added} added, {changed} changed, {removed} removed)",
            slots.len()
        );
    }
}

/// How often ticks passed over for want of a permit are logged, at most.
const CROWDED_LOG: Duration = Duration::from_secs(10);

/// Ticks passed over because `max_concurrent_checks` checks were running: with
/// thousands of targets that is thousands a second, so they are counted and logged
/// together.
#[derive(Default)]
struct Crowded {
    passed_over: u64,
    logged: Option<Instant>,
}

impl Crowded {
    fn pass_over(&mut self, now: Instant, limit: usize) {
        self.passed_over += 1;
        if self
            .logged
            .is_none_or(|t| now.duration_since(t) >= CROWDED_LOG)
        {
            log::warn!(
                "scheduler: {} check(s) passed over: {limit} checks were already running \
                 ([daemon] max_concurrent_checks); the machine or the targets are too slow \
                 for this many checks",
                self.passed_over
            );
            self.passed_over = 0;
            self.logged = Some(now);
        }
    }
}

fn fire_due(
    shared: &Arc<Shared>,
    slots: &mut HashMap<i64, Slot>,
    queue: &mut Due,
    tracker: &TaskTracker,
    crowded: &mut Crowded,
) {
    let now = Instant::now();
    for (due, id, generation) in queue.take_due(now) {
        let Some(slot) = slots.get(&id).filter(|s| s.generation == generation) else {
            continue;
        };
        let period = Duration::from_secs(u64::from(slot.def.frequency));
        let (next, missed) = next_tick(due, period, now);
        if missed > 0 {
            log::warn!(
                "[{id}] {}: scheduler was {} late, {missed} tick(s) passed over",
                slot.def.name,
                humanize(now.duration_since(due))
            );
        }
        queue.push(next, id, generation);
        if slot.running.load(Ordering::Acquire) {
            log::warn!(
                "[{id}] {}: check skipped, the previous one is still running",
                slot.def.name
            );
            continue;
        }
        let Ok(permit) = shared.permits.clone().try_acquire_owned() else {
            crowded.pass_over(now, shared.limit);
            continue;
        };
        slot.running.store(true, Ordering::Release);
        let shared = shared.clone();
        let def = slot.def.clone();
        let running = slot.running.clone();
        // Small (each kind's state machine is boxed inside): held in the task itself.
        tracker.spawn(async move {
            let outcome = shared.prober.check(&def).await;
            // Held until the result is queued: if the writer falls behind, ticks are
            // passed over (and logged) instead of results piling up in memory.
            record(&shared, &def, outcome).await;
            running.store(false, Ordering::Release);
            drop(permit);
        });
    }
}

fn humanize(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Logs a check the way Skypunch did, keeps its trace, and queues it for storing.
async fn record(shared: &Shared, def: &TargetDef, mut outcome: CheckOutcome) {
    outcome.trace.finish();
    let line = outcome.result_line(def);
    let header = outcome.trace_header(def);
    if outcome.verdict == Verdict::Pass {
        log::info!("{line}");
    } else if outcome.verdict == Verdict::Warn {
        log::warn!("{line}");
    } else {
        log::error!("{line}");
        log::error!(
            "[{}] trace:\n{}",
            def.id,
            outcome.trace.render(&header).trim_end()
        );
    }
    let time_ms = outcome.trace.started_at().timestamp_millis();
    let summary = OutcomeSummary {
        verdict: outcome.verdict,
        status_code: outcome.status_code,
        response_ms: outcome.response_ms,
        cert_not_after: outcome.cert_not_after,
    };
    let trace = Arc::new((header, outcome.trace));
    let before = shared.last.put(def.id, trace.clone(), &summary);
    let rec = CheckRecord {
        // Anything but a PASS after a PASS may change the state: written at once.
        urgent: outcome.verdict != Verdict::Pass || before != Some(Verdict::Pass),
        target_id: def.id,
        name: def.name.clone(),
        request: format!("{} {}", def.method, def.url),
        time_ms,
        verdict: outcome.verdict,
        status_code: outcome.status_code,
        description: outcome.description,
        response_ms: outcome.response_ms,
        network_fail: outcome.network_fail,
        trace,
        thresholds: def.options.thresholds(),
        period_ms: i64::from(def.frequency) * 1000,
    };
    if shared.results.send(rec).await.is_err() {
        log::error!(
            "[{}] {}: result lost, the writer has stopped",
            def.id,
            def.name
        );
    }
}

#[cfg(test)]
mod tests;
