//! What an operator installs: man pages that render cleanly and match the CLI, unit
//! files that systemd accepts, completions, versions.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const MAN: [&str; 4] = [
    "man/skypunchd.8",
    "man/skypunchctl.1",
    "man/skypunch-agent.1",
    "man/skypunchd.toml.5",
];

fn repo(rel: &str) -> String {
    format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap()
}

/// The man page's text as groff renders it (dashes and escapes resolved).
fn rendered(rel: &str) -> String {
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-c", "-P-b", "-P-u"])
        .arg(repo(rel))
        .output()
        .expect("groff (apt-get install groff-base)");
    String::from_utf8_lossy(&out.stdout).replace(['\u{2010}', '\u{2212}'], "-")
}

#[test]
fn man_pages_render_without_warnings() {
    for page in MAN {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(repo(page))
            .output()
            .expect("groff (apt-get install groff-base)");
        assert!(out.status.success(), "{page}: {:?}", text(&out));
        assert_eq!(text(&out).1, "", "{page} has warnings");
    }
}

/// Every subcommand and option in `--help` is documented, and the pages document
/// nothing the programs do not have.
#[test]
fn man_pages_match_the_cli() {
    let help = |bin: &str, args: &[&str]| text(&Command::new(bin).args(args).output().unwrap()).0;
    let ctl_page = rendered("man/skypunchctl.1");
    let top = help(SKYPUNCHCTL, &["--help"]);
    let commands: Vec<&str> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 6, "{commands:?}");
    for c in &commands {
        assert!(
            ctl_page.contains(c),
            "skypunchctl.1 does not document `{c}`"
        );
    }
    // `--name` words, without what follows the name (`--check-config;` -> `--check-config`).
    let options = |text: &str| -> Vec<String> {
        text.split_whitespace()
            .filter_map(|w| w.strip_prefix("--"))
            .map(|w| {
                let name: String = w
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                    .collect();
                format!("--{name}")
            })
            .filter(|w| w.len() > 2 && w != "--help" && w != "--version")
            .collect()
    };
    let add = options(&help(SKYPUNCHCTL, &["targets", "add", "--help"]));
    let add_notifier = options(&help(SKYPUNCHCTL, &["notifiers", "add", "--help"]));
    for o in [options(&top), add, add_notifier].concat() {
        assert!(ctl_page.contains(&o), "skypunchctl.1 does not document {o}");
    }
    let agent_page = rendered("man/skypunch-agent.1");
    let agent_help = help(env!("CARGO_BIN_EXE_skypunch-agent"), &["--help"]);
    for o in options(&agent_help) {
        assert!(
            agent_page.contains(&o),
            "skypunch-agent.1 does not document {o}"
        );
    }
    for c in ["ping", "service-status", "alert", "monitor"] {
        assert!(
            agent_help.contains(c) && agent_page.contains(c),
            "agent command {c}"
        );
    }
    let daemon_page = rendered("man/skypunchd.8");
    for o in options(&help(SKYPUNCHD, &["--help"])) {
        assert!(
            daemon_page.contains(&o),
            "skypunchd.8 does not document {o}"
        );
    }
    // Nothing documented that the programs refuse.
    for o in options(&daemon_page) {
        let known = help(SKYPUNCHD, &["--help"]).contains(&o);
        assert!(
            known,
            "skypunchd.8 documents {o}, which skypunchd does not have"
        );
    }
    // Every key of the configuration is in skypunchd.toml(5).
    let toml_page = rendered("man/skypunchd.toml.5");
    let example = read("etc/skypunchd.toml");
    for line in example.lines() {
        let l = line.trim_start_matches('#').trim();
        if let Some((key, _)) = l.split_once(" = ") {
            if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !key.is_empty() {
                assert!(
                    toml_page.contains(key),
                    "skypunchd.toml.5 does not document {key}"
                );
            }
        }
    }
}

#[test]
fn unit_files_pass_systemd_analyze_verify() {
    // A missing tool is a failure, not a pass: .ci/run installs it.
    let out = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .expect("systemd-analyze (apt-get install systemd)");
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    for unit in ["skypunchd.service", "skypunch-agent.service"] {
        // The units name the installed paths; point them at the built binaries.
        let unit_text = read(&format!("systemd/{unit}"))
            .replace("/usr/bin/skypunchd", SKYPUNCHD)
            .replace(
                "/usr/bin/skypunch-agent",
                env!("CARGO_BIN_EXE_skypunch-agent"),
            );
        let path = dir.path().join(unit);
        std::fs::write(&path, unit_text).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        // Only complaints about this unit count (the host's other units are not ours).
        let ours: Vec<&str> = stdout
            .lines()
            .chain(stderr.lines())
            .filter(|l| l.contains(unit) && !l.contains("Failed to load"))
            .collect();
        assert!(ours.is_empty(), "{unit}: {ours:?}");
    }
    let unit = read("systemd/skypunchd.service");
    for needed in [
        "Type=notify",
        "--foreground",
        "ExecReload=",
        "User=skypunch",
        "RuntimeDirectory=",
        "StateDirectory=",
        "LogsDirectory=",
        "ConfigurationDirectory=",
        "ProtectSystem=strict",
        "ProtectHome=",
        "PrivateTmp=",
        "NoNewPrivileges=",
        "RestrictAddressFamilies=",
    ] {
        assert!(unit.contains(needed), "skypunchd.service lacks {needed}");
    }
    // socket_group members must be able to reach the socket inside the directory.
    assert!(unit.contains("RuntimeDirectoryMode=0755"), "{unit}");
    let agent = read("systemd/skypunch-agent.service");
    assert!(
        agent.contains("User=skypunch-agent") && !agent.contains("User=skypunch\n"),
        "the agent's plugins must not run as the daemon's user: {agent}"
    );
    let postinst = read("packaging/debian/postinst");
    assert!(
        postinst.contains("skypunch-agent")
            && postinst.contains("chgrp skypunch-agent /etc/skypunch/agent.ini")
    );
    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains(r#"["etc/agent.ini", "etc/skypunch/agent.ini", "640"]"#),
        "agent.ini holds the server key"
    );
}

#[test]
fn completions_and_versions() {
    for (shell, marker) in [
        ("bash", "_skypunchctl()"),
        ("zsh", "#compdef skypunchctl"),
        ("fish", "complete -c skypunchctl"),
    ] {
        let out = Command::new(SKYPUNCHCTL)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let script = text(&out).0;
        assert!(script.contains(marker), "{shell}");
        assert!(
            script.contains("targets"),
            "{shell} completion lacks the targets verb"
        );
    }
    for bin in [SKYPUNCHD, SKYPUNCHCTL, env!("CARGO_BIN_EXE_skypunch-agent")] {
        let out = Command::new(bin).arg("--version").output().unwrap();
        let name = Path::new(bin).file_name().unwrap().to_str().unwrap();
        assert_eq!(text(&out).0.trim(), format!("{name} {}", skypunch::VERSION));
    }
}
