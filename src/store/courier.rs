//! Hands the outcomes of writes made from a single-threaded runtime back to it with
//! one wake-up per batch.

use super::writer::MAX_BATCH;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// An outcome handed to the waiting task.
pub(super) type Delivery = Box<dyn FnOnce() + Send>;

/// Hands write outcomes to the tasks of one single-threaded runtime with one wake-up per
/// batch instead of one per write.
///
/// Waking a task of a current-thread runtime from another thread costs a system call
/// (the runtime's event loop is woken through an eventfd), and a batch answers many
/// writers at once. Outcomes sent through a courier wake only its [`Deliveries`] task,
/// which then wakes each writer without leaving the runtime's thread.
#[derive(Clone)]
pub struct Courier {
    pub(super) tx: tokio::sync::mpsc::UnboundedSender<Delivery>,
    /// Writes sent through this courier whose outcome the writer has not handed over.
    pub(super) waiting: Arc<AtomicUsize>,
}

/// The task that wakes the writers whose outcomes arrive (see [`Courier`]).
pub struct Deliveries(tokio::sync::mpsc::UnboundedReceiver<Delivery>);

impl Courier {
    /// A courier and the task to run on its runtime; the task ends when every handle
    /// to the courier is gone.
    pub fn new() -> (Courier, Deliveries) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        (Courier { tx, waiting }, Deliveries(rx))
    }

    /// A courier whose task runs on the current runtime.
    pub fn start() -> Courier {
        let (courier, deliveries) = Courier::new();
        tokio::spawn(deliveries.run());
        courier
    }

    /// For its runtime's `on_thread_park` hook: while a write sent through it waits for
    /// its batch to be committed, spins for up to `limit` before the thread sleeps.
    ///
    /// A batch commits within tens of microseconds, and on a virtual machine a thread
    /// that sleeps may let its processor halt, which then takes about as long to wake;
    /// under load, waiting awake keeps the replies flowing. With nothing waiting (an
    /// idle daemon) it returns at once.
    pub fn spin_while_waiting(&self, limit: Duration) {
        let started = std::time::Instant::now();
        while self.waiting.load(Ordering::Acquire) > 0 && started.elapsed() < limit {
            std::hint::spin_loop();
        }
    }
}

impl Deliveries {
    /// Wakes each writer whose outcome arrives, until the courier is gone.
    pub async fn run(mut self) {
        let mut due = Vec::with_capacity(MAX_BATCH);
        while self.0.recv_many(&mut due, MAX_BATCH).await > 0 {
            for delivery in due.drain(..) {
                delivery();
            }
        }
    }
}
