//! `dns://[server[:port]]/name?type=A&expect=value` (SPEC §19): one query to one
//! server, over UDP (sent again while unanswered), and again over TCP when the answer
//! comes back truncated.
//! hickory-proto encodes the query and decodes the answer; the sockets are the
//! probe's own, so each step is timed into the trace. Without a server, the first
//! `nameserver` of `/etc/resolv.conf` is asked.

use super::conn::resolve;
use super::{Failure, Found};
use crate::domain::dns::{among, question, DnsQuestion};
use crate::domain::trace::{Phase, Trace};
use crate::target::TargetDef;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::Name;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use url::Url;

/// How long an unanswered UDP query waits before it is sent again, each time: a
/// datagram lost to a full receive buffer or a busy server costs a second, not the
/// check (glibc's resolver and dig send again too). After the last, the check's
/// timeout ends the wait.
const RESEND_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];

/// The server to ask: the URL's, or the system's first.
async fn server_of(url: &Url, q: &DnsQuestion, trace: &mut Trace) -> Result<SocketAddr, Failure> {
    let Some((host, port)) = &q.server else {
        let conf = tokio::fs::read("/etc/resolv.conf")
            .await
            .unwrap_or_default();
        let ip: IpAddr = resolv_conf::Config::parse(&conf)
            .map(|c| c.get_nameservers_or_local())
            .ok()
            .and_then(|n| n.into_iter().next())
            .map_or(IpAddr::from([127, 0, 0, 1]), IpAddr::from);
        return Ok(SocketAddr::new(ip, 53));
    };
    // An address is asked as it is: the trace's steps are the query's.
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, *port));
    }
    let addrs = resolve(url, host, *port, trace).await?;
    Ok(addrs[0])
}

/// One query and its answer, judged by `expect`.
pub(super) async fn check(def: &TargetDef, trace: &mut Trace) -> Result<Found, Failure> {
    let url = Url::parse(&def.url).map_err(|e| Failure::http(format!("invalid url: {e}")))?;
    let q = question(&url).map_err(|e| Failure::http(format!("invalid url: {e}")))?;
    let server = server_of(&url, &q, trace).await?;
    let mut message = Message::new();
    message
        .set_id(super::small_random())
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(
            Name::from_ascii(&q.name).map_err(|e| Failure::http(e.to_string()))?,
            q.record_type,
        ));
    let bytes = message
        .to_vec()
        .map_err(|e| Failure::http(format!("cannot encode the query: {e}")))?;
    let what = format!("query {} {} @{server}", q.record_type, q.name);
    let mut answer = exchange_udp(server, &bytes, &what, trace).await?;
    if answer.truncated() {
        trace.note("the answer was truncated; asking again over TCP");
        answer = exchange_tcp(server, &bytes, &what, trace).await?;
    }
    Ok(judge(&q, &answer, trace))
}

fn network(trace: &mut Trace, what: &str, e: &std::io::Error) -> Failure {
    let reason = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        _ => format!("dns: {}", e.to_string().to_lowercase()),
    };
    trace.fail(what.to_string(), reason.clone());
    Failure::network(reason)
}

async fn exchange_udp(
    server: SocketAddr,
    query: &[u8],
    what: &str,
    trace: &mut Trace,
) -> Result<Message, Failure> {
    trace.begin(
        Some(Phase::Query),
        "sending the query",
        format!("{what} (udp)"),
    );
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
        SocketAddr::V6(_) => ([0u16; 8], 0).into(),
    };
    let socket = tokio::net::UdpSocket::bind(local)
        .await
        .map_err(|e| network(trace, what, &e))?;
    socket
        .connect(server)
        .await
        .map_err(|e| network(trace, what, &e))?;
    socket
        .send(query)
        .await
        .map_err(|e| network(trace, what, &e))?;
    trace.ok(format!("{what} (udp)"));
    trace.begin(Some(Phase::Answer), "waiting for the answer", "answer");
    let mut buf = vec![0u8; 4096];
    let id = u16::from_be_bytes([query[0], query[1]]);
    let mut resends = RESEND_AFTER.iter();
    let mut resend_at = resends.next().map(|d| Instant::now() + *d);
    loop {
        let received = match resend_at {
            Some(at) => match tokio::time::timeout_at(at, socket.recv(&mut buf)).await {
                Ok(received) => received,
                Err(_) => {
                    // The same query, so an answer to the first is still taken.
                    socket
                        .send(query)
                        .await
                        .map_err(|e| network(trace, what, &e))?;
                    trace.note("no answer yet; the query sent again");
                    resend_at = resends.next().map(|d| Instant::now() + *d);
                    continue;
                }
            },
            None => socket.recv(&mut buf).await,
        };
        let n = received.map_err(|e| network(trace, "answer", &e))?;
        // A late answer to an earlier query on a reused port is not this one's.
        match Message::from_vec(&buf[..n]) {
            Ok(m) if m.id() == id => return Ok(m),
            Ok(_) => continue,
            Err(e) => {
                let reason = format!("dns: the answer cannot be read: {e}");
                trace.fail("answer", reason.clone());
                return Err(Failure::network(reason));
            }
        }
    }
}

