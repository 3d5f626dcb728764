//! # skypunch
//!
//! A monitoring daemon that polls HTTP(S) targets on schedules (the job of Skypunch) and
//! receives the states hosts push over HTTP (the job of OverC), keeping everything in
//! SQLite and answering a thin CLI over a Unix socket.
//!
//! # Layout
//!
//! From the bottom up; a module uses only those above it in this list.
//!
//! - [`secret`]: strings that never print.
//! - [`domain`]: plain values and pure rules with no I/O (the clock and time stamps,
//!   the trace, pushed reports, target rows, the judgement of check results), used by
//!   everything and using nothing else of the crate but [`secret`].
//! - [`config`]: `skypunchd.toml` into typed values, with defaults and validation;
//!   its `entries` are the `[[target]]` and `[[notifier]]` types.
//! - [`target`]: target definitions, validated from config entries or database rows.
//! - [`store`]: the only code that speaks SQL, over [`domain`] and SQLite alone:
//!   schema, migrations, the group-commit writer, and one file per table group
//!   (`targets`, `checks`, `servers`, `push`, `flood`, `alerts`, `notifiers`).
//! - [`listener`]: the accept loop shared by the control socket and the push listener.
//! - [`control`]: the control socket: protocol (its own types), codec, server, client.
//! - [`process`]: helper programs with a timeout, in their own process group.
//! - [`probe`]: one HTTP(S) check with its step trace: the check, its connection
//!   layer, authentication, TLS, and the small HTTP client.
//! - [`scheduler`]: when each target is checked; the batching result writer.
//! - [`notify`]: the delivery loop over the outbox and one module per notifier type.
//! - [`push`]: the HTTP listener: OverC's push API, the status page, JSON API, metrics.
//! - [`logging`]: log4rs set-up and reopening.
//! - [`daemon`]: start-up, forking, pid file, signals, reload and graceful stop.
//! - [`table`]: Skypunch-style text tables.
//! - [`ctl`]: what `skypunchctl` does with each command and how it prints the answer.
//! - [`agent`]: `skypunch-agent`: the push client, overcli's INI files, the plugin
//!   scheduler and its spool.

pub mod agent;
pub mod config;
pub mod control;
pub mod ctl;
pub mod daemon;
pub mod domain;
pub mod listener;
pub mod logging;
pub mod notify;
pub mod probe;
pub mod process;
pub mod push;
pub mod scheduler;
pub mod secret;
pub mod store;
pub mod table;
pub mod target;

/// The package version, reported by every binary and over the control socket.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod layers_tests;
