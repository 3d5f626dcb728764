//! The bottom layer: plain values every other module uses, with no I/O and no
//! dependency on any module above.
//!
//! - [`time`]: the clock (`now_ms`) and the time stamps skypunch writes.
//! - [`trace`]: a check's steps, each timed, and how they are rendered.
//! - [`report`]: what a pushing host reports (server, service states, alerts) and the
//!   limits of OverC's protocol.
//! - [`dns`]: what a `dns://` target's URL asks.
//! - [`jobs`]: jobs that ping: their schedules (period or cron) and ping paths.
//! - [`metrics`]: the latency histogram kept for `/metrics`.
//! - [`quiet`]: what silences and maintenance windows cover, and when a window is open.
//! - [`supervise`]: check results into target states and events (pure, clock passed in).
//! - [`target`]: a target's row as stored, and where it came from.
//! - [`depend`]: dependencies between sources (`depends_on`), their references and cycles.
//! - [`samples`]: a service's sampled reports, packed an hour at a time.
//! - [`varint`]: LEB128 numbers, for the packed histograms and samples.
//! - [`rules`]: `[[service_rule]]`: which pushed services a rule governs, and how.

pub mod depend;
pub mod dns;
pub mod history;
pub mod jobs;
pub mod metrics;
pub mod quiet;
pub mod report;
pub mod rules;
pub mod samples;
pub mod supervise;
pub mod target;
pub mod time;
pub mod trace;
pub mod varint;