async fn exchange_tcp(
    server: SocketAddr,
    query: &[u8],
    what: &str,
    trace: &mut Trace,
) -> Result<Message, Failure> {
    trace.begin(
        Some(Phase::Query),
        "sending the query",
        format!("{what} (tcp)"),
    );
    let mut stream = tokio::net::TcpStream::connect(server)
        .await
        .map_err(|e| network(trace, what, &e))?;
    let mut framed = u16::try_from(query.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(query);
    stream
        .write_all(&framed)
        .await
        .map_err(|e| network(trace, what, &e))?;
    trace.ok(format!("{what} (tcp)"));
    trace.begin(Some(Phase::Answer), "waiting for the answer", "answer");
    let len = stream
        .read_u16()
        .await
        .map_err(|e| network(trace, "answer", &e))?;
    let mut buf = vec![0u8; usize::from(len)];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| network(trace, "answer", &e))?;
    Message::from_vec(&buf).map_err(|e| {
        let reason = format!("dns: the answer cannot be read: {e}");
        trace.fail("answer", reason.clone());
        Failure::network(reason)
    })
}

/// The answer's records of the type asked, as text (`127.0.0.1`, `10 mx.test.`).
fn values(q: &DnsQuestion, answer: &Message) -> Vec<String> {
    answer
        .answers()
        .iter()
        .filter(|r| r.record_type() == q.record_type)
        .map(|r| r.data().to_string())
        .collect()
}

/// The mnemonic operators know from dig (`NXDOMAIN`, `SERVFAIL`, ...).
fn rcode_name(code: ResponseCode) -> String {
    match u16::from(code) {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("RCODE {n}"),
    }
}

fn judge(q: &DnsQuestion, answer: &Message, trace: &mut Trace) -> Found {
    let code = answer.response_code();
    let found = values(q, answer);
    let shown = match found.len() {
        0 => "no records".to_string(),
        n => format!(
            "{n} record{}: {}",
            if n == 1 { "" } else { "s" },
            found.join(", ")
        ),
    };
    let rcode = rcode_name(code);
    let text = format!("answer {rcode} {shown}");
    let failure = if code != ResponseCode::NoError {
        Some(format!("dns: {rcode} for {}", q.name))
    } else if found.is_empty() {
        Some(format!("dns: no {} record for {}", q.record_type, q.name))
    } else {
        q.expect
            .as_ref()
            .filter(|want| !among(&found, want))
            .map(|want| {
                format!(
                    "dns: {want:?} is not among the answers ({})",
                    found.join(", ")
                )
            })
    };
    match &failure {
        Some(why) => trace.fail(text, why.clone()),
        None => trace.ok(text),
    }
    Found {
        failure,
        ..Found::ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::dns::question;
    use crate::domain::target::TargetRow;

    /// A server on 127.0.0.1 that lets the first query go unanswered, as a full
    /// receive buffer would, and answers the next with web.test's address.
    async fn server_losing_the_first_query() -> (SocketAddr, tokio::task::JoinHandle<usize>) {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let served = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut queries = 0;
            loop {
                let Ok(Ok((n, from))) =
                    tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await
                else {
                    return queries;
                };
                queries += 1;
                if queries == 1 {
                    continue;
                }
                let query = Message::from_vec(&buf[..n]).unwrap();
                let mut answer = Message::new();
                answer
                    .set_id(query.id())
                    .set_message_type(MessageType::Response)
                    .add_query(query.queries()[0].clone())
                    .add_answer(hickory_proto::rr::Record::from_rdata(
                        Name::from_ascii("web.test.").unwrap(),
                        60,
                        hickory_proto::rr::RData::A("127.0.0.1".parse().unwrap()),
                    ));
                socket
                    .send_to(&answer.to_vec().unwrap(), from)
                    .await
                    .unwrap();
            }
        });
        (addr, served)
    }

    #[tokio::test]
    async fn an_unanswered_query_is_sent_again() {
        let (server, served) = server_losing_the_first_query().await;
        let url = format!("dns://{server}/web.test?expect=127.0.0.1");
        let def = TargetDef::from_row(&TargetRow::of_url(1, "dns", &url));
        let mut trace = Trace::start();
        let found = tokio::time::timeout(Duration::from_secs(5), check(&def, &mut trace))
            .await
            .expect("an answer within 5 s")
            .unwrap_or_else(|f| panic!("{f:?}"));
        assert_eq!(found.failure, None);
        let text = trace.render(&def.name);
        assert!(
            text.contains("no answer yet; the query sent again"),
            "{text}"
        );
        assert!(
            text.contains("answer NOERROR 1 record: 127.0.0.1"),
            "{text}"
        );
        assert_eq!(served.await.unwrap(), 2, "one query lost, one answered");
    }

    #[test]
    fn only_the_type_asked_is_judged_and_an_nxdomain_fails() {
        let q =
            question(&Url::parse("dns://127.0.0.1/web.test?expect=127.0.0.2").unwrap()).unwrap();
        let mut m = Message::new();
        m.set_response_code(ResponseCode::NXDomain);
        let mut trace = Trace::start();
        let f = judge(&q, &m, &mut trace);
        assert_eq!(f.failure.as_deref(), Some("dns: NXDOMAIN for web.test"));
        let mut m = Message::new();
        m.add_answer(hickory_proto::rr::Record::from_rdata(
            Name::from_ascii("web.test.").unwrap(),
            60,
            hickory_proto::rr::RData::A("127.0.0.1".parse().unwrap()),
        ));
        let f = judge(&q, &m, &mut trace);
        assert_eq!(
            f.failure.as_deref(),
            Some("dns: \"127.0.0.2\" is not among the answers (127.0.0.1)")
        );
    }
}
