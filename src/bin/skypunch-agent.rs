//! `skypunch-agent`: pushes service states to a skypunchd (OverC's `overcli`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(skypunch::agent::main(skypunch::agent::Cli::parse()))
}
