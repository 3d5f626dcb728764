//! `skypunchctl`: a thin client of skypunchd's control socket.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(skypunch::ctl::run(skypunch::ctl::Cli::parse()))
}
