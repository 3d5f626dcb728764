//! Counters the daemon keeps for `/metrics` that are not rows: a latency histogram
//! updated without a lock from the thread that measures, read by the one that serves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: 0.5 ms (a commit that only reaches the WAL
/// in the page cache) to 10 s (a disk that stalls).
pub const BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A Prometheus-style histogram of durations.
pub struct Histogram {
    /// Observations per bucket (not cumulative), and one past the last bound.
    buckets: [AtomicU64; BUCKETS_S.len() + 1],
    /// Sum of the observations in microseconds: integer, so adding needs no lock.
    sum_us: AtomicU64,
}

/// What a histogram held when read: cumulative counts per bound, the count and sum.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// `(bound in seconds, observations at or under it)`, the bounds of [`BUCKETS_S`].
    pub cumulative: Vec<(f64, u64)>,
    /// Every observation.
    pub count: u64,
    /// Their sum in seconds.
    pub sum_s: f64,
}

impl Histogram {
    /// An empty histogram, usable as a `static`.
    pub const fn new() -> Histogram {
        #[allow(clippy::declare_interior_mutable_const)]
        const Z: AtomicU64 = AtomicU64::new(0);
        Histogram {
            buckets: [Z; BUCKETS_S.len() + 1],
            sum_us: Z,
        }
    }

    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BUCKETS_S
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BUCKETS_S.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The counts as the text format shows them.
    pub fn snapshot(&self) -> Snapshot {
        let mut total = 0;
        let mut cumulative = Vec::with_capacity(BUCKETS_S.len());
        for (i, bound) in BUCKETS_S.iter().enumerate() {
            total += self.buckets[i].load(Ordering::Relaxed);
            cumulative.push((*bound, total));
        }
        total += self.buckets[BUCKETS_S.len()].load(Ordering::Relaxed);
        Snapshot {
            cumulative,
            count: total,
            sum_s: self.sum_us.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_cumulative_buckets_and_the_sum() {
        let h = Histogram::new();
        h.observe(Duration::from_micros(300));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(20));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.cumulative[0], (0.0005, 1));
        assert_eq!(s.cumulative[2], (0.0025, 1));
        assert_eq!(s.cumulative[3], (0.005, 2));
        assert_eq!(s.cumulative.last(), Some(&(10.0, 2)));
        assert!((s.sum_s - 20.0033).abs() < 1e-9);
    }
}
