//! `skypunchctl report`: uptime, downtime, incidents and response times per source.

use super::args::ReportArgs;
use super::{unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::{ReportInfo, ReportLine, ReportQuery, Request, Response};
use crate::domain::time::human_ms;
use crate::table::{cell, Table};

/// `report [--target ID|NAME | --server NAME [--service NAME]] [--month M | --from D --to D]`.
pub async fn run(client: &mut Client, args: &ReportArgs, out: &Out) -> Result<(), Failure> {
    let query = ReportQuery {
        target: args.target.clone(),
        server: args.server.clone(),
        service: args.service.clone(),
        month: args.month.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
    };
    let report = match client.request(&Request::Report(query)).await? {
        Response::Report(r) => r,
        other => return Err(unexpected(other)),
    };
    if out.json {
        println!("{}", serde_json::to_value(&report).unwrap_or_default());
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// The report as a table under a line that names its range.
pub fn render(report: &ReportInfo) -> String {
    let mut t = Table::list(&[
        "Source",
        "Uptime %",
        "Degraded %",
        "Downtime",
        "Incidents",
        "Longest",
        "MTTR",
        "p95 ms",
    ]);
    for r in &report.rows {
        t.row(&[
            cell(&r.source),
            uptime(r),
            r.degraded_pct.map_or("-".into(), |p| format!("{p:.3}")),
            human_ms(r.downtime_ms),
            r.incidents.to_string(),
            if r.incidents == 0 {
                "-".into()
            } else {
                human_ms(r.longest_ms)
            },
            r.mttr_ms.map_or("-".into(), human_ms),
            r.p95_ms.map_or("-".into(), |p| format!("{p:.1}")),
        ]);
    }
    format!(
        "From {} to {} ({})\n{}",
        report.from,
        report.to,
        report.time_zone,
        t.render()
    )
}

/// Uptime, saying how much of the range had no data: such time is not counted as up.
fn uptime(r: &ReportLine) -> String {
    match r.uptime_pct {
        None => "no data".into(),
        Some(p) if r.no_data_ms >= 60_000 => {
            format!("{p:.3} (no data {})", human_ms(r.no_data_ms))
        }
        Some(p) => format!("{p:.3}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_say_what_had_no_data() {
        let report = ReportInfo {
            from: "2026-11-01 00:00".into(),
            to: "2026-12-01 00:00".into(),
            time_zone: "Europe/Berlin".into(),
            rows: vec![
                ReportLine {
                    source: "api".into(),
                    uptime_pct: Some(99.5),
                    degraded_pct: Some(0.0),
                    downtime_ms: 3_600_000,
                    incidents: 2,
                    longest_ms: 2_400_000,
                    mttr_ms: Some(1_800_000),
                    p95_ms: Some(12.34),
                    no_data_ms: 86_400_000,
                    ..ReportLine::default()
                },
                ReportLine {
                    source: "web1/disk".into(),
                    ..ReportLine::default()
                },
            ],
        };
        let text = render(&report);
        assert!(text.starts_with("From 2026-11-01 00:00 to 2026-12-01 00:00 (Europe/Berlin)\n"));
        let api = text.lines().find(|l| l.starts_with("| api ")).unwrap();
        for part in [
            "99.500 (no data 1d 0h)",
            "0.000",
            "1h 00m",
            " 2 ",
            "40m 00s",
            "30m 00s",
            "12.3",
        ] {
            assert!(api.contains(part), "{part:?} in {api}");
        }
        let disk = text
            .lines()
            .find(|l| l.starts_with("| web1/disk "))
            .unwrap();
        assert!(disk.contains("no data"), "{disk}");
    }
}
