//! `command` notifiers: OverC alert plugins, run as they are.
//!
//! The command line is split like a shell would split it and run without a shell,
//! from the configuration file's directory, in its own process group. The alert text
//! goes to its standard input; standard output and error are read while it runs (so
//! a chatty plugin never blocks on a full pipe) and their first bytes kept for the
//! log. Exit status 0 means delivered. When the time is up the whole group is killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Output kept from each stream.
const KEEP_BYTES: usize = 16 * 1024;
/// How long output is still read after the command exited (a child it left behind
/// may hold the pipes open).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);
/// Lines of output quoted in messages.
const QUOTED_LINES: usize = 3;

/// Runs `command_line` with `input` on stdin; `Ok` with a summary of its output on
/// exit status 0, `Err` naming what went wrong otherwise.
pub async fn run(
    command_line: &str,
    dir: &Path,
    timeout: Duration,
    input: &str,
) -> Result<String, String> {
    let words = shell_words::split(command_line)
        .map_err(|e| format!("command {command_line:?} cannot be split into words: {e}"))?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| "the command is empty".to_string())?;
    let path = program_path(program, dir);
    let mut child = tokio::process::Command::new(&path)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    let pid = child.id();

    let mut stdin = child.stdin.take();
    let input = input.as_bytes().to_vec();
    let writer = tokio::spawn(async move {
        if let Some(w) = stdin.as_mut() {
            // A plugin that does not read its input is not an error.
            let _ = w.write_all(&input).await;
            let _ = w.shutdown().await;
        }
    });
    let out = tokio::spawn(read_capped(child.stdout.take()));
    let err = tokio::spawn(read_capped(child.stderr.take()));

    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(format!("waiting for {} failed: {e}", path.display())),
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            Err(format!("timed out after {} s", timeout.as_secs()))
        }
    };
    writer.abort();
    let stdout = collect(out).await;
    let stderr = collect(err).await;
    let status = status?;
    if status.success() {
        return Ok(quote(&stdout, &stderr));
    }
    let how = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    };
    let said = quote(&stderr, &stdout);
    if said.is_empty() {
        Err(how)
    } else {
        Err(format!("{how}: {said}"))
    }
}

/// A program named with a relative path is found from `dir`, like a shell started
/// there would; a bare name is looked up on `PATH`.
fn program_path(program: &str, dir: &Path) -> PathBuf {
    let p = Path::new(program);
    if program.contains('/') && p.is_relative() {
        dir.join(p)
    } else {
        p.to_path_buf()
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Reads a stream to its end, keeping the first [`KEEP_BYTES`].
async fn read_capped<R: AsyncRead + Unpin>(stream: Option<R>) -> Vec<u8> {
    let Some(mut r) = stream else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = KEEP_BYTES.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

async fn collect(task: tokio::task::JoinHandle<Vec<u8>>) -> Vec<u8> {
    let abort = task.abort_handle();
    match tokio::time::timeout(DRAIN_AFTER_EXIT, task).await {
        Ok(Ok(v)) => v,
        _ => {
            abort.abort();
            Vec::new()
        }
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
    fn relative_programs_start_from_the_directory() {
        let dir = Path::new("/etc/skypunch");
        assert_eq!(
            program_path("./mail.sh", dir),
            Path::new("/etc/skypunch/./mail.sh")
        );
        assert_eq!(
            program_path("plugins/x", dir),
            Path::new("/etc/skypunch/plugins/x")
        );
        assert_eq!(program_path("mail", dir), Path::new("mail"));
        assert_eq!(program_path("/bin/true", dir), Path::new("/bin/true"));
    }

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
            Ok("hello | done".into())
        );
        assert_eq!(
            run("sh -c 'echo broken >&2; exit 3'", &dir, t, "").await,
            Err("exit status 3: broken".into())
        );
        let missing = run("./no-such-plugin", &dir, t, "").await.unwrap_err();
        assert!(missing.starts_with("cannot run "), "{missing}");
        assert!(missing.contains("No such file"), "{missing}");
        assert_eq!(
            run("sh -c 'sleep 30'", &dir, Duration::from_secs(1), "").await,
            Err("timed out after 1 s".into())
        );
        assert!(run("'unterminated", &dir, t, "").await.is_err());
    }
}
