//! Turning check results into states and alerts. Pure logic: the caller passes the
//! current time, so every rule is unit-tested without sleeping.
//!
//! A target's state moves between `NEW`, `PASS` and `FAIL`:
//! - a failed check counts towards `failure_threshold`; reaching it from `NEW` or
//!   `PASS` makes the state `FAIL` and raises a FAILURE;
//! - a passed check counts towards `success_threshold`; reaching it from `FAIL` makes
//!   the state `PASS` and raises a RECOVERY; the first pass of a `NEW` target makes it
//!   `PASS` and tells nobody;
//! - while `FAIL` lasts, a FAILURE is repeated every `renotify_minutes` (if not 0).

use serde::{Deserialize, Serialize};

/// A target's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Not judged yet.
    New,
    /// Its last checks met the success threshold.
    Pass,
    /// Its last checks met the failure threshold.
    Fail,
}

impl Status {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
        }
    }

    /// Reads the stored form; anything unknown counts as `NEW`.
    pub fn parse(s: &str) -> Status {
        match s.trim().to_ascii_uppercase().as_str() {
            "PASS" => Status::Pass,
            "FAIL" => Status::Fail,
            _ => Status::New,
        }
    }
}

/// What the store remembers between checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Current state.
    pub status: Status,
    /// Consecutive failed checks.
    pub repeated_fails: u32,
    /// Consecutive passed checks.
    pub repeated_passes: u32,
    /// When the last FAILURE was raised (ms since the epoch).
    pub last_notified: Option<i64>,
}

/// The per-target rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Failed checks before FAIL.
    pub failure: u32,
    /// Passed checks before leaving FAIL.
    pub success: u32,
    /// Minutes between repeated FAILUREs; 0 = never.
    pub renotify_minutes: u32,
}

/// Something to tell the notifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetEvent {
    /// The target failed (or still fails, for a repeat).
    Failure,
    /// The target recovered.
    Recovery,
}

impl TargetEvent {
    /// `FAILURE` or `RECOVERY`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetEvent::Failure => "FAILURE",
            TargetEvent::Recovery => "RECOVERY",
        }
    }
}

/// Applies one check result.
pub fn judge(
    prev: Progress,
    passed: bool,
    t: Thresholds,
    now_ms: i64,
) -> (Progress, Option<TargetEvent>) {
    let mut next = prev;
    if passed {
        next.repeated_passes = prev.repeated_passes.saturating_add(1);
        next.repeated_fails = 0;
        return match prev.status {
            Status::New => {
                next.status = Status::Pass;
                (next, None)
            }
            Status::Fail if next.repeated_passes >= t.success.max(1) => {
                next.status = Status::Pass;
                next.last_notified = None;
                (next, Some(TargetEvent::Recovery))
            }
            _ => (next, None),
        };
    }
    next.repeated_fails = prev.repeated_fails.saturating_add(1);
    next.repeated_passes = 0;
    match prev.status {
        Status::New | Status::Pass if next.repeated_fails >= t.failure.max(1) => {
            next.status = Status::Fail;
            next.last_notified = Some(now_ms);
            (next, Some(TargetEvent::Failure))
        }
        Status::Fail if t.renotify_minutes > 0 => {
            let every = i64::from(t.renotify_minutes) * 60_000;
            let due = prev.last_notified.is_none_or(|last| now_ms - last >= every);
            if due {
                next.last_notified = Some(now_ms);
                (next, Some(TargetEvent::Failure))
            } else {
                (next, None)
            }
        }
        _ => (next, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: Progress = Progress {
        status: Status::New,
        repeated_fails: 0,
        repeated_passes: 0,
        last_notified: None,
    };
    const ONE: Thresholds = Thresholds {
        failure: 1,
        success: 1,
        renotify_minutes: 0,
    };

    fn run(t: Thresholds, results: &[bool]) -> Vec<(Status, Option<TargetEvent>)> {
        let mut p = NEW;
        results
            .iter()
            .enumerate()
            .map(|(i, &ok)| {
                let (n, e) = judge(p, ok, t, i as i64 * 1000);
                p = n;
                (n.status, e)
            })
            .collect()
    }

    #[test]
    fn new_to_pass_tells_nobody_and_new_to_fail_does() {
        assert_eq!(run(ONE, &[true]), vec![(Status::Pass, None)]);
        assert_eq!(
            run(ONE, &[false]),
            vec![(Status::Fail, Some(TargetEvent::Failure))]
        );
    }

    #[test]
    fn failure_and_recovery_once_each() {
        use TargetEvent::*;
        let got: Vec<_> = run(ONE, &[true, false, false, true, true])
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(got, vec![None, Some(Failure), None, Some(Recovery), None]);
    }

    #[test]
    fn thresholds_delay_both_ways() {
        let t = Thresholds {
            failure: 3,
            success: 2,
            renotify_minutes: 0,
        };
        let got = run(
            t,
            &[true, false, false, true, false, false, false, true, true],
        );
        let states: Vec<_> = got.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            states,
            ["PASS", "PASS", "PASS", "PASS", "PASS", "PASS", "FAIL", "FAIL", "PASS"]
        );
        assert_eq!(got[6].1, Some(TargetEvent::Failure));
        assert_eq!(got[8].1, Some(TargetEvent::Recovery));
        assert_eq!(got.iter().filter(|x| x.1.is_some()).count(), 2);
    }

    #[test]
    fn new_target_below_failure_threshold_stays_new() {
        let t = Thresholds { failure: 2, ..ONE };
        assert_eq!(run(t, &[false])[0], (Status::New, None));
    }

    #[test]
    fn renotify_repeats_failure_while_it_lasts() {
        let t = Thresholds {
            renotify_minutes: 1,
            ..ONE
        };
        let mut p = NEW;
        let mut events = vec![];
        for s in 0..=150 {
            let (n, e) = judge(p, false, t, s * 1000);
            p = n;
            if e.is_some() {
                events.push(s);
            }
        }
        assert_eq!(events, vec![0, 60, 120]);
    }

    #[test]
    fn counters_saturate_instead_of_overflowing() {
        let p = Progress {
            repeated_fails: u32::MAX,
            status: Status::Fail,
            ..NEW
        };
        assert_eq!(judge(p, false, ONE, 0).0.repeated_fails, u32::MAX);
    }
}
