//! `skypunchctl servers`, `services` and `alerts`.

use super::{all_pages, expect_done, silences, unexpected, Failure, Out};
use crate::control::client::Client;
use crate::control::protocol::{AlertInfo, ServerInfo, ServiceInfo};
use crate::control::protocol::{Request, Response};
use crate::ctl::args::{ServersArgs, ServersCommand};
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
            if let (Some(_), [one]) = (&args.name, list.as_slice()) {
                println!(
                    "Ping key: {} (slug ping URLs: <base>/ping/{}/<job>)",
                    one.ping_key, one.ping_key
                );
            }
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
    // Page by page: a long list, or long infos, do not fit one frame.
    let list = all_pages(
        client,
        |last: Option<&ServiceInfo>| Request::Services {
            server: server.clone(),
            after: last.map(|s| (s.server.clone(), s.name.clone())),
        },
        |answer| match answer {
            Response::Services(page) => Ok(page),
            other => Err(unexpected(other)),
        },
    )
    .await?;
    let quiet = silences::quiet(client).await?;
    let marks = |s: &ServiceInfo| quiet.of_service(s.id, &s.server, &s.name);
    if out.json {
        let all: Vec<serde_json::Value> = list
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                marks(s).add_to(&mut v);
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
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
            silences::marked(&s.state, &marks(s)),
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
        Some(d) => Some(
            crate::domain::time::now_ms()
                - crate::domain::time::duration_ms(d)
                    .map_err(|e| Failure::usage(format!("--since {e}")))?,
        ),
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
    let mut t = Table::list(&["ID", "Time", "Source", "Channel/Event", "Message", "Marks"]);
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
            cell(&marks(a)),
        ]);
    }
    print!("{}", t.render());
    Ok(())
}

/// What else is worth knowing of an alert: `suppressed: parent target:router is FAIL`,
/// `grouped (499)`, `flapping`.
fn marks(a: &AlertInfo) -> String {
    let mut marks = Vec::new();
    if !a.suppressed.is_empty() {
        marks.push(format!("suppressed: {}", a.suppressed));
    }
    if a.group_size > 1 {
        marks.push(format!("grouped ({})", a.group_size));
    }
    // Targets say FLAPPING, pushed services (OverC's lower-case events) flapping.
    if a.event.eq_ignore_ascii_case("flapping") {
        marks.push("flapping".to_string());
    }
    marks.join(", ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        s.chars().take(max - 1).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_say_suppressed_grouped_and_flapping() {
        let a = AlertInfo {
            suppressed: "parent target:router is FAIL".into(),
            group_size: 12,
            event: "flapping".into(),
            ..AlertInfo::default()
        };
        assert_eq!(
            marks(&a),
            "suppressed: parent target:router is FAIL, grouped (12), flapping"
        );
        let alone = AlertInfo {
            group_size: 1,
            event: "FAILURE".into(),
            ..AlertInfo::default()
        };
        assert_eq!(marks(&alone), "");
    }
}
