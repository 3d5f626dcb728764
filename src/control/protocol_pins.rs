//! Every request and response encoded once: the bytes are pinned, so a change of the
//! wire is a visible, versioned choice.

use super::*;
use crate::control::codec::{decode, encode};

/// One value of every request, with small, fixed contents.
fn requests() -> Vec<Request> {
    let target = NewTarget {
        name: "n".into(),
        url: "u".into(),
        method: "GET".into(),
        expect_status: 200,
        frequency: 1,
        timeout: 2,
        enabled: true,
        authn: "NONE".into(),
        authn_params: String::new(),
        options: "{}".into(),
    };
    let notifier = NewNotifier {
        name: "n".into(),
        kind: "smtp".into(),
        address: "a@b".into(),
        params: "{}".into(),
        enabled: false,
    };
    vec![
        Request::Hello {
            protocol_version: PROTOCOL_VERSION,
        },
        Request::Status,
        Request::Stop,
        Request::Reload,
        Request::Targets { after: 8 },
        Request::Target { id: 8 },
        Request::SetTargetEnabled {
            id: 8,
            enabled: false,
        },
        Request::TestTarget { id: 8 },
        Request::AddTarget(target),
        Request::RemoveTarget { id: 8 },
        Request::Servers {
            name: Some("h".into()),
        },
        Request::AddServer { name: "h".into() },
        Request::RemoveServer { name: "h".into() },
        Request::Services {
            server: None,
            after: Some(("h".into(), "s".into())),
        },
        Request::Alerts {
            since_ms: Some(-1),
            limit: 3,
        },
        Request::Notifiers,
        Request::Notifier { id: 2 },
        Request::SetNotifierEnabled {
            id: 2,
            enabled: true,
        },
        Request::TestNotifier { id: 2 },
        Request::AddNotifier(notifier),
        Request::RemoveNotifier { id: 2 },
        Request::Report(ReportQuery {
            server: Some("h".into()),
            month: Some("2026-11".into()),
            ..ReportQuery::default()
        }),
        Request::TargetLines { after: 8 },
        Request::AddSilence(NewSilence {
            server: Some("h".into()),
            matcher: Some("target:a*".into()),
            ends_ms: 9,
            comment: "c".into(),
            ..NewSilence::default()
        }),
        Request::Silences { all: true },
        Request::RemoveSilence { id: 3 },
        Request::Ack {
            alert: 4,
            comment: "c".into(),
        },
        Request::Quiet,
        Request::Jobs {
            server: Some("h".into()),
        },
        Request::AddJob(NewJob {
            name: "backup".into(),
            server: "h".into(),
            cron: Some("0 3 * * *".into()),
            grace_s: 60,
            ..NewJob::default()
        }),
        Request::RemoveJob { id: 5 },
    ]
}

