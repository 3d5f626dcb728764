//! # skypunch
//!
//! A monitoring daemon that polls HTTP(S) targets on schedules (the job of Skypunch) and
//! receives the states hosts push over HTTP (the job of OverC), keeping everything in
//! SQLite and answering a thin CLI over a Unix socket.
//!
//! # Layout
//!
//! - [`domain`]: the bottom layer of plain values (the clock and time stamps, the
//!   trace, pushed reports), used by everything and using nothing above it.
//! - [`config`]: `skypunchd.toml` into typed values, with defaults and validation.
//! - [`store`]: the SQLite database: schema, migrations, the group-commit writer.
//! - [`control`]: the control socket protocol, its codec, server and client.
//! - [`daemon`]: start-up, forking, pid file, signals, reload and graceful stop.
//! - [`logging`]: log4rs set-up and reopening.
//! - [`target`]: target definitions, validated from config entries or database rows.
//! - [`probe`]: one HTTP(S) check with its step trace.
//! - [`scheduler`]: when each target is checked.
//! - [`push`]: the HTTP listener and OverC's push API.
//! - [`supervise`]: check results into states and alerts (pure logic).
//! - [`ctl`]: what `skypunchctl` does with each command and how it prints the answer.
//! - [`table`]: Skypunch-style text tables.
//! - [`secret`]: strings that never print.

pub mod agent;
pub mod config;
pub mod control;
pub mod ctl;
pub mod daemon;
pub mod domain;
pub mod logging;
pub mod notify;
pub mod probe;
pub mod process;
pub mod push;
pub mod scheduler;
pub mod secret;
pub mod store;
pub mod supervise;
pub mod table;
pub mod target;

/// The package version, reported by every binary and over the control socket.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
