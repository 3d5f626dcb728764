//! The control socket between `skypunchctl` and `skypunchd`.
//!
//! - [`protocol`]: the `Request` / `Response` types.
//! - [`jobs`]: the answer types of jobs.
//! - [`quiet`]: the answer types of silences, acknowledgements and windows.
//! - [`codec`]: framing (4-byte big-endian length, 4 MiB cap) and the binary encoding.
//! - [`server`]: binds the socket (stale-file and second-daemon handling, mode 0660,
//!   peer credentials) and serves connections.
//! - [`client`]: connects, says hello, sends requests.

pub mod client;
pub mod codec;
pub mod jobs;
pub mod protocol;
pub mod quiet;
pub mod server;
