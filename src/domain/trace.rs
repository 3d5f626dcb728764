//! The step-by-step record of one check.
//!
//! ```text
//! 2026-11-21 04:44:25.113623 [8] Localhost nginx test GET http://localhost/ FAIL (target status:503 != 200)
//! 2026-11-21 04:44:25.113700   +0.0 ms  resolve localhost -> 127.0.0.1 [OK]
//! 2026-11-21 04:44:25.113912   +0.3 ms  connect 127.0.0.1:80 [OK]
//! 2026-11-21 04:44:25.118388   +4.8 ms  verdict FAIL: target status:503 != 200
//! ```
//!
//! Each step is stamped with the wall-clock time and the milliseconds since the check
//! began. [`Trace::begin`] names the step in progress, so a check cut off by its
//! timeout can say what it was doing (`timed out after 10s while connecting`).

use chrono::{DateTime, Utc};
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// When a socket last wrote; set by the socket, read by the trace.
pub type WriteMark = Arc<Mutex<Option<Instant>>>;

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `[OK]`.
    Ok,
    /// `[FAIL] reason: ...`; always the last step.
    Fail(Box<str>),
    /// No bracket (the verdict line).
    Note,
}

/// The phase of a check a step belongs to, as blackbox_exporter names them in its
/// `probe_http_duration_seconds{phase}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Looking the host up.
    Resolve,
    /// Opening (or reusing) the connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Sending the request and waiting for the response's head.
    Processing,
    /// Reading the body.
    Transfer,
    /// Sending a TCP target's `send` string, or an SMTP command.
    Send,
    /// Waiting for a TCP target's first reply.
    Receive,
    /// Waiting for an SMTP server's greeting.
    Banner,
    /// An SMTP server's answer to EHLO.
    Ehlo,
    /// Sending a DNS query.
    Query,
    /// Waiting for a DNS answer.
    Answer,
    /// An ICMP echo request and its reply.
    Echo,
}

impl Phase {
    /// The `phase` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Processing => "processing",
            Phase::Transfer => "transfer",
            Phase::Send => "send",
            Phase::Receive => "receive",
            Phase::Banner => "banner",
            Phase::Ehlo => "ehlo",
            Phase::Query => "query",
            Phase::Answer => "answer",
            Phase::Echo => "echo",
        }
    }
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// Milliseconds since the check began (its wall-clock time is the trace's start
    /// plus these: a step kept for every target costs 40 bytes, not 72).
    pub elapsed_ms: f32,
    /// What was done.
    pub text: Box<str>,
    /// How it ended.
    pub outcome: Outcome,
    /// The phase it belongs to; none for steps outside the exchange (authentication,
    /// redirects, the verdict).
    pub phase: Option<Phase>,
}

/// A check's trace.
#[derive(Debug, Clone)]
pub struct Trace {
    started: Instant,
    started_at: DateTime<Utc>,
    steps: Vec<Step>,
    doing: &'static str,
    doing_what: String,
    /// The phase of the step in progress (see [`Trace::begin`]).
    phase: Option<Phase>,
    /// A request being sent: (send step text, wait step text, the socket's mark).
    sending: Option<(String, String, WriteMark)>,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::start()
    }
}

impl Trace {
    /// Starts the clock.
    pub fn start() -> Trace {
        Trace {
            started: Instant::now(),
            started_at: Utc::now(),
            steps: Vec::new(),
            doing: "starting",
            doing_what: String::new(),
            phase: None,
            sending: None,
        }
    }

    /// When the check began.
    pub fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// Milliseconds since the check began.
    pub fn elapsed_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// Names the step now in progress (`"connecting"`) and what it acts on, for a
    /// timeout's description and its `[FAIL]` line.
    /// Steps recorded from now on belong to `phase`.
    pub fn begin(&mut self, phase: Option<Phase>, doing: &'static str, what: impl Into<String>) {
        self.phase = phase;
        self.doing = doing;
        self.doing_what = what.into();
    }

