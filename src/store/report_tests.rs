//! Unit tests of the availability report's figures.

use super::super::checks::CheckRecord;
use super::super::{temp_store, HistorySettings, Past};
use super::*;
use crate::domain::history::Calendar;
use crate::domain::report::{ServerId, ServiceReport, ServiceState};
use crate::domain::supervise::{Thresholds, Verdict};
use crate::secret::Secret;

const MIN: i64 = 60_000;

fn check(at: i64, passed: bool) -> CheckRecord {
    CheckRecord {
        target_id: 1,
        name: "t1".into(),
        request: "GET http://x/".into(),
        time_ms: at,
        verdict: if passed { Verdict::Pass } else { Verdict::Fail },
        status_code: Some(if passed { 200 } else { 503 }),
        description: String::new(),
        response_ms: if passed { 5.0 } else { 700.0 },
        network_fail: false,
        trace: std::sync::Arc::new((String::new(), crate::domain::trace::Trace::start())),
        thresholds: Thresholds::default(),
        period_ms: MIN,
        urgent: true,
    }
}

fn utc(store: &Store, sample_ms: i64) {
    store.set_history(HistorySettings {
        calendar: Calendar::utc(),
        sample_ms,
    });
}

/// A store counting days in `calendar`, with one target, `t1`.
async fn with_target(calendar: Calendar) -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store();
    store.set_history(HistorySettings {
        calendar,
        sample_ms: 0,
    });
    store
        .write(|c| {
            Ok(c.execute(
                "INSERT INTO targets (name, url) VALUES ('t1', 'http://x/')",
                [],
            )?)
        })
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_targets_warn_time_is_up_and_degraded() {
    let (_dir, store) = with_target(Calendar::utc()).await;
    let base = (crate::domain::time::now_ms() / HOUR_MS - 48) * HOUR_MS;
    // PASS, then WARN for three minutes, then PASS: a minute apart.
    let verdicts = [
        Verdict::Pass,
        Verdict::Warn,
        Verdict::Warn,
        Verdict::Warn,
        Verdict::Pass,
    ];
    for (i, v) in verdicts.into_iter().enumerate() {
        let mut c = check(base + i as i64 * MIN, true);
        c.verdict = v;
        store.record_check(c).await.unwrap();
    }
    let now = base + 5 * MIN;
    let rows = store
        .report(
            SourceFilter::Target("t1".into()),
            (base, base + HOUR_MS),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let f = &rows[0].figures;
    assert_eq!(f.covered_ms, 5 * MIN);
    assert_eq!((f.downtime_ms, f.incidents), (0, 0));
    assert_eq!(f.uptime_pct, Some(100.0));
    let degraded = f.degraded_pct.unwrap();
    assert!(
        (degraded - 60.0).abs() < 1e-9,
        "three of five minutes: {degraded}"
    );
    let counts: (i64, i64, i64) = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT warn_count FROM targets), (SELECT sum(warns) FROM target_hours), \
                 (SELECT count(*) FROM target_results WHERE result = 2)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(counts, (3, 3, 3));
    let history = store.target_history(1, 10).await.unwrap().unwrap();
    assert_eq!(history[1].result, "WARN");
}