/// One value of every response.
fn responses() -> Vec<Response> {
    let target = TargetInfo {
        id: 1,
        name: "t".into(),
        status: "PASS".into(),
        last_trace: Some("x".into()),
        ..TargetInfo::default()
    };
    vec![
        Response::Hello {
            protocol_version: PROTOCOL_VERSION,
            daemon_version: "v".into(),
            pid: 7,
        },
        Response::Status(StatusReport {
            version: "v".into(),
            pid: 7,
            uptime_s: 9,
            config: "c".into(),
            database: "d".into(),
            listen: String::new(),
            counts: Counts {
                targets: 1,
                ..Counts::default()
            },
        }),
        Response::Done {
            message: "m".into(),
        },
        Response::Targets(vec![target.clone()]),
        Response::Target(target),
        Response::Test(TestReport {
            id: 1,
            name: "t".into(),
            verdict: crate::domain::supervise::Verdict::Pass,
            description: "OK".into(),
            line: "l".into(),
            trace: "r".into(),
        }),
        Response::Servers(vec![ServerInfo {
            id: 1,
            name: "h".into(),
            ..ServerInfo::default()
        }]),
        Response::ServerAdded {
            name: "h".into(),
            key: "k".into(),
        },
        Response::Services(vec![ServiceInfo {
            id: 1,
            timed_out: true,
            ..ServiceInfo::default()
        }]),
        Response::Alerts(vec![AlertInfo {
            id: 1,
            event: "e".into(),
            ..AlertInfo::default()
        }]),
        Response::Error {
            kind: ErrorKind::Unavailable,
            message: "m".into(),
        },
        Response::Notifiers(vec![NotifierInfo {
            id: 1,
            enabled: true,
            ..NotifierInfo::default()
        }]),
        Response::Notifier(NotifierInfo {
            id: 2,
            ..NotifierInfo::default()
        }),
        Response::NotifierTest {
            name: "n".into(),
            delivered: false,
            message: "m".into(),
        },
        Response::Report(ReportInfo {
            time_zone: "UTC".into(),
            rows: vec![ReportLine {
                id: 1,
                uptime_pct: Some(99.5),
                p95_ms: Some(12.25),
                ..ReportLine::default()
            }],
            ..ReportInfo::default()
        }),
        Response::TargetLines(vec![TargetLine {
            id: 1,
            enabled: true,
            ..TargetLine::default()
        }]),
        Response::Silences(vec![SilenceInfo {
            id: 3,
            matches: "db1/*".into(),
            ..SilenceInfo::default()
        }]),
        Response::Quiet(QuietInfo {
            windows: vec![WindowInfo {
                name: "w".into(),
                matches: vec!["server:db*".into()],
                open: true,
                ..WindowInfo::default()
            }],
            acked: vec![AckInfo {
                alert_id: 4,
                target_id: Some(1),
                user: "u".into(),
                ..AckInfo::default()
            }],
            ..QuietInfo::default()
        }),
        Response::Jobs(vec![JobInfo {
            id: 5,
            status: "OK".into(),
            run_ms: Some(1200),
            ..JobInfo::default()
        }]),
    ]
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of every message are pinned: a change to a type that moves them (a
/// field added, a variant inserted) fails here, and must come with a new
/// [`PROTOCOL_VERSION`] and new pins, never by accident.
#[test]
fn the_encoding_of_every_message_is_pinned() {
    let got: Vec<String> = requests()
        .iter()
        .map(|r| hex(&encode(r).unwrap()))
        .chain(responses().iter().map(|r| hex(&encode(r).unwrap())))
        .collect();
    assert_eq!(
        got, PINNED,
        "the wire format changed: bump PROTOCOL_VERSION and re-pin"
    );
    for r in requests() {
        assert_eq!(decode::<Request>(&encode(&r).unwrap()).unwrap(), r);
    }
    for r in responses() {
        assert_eq!(decode::<Response>(&encode(&r).unwrap()).unwrap(), r);
    }
}

const PINNED: &[&str] = &[
    "0006",
    "01",
    "02",
    "03",
    "0410",
    "0510",
    "061000",
    "0710",
    "08016e017503474554fb9001020401044e4f4e4500027b7d",
    "0910",
    "0a010168",
    "0b0168",
    "0c0168",
    "0d000101680173",
    "0e010103",
    "0f",
    "1004",
    "110401",
    "1204",
    "13016e04736d747003614062027b7d00",
    "1404",
    "1500010168000107323032362d31310000",
    "1610",
    "17000101680001097461726765743a612a120163",
    "1801",
    "1906",
    "1a080163",
    "1b",
    "1c010168",
    "1d066261636b75700168000109302033202a202a202a003c",
    "1e0a",
    "0006017607",
    "01017607090163016400010000000000",
    "02016d",
    "03010201740450415353000000000000000000000000000000000000010178",
    "040201740450415353000000000000000000000000000000000000010178",
    "0502017400024f4b016c0172",
    "06010201680000000000",
    "070168016b",
    "08010200000000000001",
    "09010200000000000165000000",
    "0a06016d",
    "0b01020001000000000000",
    "0c040000000000000000",
    "0d016e00016d",
    "0e000003555443010002000000010000000000e058400000000000010000000000802840",
    "0f0102000000010000",
    "100106056462312f2a0000000000",
    "1100010177010a7365727665723a64622a000001010801020000000001750000",
    "12010a000000000000024f4b01fb600900",
];
