//! Running a helper program (a notifier's command, an agent's plugin) with a time
//! limit: in its own process group, from a given directory, with its input on stdin.
//! Standard output and error are read while it runs (so a chatty program never blocks
//! on a full pipe) and their first bytes kept. When the time is up the whole group is
//! killed, children included.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Output kept from each stream.
const KEEP_BYTES: usize = 16 * 1024;
/// How long output is still read after the program exited (a child it left behind
/// may hold the pipes open).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(1);

/// How a program ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The exit status, `None` when a signal ended it.
    pub code: Option<i32>,
    /// The first bytes of its standard output and error.
    pub stdout: Vec<u8>,
    /// The first bytes of its standard error.
    pub stderr: Vec<u8>,
}

/// Why a program did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// It could not be started; the reason names the program.
    Start(String),
    /// It ran out of time and was killed with its process group.
    TimedOut(Duration),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Start(why) => f.write_str(why),
            RunError::TimedOut(t) => write!(f, "timed out after {} s", t.as_secs()),
        }
    }
}

/// Runs `program` with `args` from `dir`, writing `input` to its standard input.
pub async fn run(
    program: &Path,
    args: &[String],
    dir: &Path,
    timeout: Duration,
    input: &[u8],
) -> Result<Finished, RunError> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| RunError::Start(format!("cannot run {}: {e}", program.display())))?;
    let pid = child.id();

    let mut stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = tokio::spawn(async move {
        if let Some(w) = stdin.as_mut() {
            // A program that does not read its input is not an error.
            let _ = w.write_all(&input).await;
            let _ = w.shutdown().await;
        }
    });
    let out = tokio::spawn(read_capped(child.stdout.take()));
    let err = tokio::spawn(read_capped(child.stderr.take()));

    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(e)) => Err(RunError::Start(format!(
            "waiting for {} failed: {e}",
            program.display()
        ))),
        Err(_) => {
            kill_group(pid);
            let _ = child.wait().await;
            Err(RunError::TimedOut(timeout))
        }
    };
    writer.abort();
    let stdout = collect(out).await;
    let stderr = collect(err).await;
    Ok(Finished {
        code: status?.code(),
        stdout,
        stderr,
    })
}

/// A program named with a relative path is found from `dir`, like a shell started
/// there would; a bare name is looked up on `PATH`.
pub fn program_path(program: &str, dir: &Path) -> PathBuf {
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

    #[tokio::test]
    async fn a_hanging_group_is_killed_at_its_timeout() {
        let dir = std::env::temp_dir();
        let started = std::time::Instant::now();
        let r = run(
            Path::new("/bin/sh"),
            &["-c".into(), "sleep 30 & sleep 30".into()],
            &dir,
            Duration::from_secs(1),
            b"",
        )
        .await;
        assert_eq!(r, Err(RunError::TimedOut(Duration::from_secs(1))));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
