//! `/metrics` in the Prometheus text format, with blackbox_exporter-style names, and
//! the counters of push requests it reports.

use super::{error, ReadSide};
use crate::domain::metrics::Snapshot;
use crate::domain::target::CheckKind;
use crate::store::notifiers::NotifierInfo;
use crate::store::services::ServiceInfo;
use crate::store::targets::TargetInfo;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Push requests answered, by endpoint and outcome, for `/metrics`.
pub struct PushCounters {
    counts: [[AtomicU64; 3]; 3],
}

/// The endpoints counted.
pub const ENDPOINTS: [&str; 3] = ["/api/ping", "/api/set/service/status", "/api/set/alerts"];
const OUTCOMES: [&str; 3] = ["ok", "refused", "error"];

impl PushCounters {
    const fn new() -> PushCounters {
        #[allow(clippy::declare_interior_mutable_const)]
        const Z: AtomicU64 = AtomicU64::new(0);
        #[allow(clippy::declare_interior_mutable_const)]
        const ROW: [AtomicU64; 3] = [Z, Z, Z];
        PushCounters {
            counts: [ROW, ROW, ROW],
        }
    }

    /// Counts one answer to `path` with `status`.
    pub fn count(&self, path: &str, status: StatusCode) {
        let Some(e) = ENDPOINTS.iter().position(|p| *p == path) else {
            return;
        };
        let o = if status.is_success() {
            0
        } else if status.is_client_error() {
            1
        } else {
            2
        };
        self.counts[e][o].fetch_add(1, Ordering::Relaxed);
    }
}

/// Answers since the daemon started.
pub static PUSH_COUNTERS: PushCounters = PushCounters::new();

impl ReadSide {
    /// `GET /metrics`: Prometheus text format, every series labelled with `location`
    /// when it is not empty.
    pub async fn metrics(&self, location: &str) -> Response<Full<Bytes>> {
        let (targets, services, notifiers, counts) = match tokio::try_join!(
            self.store.list_targets(),
            self.store.services(None),
            self.store.list_notifiers(),
            self.store.counts()
        ) {
            Ok(all) => all,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let text = self.metrics_text(
            location,
            &targets,
            &services,
            &notifiers,
            counts.pending_alerts,
        );
        Response::builder()
            .header(
                http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )
            .body(Full::new(Bytes::from(text)))
            .unwrap_or_default()
    }

    fn metrics_text(
        &self,
        location: &str,
        targets: &[TargetInfo],
        services: &[ServiceInfo],
        notifiers: &[NotifierInfo],
        pending: u64,
    ) -> String {
        let mut m = Metrics::new(location);
        let lives: Vec<_> = targets
            .iter()
            .map(|t| {
                let label = format!("id=\"{}\",target=\"{}\"", t.id, escape(&t.name));
                (t, label, self.scheduler.live(t.id))
            })
            .collect();
        let checked = || lives.iter().filter(|(t, _, _)| t.status != "NEW");
        m.family(
            "skypunch_probe_success",
            "gauge",
            "Whether the target is up: PASS or WARN (1), or FAIL (0).",
        );
        for (t, label, _) in checked() {
            m.sample(label, u8::from(t.status != "FAIL"));
        }
        m.family(
            "skypunch_target_state",
            "gauge",
            "The target's state: 0 NEW, 1 PASS, 2 WARN, 3 FAIL.",
        );
        for (t, label, _) in &lives {
            m.sample(label, target_state(&t.status));
        }
        m.family(
            "skypunch_target_warn",
            "gauge",
            "Whether the target is WARN (1): up, but slow or its certificate expiring soon.",
        );
        for (t, label, _) in checked() {
            m.sample(label, u8::from(t.status == "WARN"));
        }
        m.family(
            "skypunch_probe_duration_seconds",
            "gauge",
            "Duration of the latest check.",
        );
        for (_, label, l) in &lives {
            if let Some(l) = l {
                m.sample(label, l.response_ms / 1000.0);
            }
        }
        m.family(
            "skypunch_probe_http_duration_seconds",
            "gauge",
            "Duration of the latest check by phase.",
        );
        for (_, label, l) in &lives {
            for (phase, secs) in l.iter().flat_map(|l| l.phases.iter()) {
                m.sample(&format!("{label},phase=\"{phase}\""), *secs);
            }
        }
        m.family(
            "skypunch_probe_http_status_code",
            "gauge",
            "HTTP status of the latest check (0: no response).",
        );
        // A tcp://, tls://, ... target has no HTTP status: no series, rather than a 0
        // that would read as "no response".
        let http = |t: &TargetInfo| CheckKind::of_url(&t.url) == Some(CheckKind::Http);
        for (t, label, l) in &lives {
            if let Some(l) = l.as_ref().filter(|_| http(t)) {
                m.sample(label, l.status_code.unwrap_or(0));
            }
        }
        m.family(
            "skypunch_probe_ssl_earliest_cert_expiry",
            "gauge",
            "Expiry of the server certificate, Unix seconds.",
        );
        for (_, label, l) in &lives {
            if let Some(exp) = l.as_ref().and_then(|l| l.cert_not_after) {
                m.sample(label, exp as f64 / 1000.0);
            }
        }
        m.family(
            "skypunch_target_checks_total",
            "counter",
            "Checks of the target by result.",
        );
        for (t, label, _) in &lives {
            for (result, n) in [
                ("pass", t.pass_count),
                ("fail", t.fail_count),
                ("warn", t.warn_count),
            ] {
                m.sample(&format!("{label},result=\"{result}\""), n);
            }
        }
        m.family(
            "skypunch_target_enabled",
            "gauge",
            "Whether the target is checked.",
        );
        for (t, label, _) in &lives {
            m.sample(label, u8::from(t.enabled));
        }
        let slabels: Vec<_> = services
            .iter()
            .map(|s| {
                let label = format!(
                    "server=\"{}\",service=\"{}\"",
                    escape(&s.server),
                    escape(&s.name)
                );
                (s, label)
            })
            .collect();
        m.family(
            "skypunch_service_state",
            "gauge",
            "The service's latest state, one series per state (1 for the current one).",
        );
        for (s, label) in &slabels {
            for state in ["OK", "WARN", "FAIL", "UNK"] {
                m.sample(
                    &format!("{label},state=\"{state}\""),
                    u8::from(s.state == state),
                );
            }
        }
        m.family(
            "skypunch_service_online",
            "gauge",
            "Whether the service reported within its period.",
        );
        for (s, label) in &slabels {
            m.sample(label, u8::from(!s.timed_out));
        }
        m.family(
            "skypunch_service_last_report_timestamp_seconds",
            "gauge",
            "When the service last reported, Unix seconds.",
        );
        for (s, label) in &slabels {
            m.sample(label, s.last_report_ms as f64 / 1000.0);
        }
        m.family(
            "skypunch_push_requests_total",
            "counter",
            "Push API requests answered, by endpoint and outcome.",
        );
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let n = PUSH_COUNTERS.counts[e][o].load(Ordering::Relaxed);
                m.sample(&format!("endpoint=\"{endpoint}\",outcome=\"{outcome}\""), n);
            }
        }
        m.family(
            "skypunch_notifier_deliveries_total",
            "counter",
            "Alerts delivered (result=\"delivered\") and attempts that failed \
             (result=\"failed\"), by notifier.",
        );
        for n in notifiers {
            let label = format!("notifier=\"{}\"", escape(&n.name));
            m.sample(&format!("{label},result=\"delivered\""), n.pass_count);
            m.sample(&format!("{label},result=\"failed\""), n.fail_count);
        }
        m.family(
            "skypunch_notifier_pending",
            "gauge",
            "Alert deliveries the notifier is owed (rows of the outbox).",
        );
        for n in notifiers {
            m.sample(&format!("notifier=\"{}\"", escape(&n.name)), n.pending);
        }
        m.family(
            "skypunch_alerts_pending",
            "gauge",
            "Alert deliveries not yet made, all notifiers (rows of the outbox).",
        );
        m.sample("", pending);
        m.histogram(
            "skypunch_store_commit_duration_seconds",
            "Time the database writer took to run and commit one batch of writes.",
            &crate::store::COMMIT_SECONDS.snapshot(),
        );
        m.text
    }
}