#[tokio::test]
async fn a_targets_downtime_incidents_and_gaps_are_counted_from_its_checks() {
    let (_dir, store) = with_target(Calendar::utc()).await;
    // Two days ago at 10:00 UTC: PASS, PASS, FAIL, FAIL, PASS a minute apart, the
    // FAIL stretch crossing into the next hour (not into the next day, which the
    // day's bar below would not see); then the daemon is away for a day.
    let base = (crate::domain::time::now_ms() / (24 * HOUR_MS) - 2) * 24 * HOUR_MS + 10 * HOUR_MS;
    let t0 = base + 57 * MIN;
    for (i, passed) in [true, true, false, false, true].into_iter().enumerate() {
        store
            .record_check(check(t0 + i as i64 * MIN, passed))
            .await
            .unwrap();
    }
    store
        .record_check(check(t0 + 24 * 60 * MIN, true))
        .await
        .unwrap();
    let now = t0 + 24 * 60 * MIN + 30_000;
    let rows = store
        .report(
            SourceFilter::Target("t1".into()),
            (base, base + 2 * HOUR_MS),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let f = &rows[0].figures;
    assert_eq!(rows[0].source, "t1");
    assert_eq!(f.downtime_ms, 2 * MIN, "from the first FAIL to the PASS");
    assert_eq!(f.incidents, 1);
    assert_eq!((f.longest_ms, f.mttr_ms), (2 * MIN, Some(2 * MIN)));
    // Up 2 minutes before, and the minute the last check stands for after it;
    // the rest of the two hours had no data.
    assert_eq!(f.covered_ms, 5 * MIN);
    assert_eq!(f.no_data_ms, 2 * HOUR_MS - 5 * MIN);
    let up = f.uptime_pct.unwrap();
    assert!((up - 60.0).abs() < 1e-9, "{up}");
    let p95 = f.p95_ms.unwrap();
    assert!(
        (500.0..=700.0).contains(&p95),
        "two of five checks slow: {p95}"
    );
    // By id too; and the day's bar shows the same.
    let by_id = store
        .report(
            SourceFilter::Target("1".into()),
            (base, base + 2 * HOUR_MS),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id, rows);
    let cal = Calendar::utc();
    let day = cal.day(t0);
    let bars = store
        .bars(SourceKind::Target, 1, vec![day], now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bars[0].checks, bars[0].failures, bars[0].downtime_ms),
        (Some(5), Some(2), 2 * MIN)
    );
    assert!(store
        .report(SourceFilter::Target("t9".into()), (0, 1), now)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .bars(SourceKind::Target, 9, vec![day], now)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_services_states_offline_time_and_samples_are_kept() {
    let (_dir, store) = temp_store();
    utc(&store, 5 * MIN);
    let base = (crate::domain::time::now_ms() / HOUR_MS - 48) * HOUR_MS;
    let push = |state: &str, at: i64| {
        let store = store.clone();
        let report = ServiceReport {
            name: "disk".into(),
            state: ServiceState::parse(state).unwrap(),
            info: format!("at {at}"),
            period: 60,
            time: Some(at),
        };
        async move {
            let id = ServerId {
                name: "web1".into(),
                key: Secret::new("k"),
            };
            store
                .push_states(id, true, vec![report])
                .await
                .unwrap()
                .unwrap();
        }
    };
    // OK every 30 s for 20 minutes, then WARN for 10, then silence.
    for i in 0..40 {
        push("OK", base + i * 30_000).await;
    }
    for i in 40..60 {
        push("WARN", base + i * 30_000).await;
    }
    store.file_reports().await.unwrap();
    let last = base + 59 * 30_000;
    // Missed its period: offline a minute after its last report.
    let gone = store.mark_offline(last + 61_000).await.unwrap();
    assert_eq!(gone.len(), 1);
    // Back, OK, 30 minutes later.
    let back = last + 30 * MIN;
    push("OK", back).await;
    store.file_reports().await.unwrap();
    let now = back + 10_000;
    let rows = store
        .report(
            SourceFilter::Server {
                server: "web1".into(),
                service: Some("disk".into()),
            },
            (base, base + 2 * HOUR_MS),
            now,
        )
        .await
        .unwrap()
        .unwrap();
    let f = &rows[0].figures;
    assert_eq!(rows[0].source, "web1/disk");
    let offline = back - (last + MIN);
    assert_eq!(
        f.downtime_ms, offline,
        "offline from a period after the last report"
    );
    assert_eq!(f.incidents, 1);
    assert_eq!(f.mttr_ms, Some(offline));
    assert_eq!(f.covered_ms, now - base);
    let degraded = f.degraded_pct.unwrap();
    // From the first WARN to a period after the last report.
    let warned = last + MIN - (base + 20 * MIN);
    let expected = 100.0 * warned as f64 / (now - base) as f64;
    assert!((degraded - expected).abs() < 1e-9, "{degraded} {expected}");
    // The day's bar says the same; its hours that stayed OK have no row.
    let bar = &store
        .bars(
            SourceKind::Service,
            rows[0].id,
            vec![Calendar::utc().day(base)],
            now,
        )
        .await
        .unwrap()
        .unwrap()[0];
    assert_eq!((bar.downtime_ms, bar.checks), (offline, None));
    assert_eq!(bar.covered_ms, now - base);
    let hours: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM service_hours", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert!(
        hours <= 2,
        "only the hours with WARN or offline time: {hours}"
    );
    // History: the first OK and samples 5, 10 and 15 minutes on, the WARN and its
    // sample at 25 minutes, OFFLINE, the OK.
    let history = store
        .service_history(rows[0].id, 100)
        .await
        .unwrap()
        .unwrap();
    let states: Vec<&str> = history.iter().rev().map(|h| h.1.as_str()).collect();
    assert_eq!(
        states,
        ["OK", "OK", "OK", "OK", "WARN", "WARN", "OFFLINE", "OK"],
        "{history:?}"
    );
    // The view operators query names the states kept as rows as the daemon does: the
    // changes and OFFLINE. The samples are packed, four in one row (one UTC hour).
    let (viewed, packed): (Vec<String>, (i64, i64)) = store
        .read(|c| {
            let mut s = c.prepare("SELECT state FROM service_history ORDER BY time")?;
            let rows = s.query_map([], |r| r.get(0))?;
            let packed = c.query_row(
                "SELECT count(*), sum(count) FROM service_samples",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((rows.collect::<rusqlite::Result<_>>()?, packed))
        })
        .await
        .unwrap();
    assert_eq!(viewed, ["OK", "WARN", "OFFLINE", "OK"]);
    assert_eq!(packed, (1, 4));
    // Changes within one millisecond are all kept, a millisecond apart, in the
    // order they arrived.
    for state in ["FAIL", "OK", "WARN"] {
        push(state, now).await;
    }
    store.file_reports().await.unwrap();
    let newest = store.service_history(rows[0].id, 3).await.unwrap().unwrap();
    let newest: Vec<(i64, &str)> = newest.iter().rev().map(|h| (h.0, h.1.as_str())).collect();
    assert_eq!(newest, [(now, "FAIL"), (now + 1, "OK"), (now + 2, "WARN")]);
}

#[tokio::test]
async fn a_month_and_its_days_follow_daylight_saving_time() {
    let berlin = Calendar::named("Europe/Berlin").unwrap();
    let (_dir, store) = with_target(berlin.clone()).await;
    // Up from mid-February to mid-April, but down for the hour before the clocks
    // went forward (2026-03-29 01:00-02:00 local, 00:00-01:00 UTC).
    let (march, april) = berlin.month("2026-03").unwrap();
    let dst = berlin.day_start(20260329);
    let span = |a, b, c| (a, b, c);
    store
        .record_past(
            SourceKind::Target,
            1,
            Past {
                spans: vec![
                    span(march - 14 * 86_400_000, dst + HOUR_MS, Condition::Up),
                    span(dst + HOUR_MS, dst + 2 * HOUR_MS, Condition::Down),
                    span(dst + 2 * HOUR_MS, april + 14 * 86_400_000, Condition::Up),
                ],
                incidents: vec![(dst + HOUR_MS, dst + 2 * HOUR_MS)],
                ..Past::default()
            },
        )
        .await
        .unwrap();
    let now = april + 30 * 86_400_000;
    let rows = store
        .report(SourceFilter::All, (march, april), now)
        .await
        .unwrap()
        .unwrap();
    let f = &rows[0].figures;
    assert_eq!(
        f.covered_ms,
        (31 * 24 - 1) * HOUR_MS,
        "March has 743 hours in Berlin"
    );
    assert_eq!((f.no_data_ms, f.downtime_ms), (0, HOUR_MS));
    assert_eq!((f.incidents, f.mttr_ms), (1, Some(HOUR_MS)));
    let days = vec![20260328, 20260329, 20260330];
    let bars = store
        .bars(SourceKind::Target, 1, days, now)
        .await
        .unwrap()
        .unwrap();
    let hours: Vec<i64> = bars.iter().map(|b| b.covered_ms / HOUR_MS).collect();
    assert_eq!(
        hours,
        [24, 23, 24],
        "the day the clocks go forward has 23 hours"
    );
    assert_eq!(bars[1].downtime_ms, HOUR_MS);
}
