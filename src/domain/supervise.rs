//! Turning check results into states and alerts. Pure logic: the caller passes the
//! current time, so every rule is unit-tested without sleeping.
//!
//! A check is PASS, WARN (every hard condition met, a soft one not: slow, or a
//! certificate expiring soon) or FAIL. A target's state moves between `NEW`, `PASS`,
//! `WARN` and `FAIL`, judged over its latest checks since its state last changed (X of
//! Y; a window never reaches back into the previous state, so a target failing every
//! other check cannot be thrown back and forth by the same checks):
//! - `failure_threshold` failed checks among the last `failure_window` make it `FAIL`
//!   and raise a FAILURE;
//! - out of `FAIL`, `success_threshold` checks that did not fail among the last
//!   `success_window` make it `PASS` (or `WARN`, when the latest check was WARN) and
//!   raise a RECOVERY;
//! - `failure_threshold` checks WARN or worse among the last `failure_window` make a
//!   `PASS` target `WARN` and raise a WARNING; `success_threshold` PASS checks among
//!   the last `success_window` make it `PASS` again, with a RECOVERY;
//! - a `NEW` target takes its first judged state: `PASS` tells nobody;
//! - while `FAIL` lasts, a FAILURE is repeated every `renotify_minutes` (if not 0);
//! - a target whose state changed `flap_changes` times within `flap_minutes` is
//!   flapping: one FLAPPING alert, then none until it has kept one state for
//!   `flap_minutes`, then the alert of the state it settled in.
//!
//! With the windows equal to the thresholds (the default) the counts are consecutive.

use serde::{Deserialize, Serialize};

/// The most checks a window can span.
pub const MAX_WINDOW: u32 = 64;
/// A notifier's `group_interval` when it does not say: the alerts raised within this
/// many seconds after a message wait, and go out together as one (SPEC §14).
pub const DEFAULT_GROUP_INTERVAL_S: u32 = 30;

/// A target's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Not judged yet.
    New,
    /// Its last checks met the success threshold.
    Pass,
    /// Its last checks met the hard conditions but not the soft ones.
    Warn,
    /// Its last checks met the failure threshold.
    Fail,
}

impl Status {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }

    /// Reads the stored form; anything unknown counts as `NEW`.
    pub fn parse(s: &str) -> Status {
        match s.trim().to_ascii_uppercase().as_str() {
            "PASS" => Status::Pass,
            "WARN" => Status::Warn,
            "FAIL" => Status::Fail,
            _ => Status::New,
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Every condition met.
    #[default]
    Pass,
    /// Every hard condition met, a soft one not.
    Warn,
    /// A hard condition not met.
    Fail,
}

impl Verdict {
    /// `PASS`, `WARN` or `FAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }

    /// Every hard condition was met.
    pub fn passed(self) -> bool {
        self != Verdict::Fail
    }
}

/// The verdicts of a target's latest checks, newest in bit 0: what the windows count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recent {
    /// Checks that failed.
    pub fails: u64,
    /// Checks that were WARN.
    pub warns: u64,
    /// How many of them count: checks since the state last changed, at most
    /// [`MAX_WINDOW`].
    pub seen: u32,
}

impl Recent {
    fn push(&mut self, v: Verdict) {
        self.fails = (self.fails << 1) | u64::from(v == Verdict::Fail);
        self.warns = (self.warns << 1) | u64::from(v == Verdict::Warn);
        self.seen = (self.seen + 1).min(MAX_WINDOW);
    }

    /// The bits of the last `n` checks that count.
    fn window(&self, n: u32) -> u64 {
        match n.min(self.seen).min(MAX_WINDOW) {
            64 => u64::MAX,
            n => (1u64 << n) - 1,
        }
    }

    /// Failed checks among the last `n`.
    fn failed(&self, n: u32) -> u32 {
        (self.fails & self.window(n)).count_ones()
    }

    /// Checks WARN or FAIL among the last `n`.
    fn degraded(&self, n: u32) -> u32 {
        ((self.fails | self.warns) & self.window(n)).count_ones()
    }