/// `skypunch_target_state`'s value for a state.
fn target_state(status: &str) -> u8 {
    match status {
        "PASS" => 1,
        "WARN" => 2,
        "FAIL" => 3,
        _ => 0,
    }
}

/// The text being written: the family whose samples are being added, and the
/// `location` label every sample carries.
struct Metrics {
    text: String,
    name: &'static str,
    location: String,
}

impl Metrics {
    fn new(location: &str) -> Metrics {
        let location = match location {
            "" => String::new(),
            l => format!("location=\"{}\"", escape(l)),
        };
        Metrics {
            text: String::with_capacity(1 << 20),
            name: "",
            location,
        }
    }

    fn family(&mut self, name: &'static str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        self.name = name;
    }

    /// One sample of the current family.
    fn sample(&mut self, labels: &str, value: impl Into<Value>) {
        let name = self.name;
        self.sample_of(name, labels, value.into());
    }

    fn sample_of(&mut self, name: &str, labels: &str, value: Value) {
        let t = &mut self.text;
        t.push_str(name);
        match (self.location.is_empty(), labels.is_empty()) {
            (true, true) => {}
            (true, false) => {
                let _ = write!(t, "{{{labels}}}");
            }
            (false, true) => {
                let _ = write!(t, "{{{}}}", self.location);
            }
            (false, false) => {
                let _ = write!(t, "{{{},{labels}}}", self.location);
            }
        }
        let _ = match value {
            Value::Int(i) => writeln!(t, " {i}"),
            Value::Float(f) => writeln!(t, " {f}"),
        };
    }

    /// A histogram family with its buckets, sum and count.
    fn histogram(&mut self, name: &'static str, help: &str, h: &Snapshot) {
        self.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (bound, n) in &h.cumulative {
            self.sample_of(&bucket, &format!("le=\"{bound}\""), Value::Int(*n as i64));
        }
        self.sample_of(&bucket, "le=\"+Inf\"", Value::Int(h.count as i64));
        self.sample_of(&format!("{name}_sum"), "", Value::Float(h.sum_s));
        self.sample_of(&format!("{name}_count"), "", Value::Int(h.count as i64));
    }
}

/// A sample's value: counts are written as integers, measures as decimals.
enum Value {
    Int(i64),
    Float(f64),
}

impl From<u8> for Value {
    fn from(v: u8) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<u16> for Value {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

/// A label value as the text format wants it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
