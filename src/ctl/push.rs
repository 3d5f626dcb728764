//! `skypunchctl servers`, `services` and `alerts`.

use super::{expect_done, unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::{Request, Response};
use crate::ctl::args::{ServersArgs, ServersCommand};
use crate::store::push::{AlertInfo, ServerInfo, ServiceInfo};
use crate::table::{cell, Table};

/// `servers ...`.
pub async fn servers(client: &mut Client, args: &ServersArgs, out: &Out) -> Result<(), Failure> {
    match &args.command {
        Some(ServersCommand::Add { name }) => {
            match client
                .request(&Request::AddServer { name: name.clone() })
                .await?
            {
                Response::ServerAdded { name, key } if out.json => {
                    println!("{}", serde_json::json!({ "name": name, "key": key }));
                }
                Response::ServerAdded { name, key } => {
                    println!("Server: {name} has been added; its key (shown only now) is: {key}");
                }
                other => return Err(unexpected(other)),
            }
            Ok(())
        }
        Some(ServersCommand::Remove { name }) => {
            let msg = expect_done(
                client
                    .request(&Request::RemoveServer { name: name.clone() })
                    .await?,
            )?;
            out.message(&msg);
            Ok(())
        }
        None => {
            let list: Vec<ServerInfo> = match client
                .request(&Request::Servers {
                    name: args.name.clone(),
                })
                .await?
            {
                Response::Servers(s) => s,
                other => return Err(unexpected(other)),
            };
            if out.json {
                println!("{}", serde_json::to_value(&list).unwrap_or_default());
                return Ok(());
            }
            let mut t = Table::list(&[
                "ID",
                "Name",
                "Registered",
                "Created",
                "Services",
                "Last Report",
            ]);
            for s in &list {
                let how = if s.origin == "cli" {
                    "skypunchctl"
                } else {
                    "first report"
                };
                t.row(&[
                    s.id.to_string(),
                    cell(&s.name),
                    how.to_string(),
                    s.created.clone(),
                    s.services.to_string(),
                    s.last_report.clone(),
                ]);
            }
            print!("{}", t.render());
            Ok(())
        }
    }
}

/// `services [SERVER]`: `Server | Service | State | Info | Period | Last Report | Online`.
pub async fn services(
    client: &mut Client,
    server: Option<String>,
    out: &Out,
) -> Result<(), Failure> {
    let list: Vec<ServiceInfo> = match client.request(&Request::Services { server }).await? {
        Response::Services(s) => s,
        other => return Err(unexpected(other)),
    };
    if out.json {
        println!("{}", serde_json::to_value(&list).unwrap_or_default());
        return Ok(());
    }
    let mut t = Table::list(&[
        "Server",
        "Service",
        "State",
        "Info",
        "Period",
        "Last Report",
        "Online",
    ]);
    for s in &list {
        t.row(&[
            cell(&s.server),
            cell(&s.name),
            s.state.clone(),
            cell(&truncate(&s.info, 60)),
            s.period.to_string(),
            s.last_report.clone(),
            if s.timed_out { "No" } else { "Yes" }.to_string(),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// `alerts [--since D] [--limit N]`.
pub async fn alerts(
    client: &mut Client,
    since: Option<&str>,
    limit: u32,
    out: &Out,
) -> Result<(), Failure> {
    let since_ms = match since {
        Some(d) => Some(crate::store::now_ms() - duration_ms(d).map_err(Failure::usage)?),
        None => None,
    };
    let list: Vec<AlertInfo> = match client.request(&Request::Alerts { since_ms, limit }).await? {
        Response::Alerts(a) => a,
        other => return Err(unexpected(other)),
    };
    if out.json {
        println!("{}", serde_json::to_value(&list).unwrap_or_default());
        return Ok(());
    }
    let mut t = Table::list(&["ID", "Time", "Source", "Channel/Event", "Message"]);
    for a in &list {
        let source = if a.target.is_empty() {
            format!("{} {}", a.server, a.service).trim().to_string()
        } else {
            a.target.clone()
        };
        t.row(&[
            a.id.to_string(),
            a.time.clone(),
            cell(&source),
            format!("{}/{}", a.channel, a.event),
            cell(&truncate(&a.message, 80)),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// `30s`, `10m`, `2h`, `7d` (a bare number is seconds) into milliseconds.
pub fn duration_ms(d: &str) -> Result<i64, String> {
    let d = d.trim();
    let (num, unit) = d.split_at(d.find(|c: char| !c.is_ascii_digit()).unwrap_or(d.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("--since {d:?}: expected a duration like 30s, 10m, 2h or 7d"))?;
    let scale = match unit {
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("--since {d:?}: the unit must be s, m, h or d")),
    };
    Ok(n.saturating_mul(scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("30s"), Ok(30_000));
        assert_eq!(duration_ms("10m"), Ok(600_000));
        assert_eq!(duration_ms("2h"), Ok(7_200_000));
        assert_eq!(duration_ms("7d"), Ok(604_800_000));
        assert_eq!(duration_ms("45"), Ok(45_000));
        assert!(duration_ms("soon").is_err());
        assert!(duration_ms("5y").is_err());
    }
}
