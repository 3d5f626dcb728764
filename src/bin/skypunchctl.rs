//! `skypunchctl`: a thin client of skypunchd's control socket.

use clap::Parser;
use std::process::ExitCode;

// A whole list is ~700,000 small strings decoded, drawn and freed: glibc's malloc and
// free were a third of the time `skypunchctl targets` spent on 100,000 rows.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    ExitCode::from(skypunch::ctl::run(skypunch::ctl::Cli::parse()))
}
