//! `icmp://host?count=3` (SPEC §19): echo requests through surge-ping, over an
//! unprivileged ICMP socket (`SOCK_DGRAM`, allowed by `net.ipv4.ping_group_range`) or,
//! for a daemon with CAP_NET_RAW, a raw one. One socket per address family serves
//! every target; it is opened at the first check that needs it, and again after a
//! refusal, so allowing ping sockets later needs no restart.

use super::conn::resolve;
use super::{Failure, Found};
use crate::domain::trace::{Phase, Trace};
use crate::target::TargetDef;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use surge_ping::{Client, Config, PingIdentifier, PingSequence, SurgeError, ICMP};

/// The longest wait for one reply.
const MAX_ECHO_WAIT: Duration = Duration::from_secs(2);
/// The payload of every request (ping's 56 bytes).
const PAYLOAD: [u8; 56] = [0; 56];
/// The shared socket's receive buffer: the replies to every check wait there until
/// surge-ping's task reads them, and a raw socket on loopback also receives the
/// requests themselves. The default (`net.core.rmem_default`, 208 KiB) held ~200 of
/// them: 200 checks of one address at once lost replies, and 10,000 targets at 1 s
/// failed 0.06 % of their checks. Beyond `net.core.rmem_max` only with CAP_NET_ADMIN.
const RECEIVE_BUFFER: usize = 4 << 20;

/// The sequence number of the next echo request, whoever sends it.
///
/// Every check's requests go through one shared socket, and surge-ping hands a reply
/// to the request waiting for its (address, identifier, sequence) — on a ping socket
/// (address, sequence) only, since the kernel sets the identifier. Sequences numbered
/// from 0 by each check made two checks of one address wait for the same reply: the
/// second failed at once (`IdenticalRequests`), or a reply went to the wrong one. One
/// counter for all keeps them apart while fewer than 65,536 requests wait at once (at
/// most 2 s each: 32,000 requests a second).
static NEXT_SEQUENCE: AtomicU16 = AtomicU16::new(0);

fn next_sequence() -> PingSequence {
    PingSequence(NEXT_SEQUENCE.fetch_add(1, Ordering::Relaxed))
}

/// The shared ICMP sockets, opened when first needed.
#[derive(Default)]
pub(super) struct Pingers {
    v4: Mutex<Option<Arc<Client>>>,
    v6: Mutex<Option<Arc<Client>>>,
}

impl Pingers {
    fn client(&self, ip: IpAddr) -> Result<Arc<Client>, String> {
        let (slot, kind) = match ip {
            IpAddr::V4(_) => (&self.v4, ICMP::V4),
            IpAddr::V6(_) => (&self.v6, ICMP::V6),
        };
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = Config::builder().kind(kind).build();
        let client = Client::new(&config).map_err(|e| refused(&e))?;
        make_room(&client);
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }
}

/// Enlarges the socket's receive buffer to [`RECEIVE_BUFFER`], as far as allowed; a
/// smaller one still works, so a refusal is not an error.
fn make_room(client: &Client) {
    use nix::sys::socket::{setsockopt, sockopt};
    let socket = client.get_socket();
    // SAFETY: the descriptor is `socket`'s, which is held open until this returns.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(socket.get_native_sock()) };
    if setsockopt(&fd, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &RECEIVE_BUFFER);
    }
}

/// Why no ICMP socket could be opened, naming the setting that decides it.
fn refused(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            let range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range")
                .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "unreadable".into());
            format!(
                "icmp: ping sockets are not allowed for this daemon's group \
                 (net.ipv4.ping_group_range = \"{range}\"); allow it with \
                 sysctl -w net.ipv4.ping_group_range=\"0 2147483647\", or give skypunchd CAP_NET_RAW"
            )
        }
        _ => format!("icmp: cannot open an ICMP socket: {e}"),
    }
}