    /// Checks that did not fail among the last `n` (of those seen).
    fn not_failed(&self, n: u32) -> u32 {
        n.min(self.seen) - self.failed(n)
    }

    /// PASS checks among the last `n` (of those seen).
    fn clean(&self, n: u32) -> u32 {
        n.min(self.seen) - self.degraded(n)
    }
}

/// Flap detection's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flap {
    /// When the state last changed (ms since the epoch), oldest first; at most
    /// `flap_changes` are kept.
    pub changes: Vec<i64>,
    /// Since when the target is flapping; none when it is not.
    pub since: Option<i64>,
}

impl Flap {
    /// The change times as the store keeps them: milliseconds, comma-separated, oldest
    /// first.
    pub fn changes_text(&self) -> String {
        let times: Vec<String> = self.changes.iter().map(i64::to_string).collect();
        times.join(",")
    }

    /// Reads [`changes_text`](Self::changes_text)'s form; what cannot be read is left out.
    pub fn parse_changes(text: &str) -> Vec<i64> {
        text.split(',')
            .filter_map(|t| t.trim().parse().ok())
            .collect()
    }

    /// `<n> changes in <m> min`: the changes kept and the minutes they span, rounded up.
    pub fn described(&self) -> String {
        let span = self
            .changes
            .last()
            .zip(self.changes.first())
            .map_or(0, |(l, f)| l - f);
        format!(
            "{} changes in {} min",
            self.changes.len(),
            (span + 59_999) / 60_000
        )
    }
}

/// What the store remembers between checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Current state.
    pub status: Status,
    /// Consecutive failed checks.
    pub repeated_fails: u32,
    /// Consecutive checks that did not fail.
    pub repeated_passes: u32,
    /// When the last FAILURE was raised (ms since the epoch).
    pub last_notified: Option<i64>,
    /// The latest verdicts.
    pub recent: Recent,
    /// State changes, for flap detection.
    pub flap: Flap,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            status: Status::New,
            repeated_fails: 0,
            repeated_passes: 0,
            last_notified: None,
            recent: Recent::default(),
            flap: Flap::default(),
        }
    }
}

/// The per-target rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Failed checks (among `failure_window`) before FAIL; WARN-or-worse checks
    /// before WARN.
    pub failure: u32,
    /// The checks `failure` is counted in.
    pub failure_window: u32,
    /// Checks that did not fail (among `success_window`) before leaving FAIL; PASS
    /// checks before leaving WARN.
    pub success: u32,
    /// The checks `success` is counted in.
    pub success_window: u32,
    /// Minutes between repeated FAILUREs; 0 = never.
    pub renotify_minutes: u32,
    /// State changes within `flap_minutes` that make a target flapping; 0 = never.
    pub flap_changes: u32,
    /// The flapping period, and how long a state must hold to settle.
    pub flap_minutes: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            failure: 1,
            failure_window: 1,
            success: 1,
            success_window: 1,
            renotify_minutes: 0,
            flap_changes: 6,
            flap_minutes: 30,
        }
    }
}

/// Something to tell the notifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetEvent {
    /// The target failed (or still fails, for a repeat).
    Failure,
    /// The target passed into WARN.
    Warning,
    /// The target recovered.
    Recovery,
    /// The target started flapping; its changes are not told until it settles.
    Flapping,
}

impl TargetEvent {
    /// `FAILURE`, `WARNING`, `RECOVERY` or `FLAPPING`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetEvent::Failure => "FAILURE",
            TargetEvent::Warning => "WARNING",
            TargetEvent::Recovery => "RECOVERY",
            TargetEvent::Flapping => "FLAPPING",
        }
    }
}

