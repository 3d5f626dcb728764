//! Signals as messages: a small thread turns SIGTERM, SIGINT and SIGHUP into values on
//! a channel that the daemon's main loop selects on.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::mpsc;

/// A signal the daemon acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM or SIGINT: stop gracefully.
    Stop(&'static str),
    /// SIGHUP: reload the configuration and reopen the log.
    Reload,
}

/// Installs the handlers and returns the channel the signals arrive on.
pub fn listen() -> std::io::Result<mpsc::UnboundedReceiver<Signal>> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                let s = match sig {
                    SIGHUP => Signal::Reload,
                    SIGINT => Signal::Stop("SIGINT"),
                    _ => Signal::Stop("SIGTERM"),
                };
                if tx.send(s).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}
