//! Unit tests of recording check results and reading them back.

use super::*;

fn rec(target_id: i64, passed: bool) -> CheckRecord {
    CheckRecord {
        target_id,
        name: format!("t{target_id}"),
        request: "GET http://x/".into(),
        time_ms: now_ms(),
        verdict: if passed { Verdict::Pass } else { Verdict::Fail },
        status_code: Some(if passed { 200 } else { 503 }),
        description: if passed {
            "OK".into()
        } else {
            "target status:503 != 200".into()
        },
        response_ms: 1.5,
        network_fail: false,
        trace: std::sync::Arc::new((String::new(), crate::domain::trace::Trace::start())),
        thresholds: Thresholds::default(),
        period_ms: 60_000,
        urgent: !passed,
    }
}

#[tokio::test]
async fn the_stored_trace_is_the_latest_that_failed_or_changed_the_state() {
    let (_dir, store) = crate::store::temp_store();
    let id = store
        .write(|c| {
            c.execute(
                "INSERT INTO targets (name, url) VALUES ('t', 'http://x/')",
                [],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
        .unwrap();
    let traced = |passed: bool, header: &str| {
        let mut r = rec(id, passed);
        r.trace = std::sync::Arc::new((header.into(), crate::domain::trace::Trace::start()));
        r
    };
    let stored = || async { store.target_info(id).await.unwrap().last_trace.unwrap() };
    assert_eq!(stored().await, "", "none yet");
    store
        .record_check(traced(false, "first FAIL"))
        .await
        .unwrap();
    assert!(stored().await.contains("first FAIL"), "{}", stored().await);
    store
        .record_check(traced(true, "PASS that ends it"))
        .await
        .unwrap();
    assert!(stored().await.contains("PASS that ends it"));
    store
        .record_check(traced(true, "routine PASS"))
        .await
        .unwrap();
    assert!(stored().await.contains("PASS that ends it"), "kept");
}

#[tokio::test]
async fn a_long_batch_of_results_lets_a_waiting_write_through() {
    let (_dir, store) = crate::store::temp_store();
    // Each stored result costs a join of 300 x 300 rows: the batch runs for far
    // longer than YIELD_AFTER.
    store
        .write(|c| {
            c.execute_batch(
                "CREATE TABLE slow (x); \
                 WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300) \
                 INSERT INTO slow SELECT x FROM n; \
                 CREATE TRIGGER slow AFTER INSERT ON target_results \
                 BEGIN SELECT count(*) FROM slow a, slow b; END;",
            )?;
            for i in 1..=200 {
                c.execute(
                    "INSERT INTO targets (name, url) VALUES (?, 'http://x/')",
                    [format!("t{i}")],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let recs: std::sync::Arc<[CheckRecord]> = (1..=200).map(|id| rec(id, true)).collect();
    let batch = tokio::spawn({
        let (store, recs) = (store.clone(), recs.clone());
        async move { store.record_checks(recs, 0).await }
    });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let seen: i64 = store
        .write(|c| Ok(c.query_row("SELECT count(*) FROM target_results", [], |r| r.get(0))?))
        .await
        .unwrap();
    let part = batch.await.unwrap().unwrap();
    assert!(part.next > 0 && part.next < 200, "stopped at {}", part.next);
    assert_eq!(
        seen, part.next as i64,
        "the waiting write came right after the part"
    );
    let rest = store.record_checks(recs, part.next).await.unwrap();
    assert_eq!(rest.next, 200);
    let stored: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM target_results", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(stored, 200);
}

#[tokio::test]
async fn a_record_that_cannot_be_written_is_skipped_alone() {
    let (_dir, store) = crate::store::temp_store();
    store
        .write(|c| {
            c.execute_batch(
                "INSERT INTO targets (name, url) VALUES ('t1', 'http://x/'), ('t2', 'http://x/'), ('t3', 'http://x/');
                 CREATE TRIGGER refuse AFTER INSERT ON target_results WHEN new.target_id = 2
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let events = store
        .record_checks(vec![rec(1, false), rec(2, false), rec(3, true)].into(), 0)
        .await
        .unwrap();
    assert_eq!(events.next, 3);
    assert_eq!(
        events.events.len(),
        1,
        "t1 NEW->FAIL raised; t2 was not stored"
    );
    let stored: Vec<(i64, String, i64)> = store
        .read(|c| {
            let mut s = c.prepare(
                "SELECT t.id, t.status, (SELECT count(*) FROM target_results r WHERE r.target_id = t.id) \
                 FROM targets t ORDER BY t.id",
            )?;
            let rows = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(
        stored,
        [
            (1, "FAIL".into(), 1),
            (2, "NEW".into(), 0),
            (3, "PASS".into(), 1)
        ]
    );
    let (checks, passes): (i64, i64) = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT sum(checks), sum(passes) FROM target_hours",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!((checks, passes), (2, 1));
    let up = store.uptimes(now_ms()).await.unwrap();
    assert_eq!(up[&3].day, Some(1.0));
    assert_eq!(up[&1].month, Some(0.0));
    assert!(!up.contains_key(&2));
}
