//! `command` notifiers: OverC alert plugins, run as they are.
//!
//! The command line is split like a shell would split it and run without a shell,
//! from the configuration file's directory (see [`crate::process`]). The alert text
//! goes to its standard input; exit status 0 means delivered; the first lines of its
//! output are kept for the log.

use crate::process::{self, RunError};
use std::path::Path;
use std::time::Duration;

/// Lines of output quoted in messages.
const QUOTED_LINES: usize = 3;

/// Runs `command_line` with `input` on stdin; `Ok` with a summary of its output on
/// exit status 0, `Err` naming what went wrong otherwise.
pub async fn run(
    command_line: &str,
    dir: &Path,
    timeout: Duration,
    input: &str,
) -> Result<String, super::Undelivered> {
    let words = shell_words::split(command_line)
        .map_err(|e| format!("command {command_line:?} cannot be split into words: {e}"))?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| "the command is empty".to_string())?;
    let path = process::program_path(program, dir);
    let done = process::run(&path, args, dir, timeout, input.as_bytes())
        .await
        .map_err(|e: RunError| e.to_string())?;
    if done.code == Some(0) {
        let said = quote(&done.stdout, &done.stderr);
        return Ok(if said.is_empty() {
            "exit status 0".to_string()
        } else {
            format!("exit status 0: {said}")
        });
    }
    let how = match done.code {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    };
    let said = quote(&done.stderr, &done.stdout);
    if said.is_empty() {
        Err(how.into())
    } else {
        Err(format!("{how}: {said}").into())
    }
}

/// The first lines of the first stream that has any, joined with ` | `.
fn quote(first: &[u8], second: &[u8]) -> String {
    let text = if first.iter().any(|b| !b.is_ascii_whitespace()) {
        first
    } else {
        second
    };
    String::from_utf8_lossy(text)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(QUOTED_LINES)
        .map(|l| l.chars().take(200).collect::<String>())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_prefer_the_first_stream_with_text() {
        assert_eq!(quote(b"  \n", b"a\n\nb\nc\nd\n"), "a | b | c");
        assert_eq!(quote(b"x\n", b"y"), "x");
        assert_eq!(quote(b"", b""), "");
    }

    #[tokio::test]
    async fn runs_with_stdin_and_reports_failures() {
        let dir = std::env::temp_dir();
        let t = Duration::from_secs(5);
        assert_eq!(
            run("sh -c 'cat; echo done'", &dir, t, "hello\n").await,
            Ok("exit status 0: hello | done".into())
        );
        assert_eq!(
            run("sh -c 'echo broken >&2; exit 3'", &dir, t, "").await,
            Err(String::from("exit status 3: broken").into())
        );
        let missing = run("./no-such-plugin", &dir, t, "")
            .await
            .unwrap_err()
            .reason;
        assert!(missing.starts_with("cannot run "), "{missing}");
        assert!(missing.contains("No such file"), "{missing}");
        assert_eq!(
            run("sh -c 'sleep 30'", &dir, Duration::from_secs(1), "").await,
            Err(String::from("timed out after 1 s").into())
        );
        assert!(run("'unterminated", &dir, t, "").await.is_err());
    }
}