impl super::Prober {
    /// Echo requests one after the other; the loss and the mean round trip judged.
    pub(super) async fn icmp(&self, def: &TargetDef, trace: &mut Trace) -> Result<Found, Failure> {
        let (url, host) = super::url_and_host(def)?;
        let count = crate::domain::target::icmp_count(&url)
            .map_err(|e| Failure::http(format!("invalid url: {e}")))?;
        let addrs = resolve(&url, &host, 0, trace).await?;
        let ip = addrs[0].ip();
        let client = self.pingers.client(ip).map_err(|why| {
            trace.fail("icmp socket", why.clone());
            Failure::http(why)
        })?;
        let mut pinger = client
            .pinger(ip, PingIdentifier(super::small_random()))
            .await;
        let wait =
            (Duration::from_secs(u64::from(def.timeout)) / u32::from(count)).min(MAX_ECHO_WAIT);
        pinger.timeout(wait);
        let mut rtts = Vec::with_capacity(usize::from(count));
        for n in 1..=count {
            let what = format!("echo {n} {ip}");
            trace.begin(Some(Phase::Echo), "waiting for an echo reply", what.clone());
            match pinger.ping(next_sequence(), &PAYLOAD).await {
                Ok((_, rtt)) => {
                    let ms = rtt.as_secs_f64() * 1000.0;
                    trace.ok(format!("{what} time={ms:.3} ms"));
                    rtts.push(ms);
                }
                Err(SurgeError::Timeout { .. }) => {
                    trace.note(format!("{what}: no reply within {} ms", wait.as_millis()))
                }
                Err(e) => trace.note(format!("{what}: {e}")),
            }
        }
        let lost = usize::from(count) - rtts.len();
        let loss = lost * 100 / usize::from(count);
        let summary = format!("{lost} of {count} lost ({loss} %)");
        if rtts.is_empty() {
            let why = format!("icmp: no echo reply from {ip} ({summary})");
            trace.fail(format!("echo {ip}"), why.clone());
            return Err(Failure::network(why));
        }
        let mean = rtts.iter().sum::<f64>() / rtts.len() as f64;
        let max_loss = def.options.max_loss_percent.unwrap_or(0) as usize;
        let failure = (loss > max_loss).then(|| format!("icmp: {summary} > {max_loss} %"));
        let text = format!("loss {summary}, mean {mean:.3} ms");
        match &failure {
            Some(why) => trace.fail(text, why.clone()),
            None => trace.ok(text),
        }
        Ok(Found {
            failure,
            response_ms: Some(mean),
            ..Found::ok(None)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::target::TargetRow;

    #[test]
    fn echo_requests_in_flight_never_share_a_sequence() {
        let taken: Vec<u16> = (0..60_000).map(|_| next_sequence().0).collect();
        let distinct: std::collections::HashSet<u16> = taken.iter().copied().collect();
        assert_eq!(distinct.len(), taken.len());
    }

    /// Many checks of one address at once, as 10,000 targets at 1 s make: each gets
    /// its own reply.
    #[tokio::test]
    async fn concurrent_checks_of_one_address_each_get_their_reply() {
        let prober = std::sync::Arc::new(super::super::Prober::new());
        let row = TargetRow::of_url(1, "lo", "icmp://127.0.0.1?count=1");
        let def = std::sync::Arc::new(TargetDef::from_row(&row));
        let checks: Vec<_> = (0..200)
            .map(|_| {
                let (prober, def) = (prober.clone(), def.clone());
                tokio::spawn(async move {
                    let mut trace = Trace::start();
                    let found = prober.icmp(&def, &mut trace).await;
                    (found.is_ok_and(|f| f.failure.is_none()), trace.render("lo"))
                })
            })
            .collect();
        for c in checks {
            let (passed, trace) = c.await.unwrap();
            assert!(passed, "{trace}");
        }
    }

    #[test]
    fn a_refusal_names_the_setting() {
        let e = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let why = refused(&e);
        assert!(why.contains("net.ipv4.ping_group_range = \""), "{why}");
        assert!(why.contains("CAP_NET_RAW"), "{why}");
    }
}
