//! The targets' next ticks, kept by firing step.
//!
//! Due checks are started a step at a time (see [`FIRING_STEP`](super::FIRING_STEP)),
//! so ticks need no order within a step: each goes into its step's list, and the
//! scheduler takes whole lists. With ten thousand targets a heap ordered to the
//! nanosecond cost a sift through fourteen levels per check.

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// A target's tick: when it is due, the target, and the slot generation it was made for.
pub(super) type Tick = (Instant, i64, u64);

pub(super) struct Due {
    origin: Instant,
    step: Duration,
    /// Ticks by the step they fire at: the first step at or after their due time,
    /// counted from `origin`.
    steps: BTreeMap<u64, Vec<Tick>>,
}

impl Due {
    /// Steps of `step` counted from `origin`; a due time before it fires at the first.
    pub(super) fn new(origin: Instant, step: Duration) -> Due {
        Due {
            origin,
            step: step.max(Duration::from_nanos(1)),
            steps: BTreeMap::new(),
        }
    }

    /// The steps from the origin to `t`, rounded up.
    fn step_at(&self, t: Instant) -> u64 {
        let since = t.saturating_duration_since(self.origin).as_nanos();
        u64::try_from(since.div_ceil(self.step.as_nanos())).unwrap_or(u64::MAX)
    }

    fn time_of(&self, step: u64) -> Instant {
        let nanos = u64::try_from(self.step.as_nanos().saturating_mul(u128::from(step)));
        self.origin + Duration::from_nanos(nanos.unwrap_or(u64::MAX))
    }

    pub(super) fn push(&mut self, due: Instant, id: i64, generation: u64) {
        let step = self.step_at(due);
        self.steps
            .entry(step)
            .or_default()
            .push((due, id, generation));
    }

    /// When the earliest step with ticks fires.
    pub(super) fn next(&self) -> Option<Instant> {
        self.steps.keys().next().map(|&s| self.time_of(s))
    }

    /// Takes the ticks of every step that fires by `now`, earliest step first.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<Tick> {
        let mut due = Vec::new();
        let Some(since) = now.checked_duration_since(self.origin) else {
            return due;
        };
        // The last step whose time is not after `now`.
        let last = u64::try_from(since.as_nanos() / self.step.as_nanos()).unwrap_or(u64::MAX);
        while let Some(entry) = self.steps.first_entry() {
            if *entry.key() > last {
                break;
            }
            let ticks = entry.remove();
            if due.is_empty() {
                due = ticks;
            } else {
                due.extend(ticks);
            }
        }
        due
    }

    /// Ticks kept (stale ones included, until they are taken).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.steps.values().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_fire_by_step_rounded_up() {
        let origin = Instant::now();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        let mut due = Due::new(origin, Duration::from_millis(10));
        assert_eq!(due.next(), None);
        due.push(at(1234), 1, 0);
        due.push(at(1), 2, 0);
        due.push(at(10), 3, 0);
        due.push(at(1231), 4, 7);
        // A due time before the origin (a target loaded late) fires at once.
        due.push(
            origin
                .checked_sub(Duration::from_millis(5))
                .unwrap_or(origin),
            5,
            0,
        );
        assert_eq!(due.len(), 5);
        assert_eq!(due.next(), Some(at(0)));
        let ids = |ticks: Vec<Tick>| ticks.iter().map(|t| t.1).collect::<Vec<_>>();
        assert_eq!(ids(due.take_due(at(0))), [5]);
        assert_eq!(
            due.next(),
            Some(at(10)),
            "1 ms and 10 ms fire at the 10 ms step"
        );
        assert!(due.take_due(at(9)).is_empty());
        assert_eq!(ids(due.take_due(at(10))), [2, 3]);
        assert_eq!(due.next(), Some(at(1240)));
        let last = due.take_due(at(5000));
        assert_eq!(ids(last.clone()), [1, 4], "one step, in the order pushed");
        assert_eq!(
            last[1],
            (at(1231), 4, 7),
            "each tick keeps its own due time"
        );
        assert_eq!((due.len(), due.next()), (0, None));
    }
}
