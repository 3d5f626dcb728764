//! The command line of `skypunchctl`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Control the skypunch monitoring daemon.
#[derive(Debug, Parser)]
#[command(name = "skypunchctl", version, about, max_term_width = 100)]
pub struct Cli {
    /// Configuration file (read only to find the socket)
    #[arg(long, global = true, value_name = "PATH", env = "SKYPUNCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Control socket of skypunchd (overrides the configuration file)
    #[arg(long, global = true, value_name = "PATH", env = "SKYPUNCH_SOCKET")]
    pub socket: Option<PathBuf>,
    /// Print one JSON document instead of text
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start skypunchd in the background and wait until it answers
    Start,
    /// Ask skypunchd to stop and wait until it has exited
    Stop,
    /// Version, pid, uptime and counts
    Status,
    /// Make skypunchd re-read its configuration file
    Reload,
}