    /// The step in progress, as `begin` named it.
    pub fn doing(&mut self) -> &'static str {
        self.settle();
        self.doing
    }

    /// Starts sending a request on a socket whose writes stamp `mark` (cleared here).
    /// The send step is recorded at the time of the socket's last write as soon as
    /// anything else is recorded, and the step in progress becomes the wait.
    pub fn sending(&mut self, send: String, wait: String, mark: WriteMark) {
        if let Ok(mut m) = mark.lock() {
            *m = None;
        }
        self.begin(Some(Phase::Processing), "sending the request", send.clone());
        self.sending = Some((send, wait, mark));
    }

    fn settle(&mut self) {
        let Some((send, wait, mark)) = self.sending.take() else {
            return;
        };
        let at = mark.lock().ok().and_then(|m| *m);
        match at {
            Some(at) => {
                let since = at.saturating_duration_since(self.started);
                self.steps.push(Step {
                    elapsed_ms: (since.as_secs_f64() * 1000.0) as f32,
                    text: send.into_boxed_str(),
                    outcome: Outcome::Ok,
                    phase: self.phase,
                });
                self.begin(Some(Phase::Processing), "waiting for the response", wait);
            }
            None => self.sending = Some((send, wait, mark)),
        }
    }

    fn push(&mut self, text: String, outcome: Outcome) {
        self.settle();
        self.sending = None;
        // A note (the verdict, a remark) belongs to no phase of the exchange.
        let phase = match outcome {
            Outcome::Note => None,
            _ => self.phase,
        };
        self.steps.push(Step {
            elapsed_ms: self.elapsed_ms() as f32,
            text: text.into_boxed_str(),
            outcome,
            phase,
        });
    }

    /// Records a step that worked.
    pub fn ok(&mut self, text: impl Into<String>) {
        self.push(text.into(), Outcome::Ok);
    }

    /// Records the step that failed.
    pub fn fail(&mut self, text: impl Into<String>, reason: impl Into<String>) {
        self.push(text.into(), Outcome::Fail(reason.into().into_boxed_str()));
    }

    /// Records the step in progress as failed (after a timeout).
    pub fn fail_current(&mut self, reason: impl Into<String>) {
        self.settle();
        let text = if self.doing_what.is_empty() {
            self.doing.to_string()
        } else {
            self.doing_what.clone()
        };
        self.fail(text, reason);
    }

    /// Records a line without a bracket (the verdict).
    pub fn note(&mut self, text: impl Into<String>) {
        self.push(text.into(), Outcome::Note);
    }

    /// Lets go of what only a check in progress needs, and of spare room: a finished
    /// trace is kept in memory for every target until its next check.
    pub fn finish(&mut self) {
        self.steps.shrink_to_fit();
        self.doing_what = String::new();
        self.sending = None;
    }

    /// The steps so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Renders the trace under a header line (the check's result line).
    pub fn render(&self, header: &str) -> String {
        let mut out = format!("{} {header}\n", stamp(self.started_at));
        for s in &self.steps {
            let at = self.started_at
                + chrono::Duration::microseconds((f64::from(s.elapsed_ms) * 1000.0) as i64);
            let _ = write!(out, "{} {:>+6.1} ms  {}", stamp(at), s.elapsed_ms, s.text);
            match &s.outcome {
                Outcome::Ok => out.push_str(" [OK]\n"),
                Outcome::Fail(reason) => {
                    let _ = writeln!(out, " [FAIL] reason: {reason}");
                }
                Outcome::Note => out.push('\n'),
            }
        }
        out
    }
}

/// `2026-11-21 04:44:25.113623`.
pub fn stamp(t: DateTime<Utc>) -> String {
    crate::domain::time::format(t, crate::domain::time::Fraction::Micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_belong_to_the_phase_begun_and_notes_to_none() {
        let mut t = Trace::start();
        t.ok("auth basic as u");
        t.begin(Some(Phase::Resolve), "resolving", "resolve h");
        t.ok("resolve h -> 127.0.0.1");
        t.begin(Some(Phase::Connect), "connecting", "connect 127.0.0.1:80");
        t.fail("connect 127.0.0.1:80", "connection refused");
        t.note("verdict FAIL: connection refused");
        let phases: Vec<Option<&str>> = t
            .steps()
            .iter()
            .map(|s| s.phase.map(Phase::as_str))
            .collect();
        assert_eq!(phases, [None, Some("resolve"), Some("connect"), None]);
    }

    #[test]
    fn renders_steps_with_elapsed_and_outcome() {
        let mut t = Trace::start();
        t.ok("resolve localhost -> 127.0.0.1");
        t.fail("connect 127.0.0.1:1", "connection refused");
        let text = t.render("[8] x GET http://localhost:1/ FAIL (connection refused)");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with(" [8] x GET http://localhost:1/ FAIL (connection refused)"));
        assert!(
            lines[1].contains(" ms  resolve localhost -> 127.0.0.1 [OK]"),
            "{}",
            lines[1]
        );
        // Three spaces between the time stamp and "+0.0 ms", as in the specification.
        assert_eq!(&lines[1][26..30], "   +", "{}", lines[1]);
        assert!(
            lines[1].contains("+0.0 ms") || lines[1].contains("+0.1 ms"),
            "{}",
            lines[1]
        );
        assert!(lines[2].ends_with("connect 127.0.0.1:1 [FAIL] reason: connection refused"));
        // 2026-11-21 04:44:25.113623 = 26 characters of timestamp.
        assert_eq!(lines[1].find("  ").unwrap(), 26);
    }

    #[test]
    fn a_timeout_names_the_step_in_progress() {
        let mut t = Trace::start();
        let mark: WriteMark = Default::default();
        t.sending("send GET /".into(), "response".into(), mark.clone());
        assert_eq!(t.doing(), "sending the request");
        *mark.lock().unwrap() = Some(Instant::now());
        assert_eq!(t.doing(), "waiting for the response");
        assert!(t.render("h").contains("send GET / [OK]"));
        t.begin(Some(Phase::Connect), "connecting", "connect 10.0.0.1:80");
        assert_eq!(t.doing(), "connecting");
        t.fail_current("timed out after 10s");
        assert!(t
            .render("h")
            .contains("connect 10.0.0.1:80 [FAIL] reason: timed out after 10s"));
    }
}