/// The state the latest checks make, from `status`.
fn next_status(status: Status, r: &Recent, latest: Verdict, t: Thresholds) -> Status {
    let failing = r.failed(t.failure_window) >= t.failure.max(1);
    let degraded = r.degraded(t.failure_window) >= t.failure.max(1);
    match status {
        _ if status != Status::Fail && failing => Status::Fail,
        Status::Fail if r.not_failed(t.success_window) >= t.success.max(1) => match latest {
            Verdict::Warn => Status::Warn,
            _ => Status::Pass,
        },
        Status::Fail => Status::Fail,
        Status::New if latest == Verdict::Pass => Status::Pass,
        Status::New | Status::Pass if degraded => Status::Warn,
        Status::Warn if r.clean(t.success_window) >= t.success.max(1) => Status::Pass,
        other => other,
    }
}

/// The event of moving from `from` to `to`, if any.
fn event_of(from: Status, to: Status) -> Option<TargetEvent> {
    match (from, to) {
        (a, b) if a == b => None,
        (_, Status::Fail) => Some(TargetEvent::Failure),
        (Status::Fail, Status::Warn) => Some(TargetEvent::Recovery),
        (_, Status::Warn) => Some(TargetEvent::Warning),
        (Status::Fail | Status::Warn, Status::Pass) => Some(TargetEvent::Recovery),
        _ => None,
    }
}

/// The alert of a state a target settled in after flapping.
fn settled_event(status: Status) -> Option<TargetEvent> {
    match status {
        Status::Fail => Some(TargetEvent::Failure),
        Status::Warn => Some(TargetEvent::Warning),
        Status::Pass => Some(TargetEvent::Recovery),
        Status::New => None,
    }
}

/// Applies one check's verdict.
pub fn judge(
    prev: &Progress,
    verdict: Verdict,
    t: Thresholds,
    now_ms: i64,
) -> (Progress, Option<TargetEvent>) {
    let mut next = prev.clone();
    next.recent.push(verdict);
    if verdict.passed() {
        next.repeated_passes = prev.repeated_passes.saturating_add(1);
        next.repeated_fails = 0;
    } else {
        next.repeated_fails = prev.repeated_fails.saturating_add(1);
        next.repeated_passes = 0;
    }
    next.status = next_status(prev.status, &next.recent, verdict, t);
    let mut event = event_of(prev.status, next.status);
    if next.status != prev.status {
        next.recent.seen = 0;
        next.last_notified = (next.status == Status::Fail).then_some(now_ms);
        // NEW taking its first state is not a change that flaps.
        if prev.status != Status::New && t.flap_changes > 0 {
            next.flap.changes.push(now_ms);
            let keep = t.flap_changes as usize;
            if next.flap.changes.len() > keep {
                next.flap.changes.drain(..next.flap.changes.len() - keep);
            }
        }
    } else if next.status == Status::Fail && t.renotify_minutes > 0 {
        let every = i64::from(t.renotify_minutes) * 60_000;
        if prev.last_notified.is_none_or(|last| now_ms - last >= every) {
            next.last_notified = Some(now_ms);
            event = Some(TargetEvent::Failure);
        }
    }
    let period = i64::from(t.flap_minutes) * 60_000;
    match next.flap.since {
        Some(_) => {
            // Silent while flapping; once one state has held for the period, its alert.
            let last_change = next.flap.changes.last().copied().unwrap_or(i64::MIN);
            if t.flap_changes == 0 || now_ms.saturating_sub(last_change) >= period {
                next.flap = Flap::default();
                next.last_notified = (next.status == Status::Fail).then_some(now_ms);
                let settled = settled_event(next.status);
                return (next, settled);
            }
            (next, None)
        }
        None => {
            let changes = &next.flap.changes;
            let flapping = t.flap_changes > 0
                && changes.len() >= t.flap_changes as usize
                && changes
                    .last()
                    .zip(changes.first())
                    .is_some_and(|(l, f)| l - f <= period)
                && next.status != prev.status;
            if flapping {
                next.flap.since = Some(now_ms);
                return (next, Some(TargetEvent::Flapping));
            }
            (next, event)
        }
    }
}

#[cfg(test)]
#[path = "supervise_tests.rs"]
mod tests;
