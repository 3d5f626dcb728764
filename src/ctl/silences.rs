//! `skypunchctl silence add|list|remove` and `skypunchctl ack` (SPEC §15).

use super::{expect_done, print_added, unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::{NewSilence, QuietInfo, Request, Response, SilenceInfo};
use crate::control::quiet::Marks;
use crate::ctl::args::{SilenceArgs, SilenceCommand};
use crate::domain::time::now_ms;
use crate::table::{cell, Table};

/// `silence ...`.
pub async fn run(client: &mut Client, args: &SilenceArgs, out: &Out) -> Result<(), Failure> {
    match &args.command {
        SilenceCommand::Add(a) => {
            let tz = jiff::tz::TimeZone::system();
            let ends = crate::domain::quiet::silence_end(
                a.for_.as_deref(),
                a.until.as_deref(),
                now_ms(),
                &tz,
            )
            .map_err(|e| Failure::usage(e.to_string()))?;
            let new = NewSilence {
                target: a.target.clone(),
                server: a.server.clone(),
                service: a.service.clone(),
                matcher: a.matcher.clone(),
                ends_ms: ends,
                comment: a.comment.clone(),
            };
            match client.request(&Request::AddSilence(new)).await? {
                Response::Silences(list) => print_added(list.first(), out, |s| s.id.to_string()),
                other => Err(unexpected(other)),
            }
        }
        SilenceCommand::List { all } => {
            let list = match client.request(&Request::Silences { all: *all }).await? {
                Response::Silences(list) => list,
                other => return Err(unexpected(other)),
            };
            if out.json {
                println!("{}", serde_json::to_value(&list).unwrap_or_default());
            } else {
                print!("{}", table(&list));
            }
            Ok(())
        }
        SilenceCommand::Remove { id } => {
            let msg = expect_done(client.request(&Request::RemoveSilence { id: *id }).await?)?;
            out.message(&msg);
            Ok(())
        }
    }
}

/// `ack ALERT_ID [--comment TEXT]`.
pub async fn ack(client: &mut Client, alert: i64, comment: &str, out: &Out) -> Result<(), Failure> {
    let msg = expect_done(
        client
            .request(&Request::Ack {
                alert,
                comment: comment.to_string(),
            })
            .await?,
    )?;
    out.message(&msg);
    Ok(())
}

/// What keeps alerts quiet now, for the `Silenced` / `Acked` markers.
pub async fn quiet(client: &mut Client) -> Result<QuietInfo, Failure> {
    match client.request(&Request::Quiet).await? {
        Response::Quiet(q) => Ok(q),
        other => Err(unexpected(other)),
    }
}

/// A state with its marker: `FAIL (Acked)`, `PASS (Silenced)`, or the state alone.
pub fn marked(state: &str, marks: &Marks) -> String {
    let mut out = state.to_string();
    mark(&mut out, marks);
    out
}

/// As [`marked`], in place: a state that is not quiet is left as it is.
pub fn mark(state: &mut String, marks: &Marks) {
    match marks.marker() {
        "" => {}
        m => {
            state.push_str(" (");
            state.push_str(m);
            state.push(')');
        }
    }
}

/// `ID | Matches | Starts | Ends | Comment | Created By`; a silence no longer in
/// force says so after its end.
fn table(list: &[SilenceInfo]) -> String {
    let mut t = Table::list(&["ID", "Matches", "Starts", "Ends", "Comment", "Created By"]);
    for s in list {
        let ends = match s.state.as_str() {
            "active" => format!("{} UTC", s.ends),
            state => format!("{} UTC ({state})", s.ends),
        };
        t.row(&[
            &s.id.to_string(),
            &cell(&s.matches),
            &format!("{} UTC", s.starts),
            &ends,
            &cell(&s.comment),
            &cell(&s.created_by),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_the_specs_columns() {
        let text = table(&[
            SilenceInfo {
                id: 3,
                matches: "server:db*".into(),
                starts: "2026-11-30 12:00:00".into(),
                ends: "2026-11-30 14:00:00".into(),
                comment: "patching".into(),
                created_by: "alice".into(),
                state: "active".into(),
            },
            SilenceInfo {
                id: 2,
                state: "removed".into(),
                ends: "2026-11-30 11:00:00".into(),
                ..SilenceInfo::default()
            },
        ]);
        let cols = crate::table::header_cells(&text);
        assert_eq!(
            cols,
            ["ID", "Matches", "Starts", "Ends", "Comment", "Created By"]
        );
        assert!(text.contains("| 3  | server:db* |"), "{text}");
        assert!(text.contains("2026-11-30 11:00:00 UTC (removed)"), "{text}");
    }
}
