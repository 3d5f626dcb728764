//! `skypunchctl jobs [SERVER]`, `jobs add`, `jobs remove` (SPEC §17).

use super::{expect_done, print_added, unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::{JobInfo, NewJob, Request, Response};
use crate::ctl::args::{JobsArgs, JobsCommand};
use crate::domain::time::human_ms;
use crate::table::{cell, Table};

/// `jobs ...`.
pub async fn run(client: &mut Client, args: &JobsArgs, out: &Out) -> Result<(), Failure> {
    match &args.command {
        Some(JobsCommand::Add(a)) => {
            let new = NewJob {
                name: a.name.clone(),
                server: a.server.clone(),
                period_s: a.period,
                cron: a.cron.clone(),
                tz: a.tz.clone(),
                grace_s: a.grace,
            };
            match client.request(&Request::AddJob(new)).await? {
                Response::Jobs(list) => print_added(list.first(), out, |j| j.ping_url.clone()),
                other => Err(unexpected(other)),
            }
        }
        Some(JobsCommand::Remove { id }) => {
            let msg = expect_done(client.request(&Request::RemoveJob { id: *id }).await?)?;
            out.message(&msg);
            Ok(())
        }
        None => {
            let request = Request::Jobs {
                server: args.server.clone(),
            };
            let list = match client.request(&request).await? {
                Response::Jobs(list) => list,
                other => return Err(unexpected(other)),
            };
            if out.json {
                println!("{}", serde_json::to_value(&list).unwrap_or_default());
            } else {
                print!("{}", table(&list));
            }
            Ok(())
        }
    }
}

/// `ID | Server | Job | Schedule | Grace | Last Ping | Next Due | Status | Ping URL`;
/// the status carries the latest run's time.
fn table(list: &[JobInfo]) -> String {
    let mut t = Table::list(&[
        "ID",
        "Server",
        "Job",
        "Schedule",
        "Grace",
        "Last Ping",
        "Next Due",
        "Status",
        "Ping URL",
    ]);
    for j in list {
        let status = match j.run_ms {
            Some(ms) => format!("{} (ran {})", j.status, run_time(ms)),
            None => j.status.clone(),
        };
        t.row(&[
            j.id.to_string(),
            cell(&j.server),
            cell(&j.name),
            cell(&j.schedule),
            human_ms(i64::from(j.grace_s) * 1000),
            or_never(&j.last_ping),
            or_never(&j.next_due),
            status,
            j.ping_url.clone(),
        ]);
    }
    t.render()
}

fn or_never(time: &str) -> String {
    if time.is_empty() {
        "never".into()
    } else {
        format!("{time} UTC")
    }
}

/// `850 ms`, `12.3 s`, or the spans of [`human_ms`] from a minute up.
fn run_time(ms: i64) -> String {
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        human_ms(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_the_specs_columns_and_the_run_time() {
        let text = table(&[JobInfo {
            id: 7,
            server: "db1".into(),
            name: "backup".into(),
            schedule: "0 3 * * * (UTC)".into(),
            grace_s: 3600,
            status: "OK".into(),
            run_ms: Some(12_345),
            ping_url: "http://h:5000/ping/u".into(),
            ..JobInfo::default()
        }]);
        let cols = crate::table::header_cells(&text);
        assert_eq!(
            cols,
            [
                "ID",
                "Server",
                "Job",
                "Schedule",
                "Grace",
                "Last Ping",
                "Next Due",
                "Status",
                "Ping URL"
            ]
        );
        assert!(text.contains("OK (ran 12.3 s)"), "{text}");
        assert!(text.contains("| never "), "{text}");
        assert_eq!(run_time(850), "850 ms");
        assert_eq!(run_time(125_000), "2m 05s");
    }
}
