//! `/metrics` in the Prometheus text format, with blackbox_exporter-style names, and
//! the counters of push requests it reports.

use super::{error, ReadSide};
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
    /// `GET /metrics`: Prometheus text format.
    pub async fn metrics(&self) -> Response<Full<Bytes>> {
        let (targets, services, counts) = match tokio::try_join!(
            self.store.list_targets(),
            self.store.services(None),
            self.store.counts()
        ) {
            Ok(all) => all,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let text = self.metrics_text(&targets, &services, counts.pending_alerts);
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
        targets: &[TargetInfo],
        services: &[ServiceInfo],
        pending: u64,
    ) -> String {
        let mut m = Metrics::default();
        let lives: Vec<_> = targets
            .iter()
            .map(|t| (t, self.scheduler.live(t.id)))
            .collect();
        let label = |t: &TargetInfo| format!("id=\"{}\",target=\"{}\"", t.id, escape(&t.name));
        m.family(
            "skypunch_probe_success",
            "gauge",
            "Whether the target is up: PASS or WARN (1), or FAIL (0).",
        );
        for (t, _) in lives.iter().filter(|(t, _)| t.status != "NEW") {
            m.sample(
                "skypunch_probe_success",
                &label(t),
                f64::from(u8::from(t.status != "FAIL")),
            );
        }
        m.family(
            "skypunch_target_warn",
            "gauge",
            "Whether the target is WARN (1): up, but slow or its certificate expiring soon.",
        );
        for (t, _) in lives.iter().filter(|(t, _)| t.status != "NEW") {
            m.sample(
                "skypunch_target_warn",
                &label(t),
                f64::from(u8::from(t.status == "WARN")),
            );
        }
        m.family(
            "skypunch_probe_duration_seconds",
            "gauge",
            "Duration of the latest check.",
        );
        for (t, l) in &lives {
            if let Some(l) = l {
                m.sample(
                    "skypunch_probe_duration_seconds",
                    &label(t),
                    l.response_ms / 1000.0,
                );
            }
        }
        m.family(
            "skypunch_probe_http_duration_seconds",
            "gauge",
            "Duration of the latest check by phase.",
        );
        for (t, l) in &lives {
            for (phase, secs) in l.iter().flat_map(|l| l.phases.iter()) {
                m.sample(
                    "skypunch_probe_http_duration_seconds",
                    &format!("{},phase=\"{phase}\"", label(t)),
                    *secs,
                );
            }
        }
        m.family(
            "skypunch_probe_http_status_code",
            "gauge",
            "HTTP status of the latest check (0: no response).",
        );
        for (t, l) in &lives {
            if let Some(l) = l {
                m.sample(
                    "skypunch_probe_http_status_code",
                    &label(t),
                    f64::from(l.status_code.unwrap_or(0)),
                );
            }
        }
        m.family(
            "skypunch_probe_ssl_earliest_cert_expiry",
            "gauge",
            "Expiry of the server certificate, Unix seconds.",
        );
        for (t, l) in &lives {
            if let Some(exp) = l.as_ref().and_then(|l| l.cert_not_after) {
                m.sample(
                    "skypunch_probe_ssl_earliest_cert_expiry",
                    &label(t),
                    exp as f64 / 1000.0,
                );
            }
        }
        m.family(
            "skypunch_target_checks_total",
            "counter",
            "Checks of the target by result.",
        );
        for t in targets {
            m.sample(
                "skypunch_target_checks_total",
                &format!("{},result=\"pass\"", label(t)),
                t.pass_count as f64,
            );
            m.sample(
                "skypunch_target_checks_total",
                &format!("{},result=\"fail\"", label(t)),
                t.fail_count as f64,
            );
            m.sample(
                "skypunch_target_checks_total",
                &format!("{},result=\"warn\"", label(t)),
                t.warn_count as f64,
            );
        }
        m.family(
            "skypunch_target_enabled",
            "gauge",
            "Whether the target is checked.",
        );
        for t in targets {
            m.sample(
                "skypunch_target_enabled",
                &label(t),
                f64::from(u8::from(t.enabled)),
            );
        }
        let slabel = |s: &ServiceInfo| {
            format!(
                "server=\"{}\",service=\"{}\"",
                escape(&s.server),
                escape(&s.name)
            )
        };
        m.family(
            "skypunch_service_state",
            "gauge",
            "The service's latest state, one series per state (1 for the current one).",
        );
        for s in services {
            for state in ["OK", "WARN", "FAIL", "UNK"] {
                m.sample(
                    "skypunch_service_state",
                    &format!("{},state=\"{state}\"", slabel(s)),
                    f64::from(u8::from(s.state == state)),
                );
            }
        }
        m.family(
            "skypunch_service_online",
            "gauge",
            "Whether the service reported within its period.",
        );
        for s in services {
            m.sample(
                "skypunch_service_online",
                &slabel(s),
                f64::from(u8::from(!s.timed_out)),
            );
        }
        m.family(
            "skypunch_push_requests_total",
            "counter",
            "Push API requests answered, by endpoint and outcome.",
        );
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            for (o, outcome) in OUTCOMES.iter().enumerate() {
                let n = PUSH_COUNTERS.counts[e][o].load(Ordering::Relaxed);
                m.sample(
                    "skypunch_push_requests_total",
                    &format!("endpoint=\"{endpoint}\",outcome=\"{outcome}\""),
                    n as f64,
                );
            }
        }
        m.family(
            "skypunch_alerts_pending",
            "gauge",
            "Alert deliveries not yet made.",
        );
        m.sample("skypunch_alerts_pending", "", pending as f64);
        m.text
    }
}

#[derive(Default)]
struct Metrics {
    text: String,
}

impl Metrics {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, value: f64) {
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {value}");
        } else {
            let _ = writeln!(self.text, "{name}{{{labels}}} {value}");
        }
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
