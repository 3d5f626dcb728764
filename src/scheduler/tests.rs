//! Unit tests of the scheduler.

use super::*;
use crate::probe::Trace;

fn result(target_id: i64, urgent: bool) -> CheckRecord {
    CheckRecord {
        target_id,
        name: format!("t{target_id}"),
        request: "GET http://127.0.0.1/".into(),
        time_ms: 0,
        verdict: if urgent { Verdict::Fail } else { Verdict::Pass },
        status_code: Some(200),
        description: "OK".into(),
        response_ms: 1.0,
        network_fail: false,
        trace: Arc::new((String::new(), Trace::start())),
        thresholds: crate::domain::supervise::Thresholds::default(),
        period_ms: 60_000,
        urgent,
    }
}

#[tokio::test]
async fn routine_results_wait_for_company_and_urgent_ones_do_not() {
    let (tx, mut rx) = mpsc::channel(16);
    tx.send(result(1, false)).await.unwrap();
    let mut batch = Vec::new();
    rx.recv_many(&mut batch, RESULT_BATCH).await;
    let started = std::time::Instant::now();
    let late = tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        late.send(result(2, false)).await.unwrap();
    });
    gather(&mut rx, &mut batch).await;
    assert!(started.elapsed() >= RESULT_LINGER);
    assert_eq!(batch.len(), 2, "the result sent meanwhile joined the batch");

    let mut batch = Vec::new();
    tx.send(result(3, false)).await.unwrap();
    rx.recv_many(&mut batch, RESULT_BATCH).await;
    let started = std::time::Instant::now();
    let urgent = tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        urgent.send(result(4, true)).await.unwrap();
    });
    gather(&mut rx, &mut batch).await;
    assert!(started.elapsed() < RESULT_LINGER, "{:?}", started.elapsed());
    assert_eq!(batch.len(), 2);
}

#[tokio::test]
async fn checks_beyond_the_limit_pass_their_tick_over_instead_of_waiting() {
    // A peer that accepts and never answers: every check stays in flight.
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", peer.local_addr().unwrap());
    let (_dir, store) = crate::store::temp_store();
    let (results, _pending) = mpsc::channel(RESULT_QUEUE);
    let shared = Arc::new(Shared {
        prober: Arc::new(Prober::new()),
        permits: Arc::new(Semaphore::new(2)),
        limit: 2,
        last: Arc::new(LastChecks::default()),
        results,
    });
    let mut slots = HashMap::new();
    let due = Instant::now();
    let mut queue = Due::new(due, FIRING_STEP);
    for id in 1..=5 {
        let row = TargetRow {
            timeout: 30,
            options: String::new(),
            ..TargetRow::of_url(id, &format!("t{id}"), &url)
        };
        let def = Arc::new(TargetDef::from_row(&row));
        let running = Arc::new(AtomicBool::new(false));
        let (fingerprint, generation) = (0, 0);
        slots.insert(
            id,
            Slot {
                fingerprint,
                def,
                running,
                generation,
            },
        );
        queue.push(due, id, 0);
    }
    let tracker = TaskTracker::new();
    let mut crowded = Crowded::default();
    fire_due(&shared, &mut slots, &mut queue, &tracker, &mut crowded);
    assert_eq!(tracker.len(), 2, "only as many tasks as permits");
    let running = slots.values().filter(|s| s.running.load(Ordering::Acquire));
    assert_eq!(running.count(), 2);
    assert_eq!(queue.len(), 5, "every target keeps its next tick");
    assert!(crowded.logged.is_some(), "the passed-over ticks are logged");
    drop(store);
}

#[test]
fn first_offsets_stay_in_the_period_and_spread() {
    let mut buckets = [0usize; 10];
    for id in 1..=10_000 {
        let o = first_offset(id, 1);
        assert!(o < Duration::from_secs(1));
        buckets[(o.as_millis() / 100) as usize] += 1;
    }
    // Every tenth of the period gets roughly a tenth of the targets.
    assert!(
        buckets.iter().all(|&n| (800..1200).contains(&n)),
        "{buckets:?}"
    );
    assert!(first_offset(7, 60) < Duration::from_secs(60));
}

#[test]
fn ticks_stay_on_the_grid() {
    let t0 = Instant::now();
    let p = Duration::from_secs(1);
    assert_eq!(next_tick(t0, p, t0), (t0 + p, 0));
    // Late by 300 ms: the next tick is still first + 1 s.
    assert_eq!(
        next_tick(t0, p, t0 + Duration::from_millis(300)),
        (t0 + p, 0)
    );
    // Late by 2.5 periods: two ticks are passed over, the grid is kept.
    assert_eq!(
        next_tick(t0, p, t0 + Duration::from_millis(2500)),
        (t0 + 3 * p, 2)
    );
}
