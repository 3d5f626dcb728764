//! Unit tests of pushed reports and their alerts.

use super::super::temp_store;
use super::*;
use crate::secret::Secret;

fn report(name: &str, state: &str) -> Vec<ServiceReport> {
    let state = ServiceState::parse(state).expect("a state");
    vec![ServiceReport {
        name: name.into(),
        state,
        info: String::new(),
        period: 60,
        time: None,
    }]
}

/// web1 reports `disk` (period 60 s) as measured at `time`.
fn measured(
    store: &Store,
    state: &str,
    info: &str,
    time: i64,
) -> impl std::future::Future<Output = Result<Result<(), Denied>>> {
    let state = ServiceState::parse(state).expect("a state");
    let report = ServiceReport {
        name: "disk".into(),
        state,
        info: info.into(),
        period: 60,
        time: Some(time),
    };
    let id = ServerId {
        name: "web1".into(),
        key: Secret::new("k"),
    };
    let store = store.clone();
    async move { store.push_states(id, true, vec![report]).await }
}

#[tokio::test]
async fn a_burst_within_one_millisecond_is_kept_in_order_after_what_was_kept() {
    let (_dir, store) = temp_store();
    store.set_history(crate::store::HistorySettings {
        sample_ms: 0,
        ..crate::store::HistorySettings::default()
    });
    let id = || ServerId {
        name: "web1".into(),
        key: Secret::new("k"),
    };
    let at = now_ms() - 60_000;
    let burst = |states: &[&str]| -> Vec<ServiceReport> {
        states
            .iter()
            .map(|s| ServiceReport {
                name: "disk".into(),
                state: ServiceState::parse(s).unwrap(),
                info: s.to_string(),
                period: 3600,
                time: Some(at),
            })
            .collect()
    };
    for pass in [&["OK", "WARN", "FAIL"][..], &["UNK", "OK"][..]] {
        let pushed = store.push_states(id(), true, burst(pass)).await.unwrap();
        assert_eq!(pushed, Ok(()));
        store.file_reports().await.unwrap();
    }
    let kept: Vec<(i64, String)> = store
        .read(|c| {
            let mut s = c.prepare("SELECT time, info FROM service_states ORDER BY time")?;
            let rows = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    let want: Vec<(i64, String)> = ["OK", "WARN", "FAIL", "UNK", "OK"]
        .iter()
        .enumerate()
        .map(|(i, s)| (at + i as i64, s.to_string()))
        .collect();
    assert_eq!(kept, want);
    store.close().await;
}

#[tokio::test]
async fn rows_changed_by_hand_are_not_hidden_by_what_the_writer_knows() {
    let (dir, store) = temp_store();
    let path = dir.path().join("t.db");
    let web1 = || ServerId {
        name: "web1".into(),
        key: Secret::new("k"),
    };
    let push = |state| store.push_states(web1(), true, report("disk", state));
    assert_eq!(push("OK").await.unwrap(), Ok(()));
    // By hand, from another connection: the server goes, with its services.
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("PRAGMA foreign_keys = ON; DELETE FROM servers;")
        .unwrap();
    assert_eq!(push("FAIL").await.unwrap(), Ok(()), "registered again");
    let (servers, state): (i64, String) = other
        .query_row(
            "SELECT (SELECT count(*) FROM servers), (SELECT state FROM services WHERE name = 'disk')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((servers, state.as_str()), (1, "FAIL"));
    let states: i64 = other
        .query_row("SELECT count(*) FROM service_history", [], |r| r.get(0))
        .unwrap();
    assert_eq!(states, 1, "the first report went with its server");
    // A state set by hand is the one a report is compared with.
    other
        .execute_batch("UPDATE services SET state = 'WARN'")
        .unwrap();
    assert_eq!(push("FAIL").await.unwrap(), Ok(()));
    let message: String = other
        .query_row(
            "SELECT message FROM alerts ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(message, "State changed: \"WARN\" -> \"FAIL\"");
    store.close().await;
}

#[tokio::test]
async fn reports_are_history_before_and_after_filing() {
    let (dir, store) = temp_store();
    let id = || ServerId {
        name: "web1".into(),
        key: Secret::new("k"),
    };
    for state in ["OK", "WARN", "FAIL"] {
        store
            .push_states(id(), true, report("disk", state))
            .await
            .unwrap()
            .unwrap();
    }
    let sid = store.services(None).await.unwrap()[0].id;
    let states = |h: Vec<(i64, String, String)>| h.into_iter().map(|r| r.1).collect::<Vec<_>>();
    let before = states(store.service_history(sid, 10).await.unwrap().unwrap());
    assert_eq!(before, ["FAIL", "WARN", "OK"]);
    assert_eq!(store.file_reports().await.unwrap(), 3);
    assert_eq!(store.file_reports().await.unwrap(), 0);
    store
        .push_states(id(), true, report("disk", "OK"))
        .await
        .unwrap()
        .unwrap();
    let after = states(store.service_history(sid, 10).await.unwrap().unwrap());
    assert_eq!(after, ["OK", "FAIL", "WARN", "OK"]);
    assert_eq!(
        states(store.service_history(sid, 2).await.unwrap().unwrap()),
        ["OK", "FAIL"]
    );
    // A report written by hand for no service does not hold up the others.
    store
        .push_states(id(), true, report("disk", "WARN"))
        .await
        .unwrap()
        .unwrap();
    rusqlite::Connection::open(dir.path().join("t.db"))
        .unwrap()
        .execute_batch(
            "INSERT INTO service_reports (service_id, time, state, info) VALUES (999, 0, 'OK', '')",
        )
        .unwrap();
    // Filed: the OK above and this WARN.
    assert_eq!(store.file_reports().await.unwrap(), 2);
    assert_eq!(
        states(store.service_history(sid, 1).await.unwrap().unwrap()),
        ["WARN"]
    );
    // Reports of a service removed before they are filed are dropped with it.
    store
        .push_states(id(), true, report("disk", "OK"))
        .await
        .unwrap()
        .unwrap();
    store.remove_server("web1".into()).await.unwrap();
    assert_eq!(store.file_reports().await.unwrap(), 0);
    store.close().await;
}

#[tokio::test]
async fn a_report_that_changes_only_the_time_reaches_last_report_by_the_filing() {
    let (_dir, store) = temp_store();
    let now = now_ms();
    let push = |info: &str, ago_s: i64| measured(&store, "OK", info, now - ago_s * 1000);
    let row = || {
        store.read(|c| {
            Ok(
                c.query_row("SELECT info, last_report FROM services", [], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?,
            )
        })
    };
    push("fine", 100).await.unwrap().unwrap();
    push("fine", 10).await.unwrap().unwrap();
    assert_eq!(row().await.unwrap(), ("fine".into(), now - 100_000));
    // The check for missed periods files first: 100 s ago is late, 10 s is not.
    assert!(store.mark_offline(now).await.unwrap().is_empty());
    assert_eq!(row().await.unwrap(), ("fine".into(), now - 10_000));
    // A new info is written at once.
    push("slow", 5).await.unwrap().unwrap();
    assert_eq!(row().await.unwrap(), ("slow".into(), now - 5_000));
    // Silent for longer than its period: offline.
    assert_eq!(
        store.mark_offline(now + 70_000).await.unwrap(),
        [("web1".to_string(), "disk".to_string())]
    );
    store.close().await;
}

#[tokio::test]
async fn replayed_old_reports_do_not_bring_an_offline_service_back() {
    let (_dir, store) = temp_store();
    let now = now_ms();
    let push = |state: &'static str, ago_s: i64| measured(&store, state, "", now - ago_s * 1000);
    let events = || {
        store.read(|c| {
            let mut s =
                c.prepare("SELECT event FROM alerts WHERE channel = 'plugin' ORDER BY id")?;
            let rows = s.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    };
    push("OK", 300).await.unwrap().unwrap();
    assert_eq!(store.mark_offline(now).await.unwrap().len(), 1);
    // The agent's spool replays what it measured during the outage: history, and
    // a state change is still one, but the service stays offline.
    push("OK", 200).await.unwrap().unwrap();
    push("FAIL", 150).await.unwrap().unwrap();
    assert!(store.mark_offline(now).await.unwrap().is_empty());
    assert_eq!(events().await.unwrap(), ["offline"]);
    // A report measured now brings it back, once.
    push("FAIL", 0).await.unwrap().unwrap();
    assert!(store.mark_offline(now).await.unwrap().is_empty());
    assert_eq!(events().await.unwrap(), ["offline", "online"]);
    store.close().await;
}
