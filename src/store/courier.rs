//! Hands the outcomes of writes made from a single-threaded runtime back to it with
//! one wake-up per batch.

use super::MAX_BATCH;
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

#[cfg(test)]
mod tests {
    use super::super::{temp_store, StoreError};
    use super::*;

    #[test]
    fn writes_through_a_courier_get_their_own_outcomes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (_dir, store) = temp_store();
            let store = store.delivering_to(Courier::start());
            let writes = (0..100).map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write(move |_| match n % 10 {
                            0 => Err(StoreError::Invalid(format!("refused {n}"))),
                            _ => Ok(n),
                        })
                        .await
                })
            });
            for (n, w) in writes.collect::<Vec<_>>().into_iter().enumerate() {
                match w.await.unwrap() {
                    Ok(got) => assert_eq!(got, n),
                    Err(e) => {
                        assert_eq!(n % 10, 0);
                        assert_eq!(e.to_string(), format!("refused {n}"));
                    }
                }
            }
            let courier = store.courier.as_ref().unwrap();
            assert_eq!(courier.waiting.load(Ordering::SeqCst), 0);
        });
    }

    #[test]
    fn the_spin_before_sleeping_lasts_only_while_a_write_waits() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _entered = runtime.enter();
        let (courier, _deliveries) = Courier::new();
        let started = std::time::Instant::now();
        courier.spin_while_waiting(Duration::from_secs(5));
        assert!(started.elapsed() < Duration::from_secs(1), "nothing waits");
        courier.waiting.fetch_add(1, Ordering::SeqCst);
        let started = std::time::Instant::now();
        courier.spin_while_waiting(Duration::from_millis(20));
        let spun = started.elapsed();
        assert!(
            spun >= Duration::from_millis(20) && spun < Duration::from_secs(5),
            "{spun:?}"
        );
    }
}
