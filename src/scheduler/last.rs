//! What the daemon keeps in memory of each target's latest check: its trace (rendered
//! only when asked) and its recent response times, for the status page, the metrics
//! and `skypunchctl targets ID`.

use super::Slot;
use crate::domain::supervise::Verdict;
use crate::probe::Trace;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Response times kept per target for the status page's sparkline.
pub const SPARK_POINTS: usize = 30;

/// A target's latest check as the daemon holds it in memory.
struct Last {
    trace: Arc<(String, Trace)>,
    verdict: Verdict,
    status_code: Option<u16>,
    cert_not_after: Option<i64>,
    /// The latest response times, oldest first.
    spark: std::collections::VecDeque<f32>,
}

/// What the status page and the metrics show of a target's latest check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatestCheck {
    /// PASS, WARN or FAIL.
    pub verdict: Verdict,
    /// The HTTP status, if a response arrived.
    pub status_code: Option<u16>,
    /// Milliseconds of the latest check.
    pub response_ms: f64,
    /// Expiry of the certificate (ms since the epoch), for https.
    pub cert_not_after: Option<i64>,
    /// The latest response times (ms), oldest first.
    pub spark: Vec<f32>,
    /// Seconds per phase of the latest check: resolve, connect, tls, processing
    /// (request sent to response head), transfer (body).
    pub phases: Vec<(&'static str, f64)>,
}

/// Every target's latest check (trace rendered only when asked) and recent response
/// times, since the daemon started.
#[derive(Default)]
pub struct LastChecks(Mutex<HashMap<i64, Last>>);

impl LastChecks {
    /// Keeps a check's outcome; returns the verdict of the check before it (none when
    /// it is the first since the daemon started).
    pub(super) fn put(
        &self,
        id: i64,
        trace: Arc<(String, Trace)>,
        outcome: &OutcomeSummary,
    ) -> Option<Verdict> {
        let mut m = self.0.lock().ok()?;
        let before = m.get(&id).map(|last| last.verdict);
        let last = m.entry(id).or_insert_with(|| Last {
            trace: trace.clone(),
            verdict: outcome.verdict,
            status_code: None,
            cert_not_after: None,
            spark: std::collections::VecDeque::with_capacity(SPARK_POINTS),
        });
        last.trace = trace;
        last.verdict = outcome.verdict;
        last.status_code = outcome.status_code;
        last.cert_not_after = outcome.cert_not_after.or(last.cert_not_after);
        if last.spark.len() == SPARK_POINTS {
            last.spark.pop_front();
        }
        last.spark.push_back(outcome.response_ms as f32);
        before
    }

    pub(super) fn render(&self, id: i64) -> Option<String> {
        let trace = self.0.lock().ok()?.get(&id)?.trace.clone();
        Some(trace.1.render(&trace.0))
    }

    pub(super) fn live(&self, id: i64) -> Option<LatestCheck> {
        let m = self.0.lock().ok()?;
        let last = m.get(&id)?;
        let steps = last.trace.1.steps();
        let mut phases: Vec<(&'static str, f64)> = Vec::new();
        let mut before = 0.0;
        for s in steps {
            if let Some(p) = s.phase.map(|p| p.as_str()) {
                let secs = (f64::from(s.elapsed_ms) - before).max(0.0) / 1000.0;
                match phases.iter_mut().find(|(n, _)| *n == p) {
                    Some(e) => e.1 += secs,
                    None => phases.push((p, secs)),
                }
            }
            before = f64::from(s.elapsed_ms);
        }
        Some(LatestCheck {
            verdict: last.verdict,
            status_code: last.status_code,
            response_ms: f64::from(last.spark.back().copied().unwrap_or(0.0)),
            cert_not_after: last.cert_not_after,
            spark: last.spark.iter().copied().collect(),
            phases,
        })
    }

    pub(super) fn forget_all_but(&self, keep: &HashMap<i64, Slot>) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|id, _| keep.contains_key(id));
        }
    }
}

/// The figures of an outcome kept in memory.
pub(super) struct OutcomeSummary {
    pub(super) verdict: Verdict,
    pub(super) status_code: Option<u16>,
    pub(super) response_ms: f64,
    pub(super) cert_not_after: Option<i64>,
}
