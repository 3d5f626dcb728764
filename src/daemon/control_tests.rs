use super::*;

#[test]
fn a_target_row_never_encodes_larger_than_the_store_bounds_it() {
    let long = "é".repeat(200);
    for (n, text) in [
        (0, ""),
        (250, "x"),
        (251, &*long),
        (-1, "web"),
        (70_000, &*long),
        (i64::MAX, &*long),
        (i64::MIN, "ü"),
    ] {
        let row = crate::store::targets::TargetInfo {
            id: n,
            name: text.to_string(),
            status: "PASS".into(),
            status_description: text.repeat(2),
            last_updated: "2026-11-30 11:00:00".into(),
            enabled: true,
            url: format!("http://127.0.0.1/{text}"),
            method: "GET".into(),
            auth_type: "NONE".into(),
            expect_status: 200,
            frequency: n,
            timeout: 10,
            pass_count: n,
            fail_count: n.wrapping_neg(),
            warn_count: 0,
            count200: n / 3,
            count300: 0,
            count400: 0,
            count500: 0,
            network_fails: n,
            repeated_fails: 0,
            last_trace: (n % 2 == 0).then(|| text.to_string()),
        };
        let line = crate::store::targets::TargetLine {
            id: row.id,
            name: row.name.clone(),
            status: row.status.clone(),
            last_updated: row.last_updated.clone(),
            enabled: row.enabled,
            pass_count: row.pass_count,
            fail_count: row.fail_count,
        };
        let line_bound = line.encoded_bound();
        let line_encoded = crate::control::codec::encode(&TargetLine::from(line)).unwrap();
        assert!(line_encoded.len() <= line_bound && line_bound - line_encoded.len() <= 4);
        let bound = row.encoded_bound();
        let encoded = crate::control::codec::encode(&TargetInfo::from(row)).unwrap();
        assert!(
            encoded.len() <= bound,
            "{} > {bound} for {n}",
            encoded.len()
        );
        // Tight enough to fill a frame: within a few bytes of the truth.
        assert!(
            bound - encoded.len() <= 8,
            "{} vs {bound} for {n}",
            encoded.len()
        );
    }
}
