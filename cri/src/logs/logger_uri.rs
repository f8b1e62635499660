//! How cricket asks the shim for a logger, and how it reaches the logger afterwards.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The logger's arguments: the shim passes the URI's query as `key value` pairs, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggerArgs {
    /// The CRI log file.
    pub path: PathBuf,
    /// Where the logger writes its PID, for `ReopenContainerLog` (SIGUSR1).
    pub pidfile: PathBuf,
    /// The container's stdin FIFO, which the logger holds open for writing as long as the
    /// container runs, so that its stdin does not see EOF when cricket stops.
    pub stdin: Option<PathBuf>,
    /// The stdout and stderr FIFOs to drain, when cricket starts the logger itself.
    pub stdout: Option<PathBuf>,
    pub stderr: Option<PathBuf>,
    /// The attach socket to serve.
    pub attach: Option<PathBuf>,
}

impl LoggerArgs {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<LoggerArgs, String> {
        let args: Vec<String> = args.into_iter().collect();
        let (mut path, mut pidfile, mut stdin, mut stdout, mut stderr, mut attach) =
            (None, None, None, None, None, None);
        for pair in args.chunks(2) {
            match pair {
                [k, v] if k == "path" => path = Some(PathBuf::from(v)),
                [k, v] if k == "pidfile" => pidfile = Some(PathBuf::from(v)),
                [k, v] if k == "stdin" => stdin = Some(PathBuf::from(v)),
                [k, v] if k == "stdout" => stdout = Some(PathBuf::from(v)),
                [k, v] if k == "stderr" => stderr = Some(PathBuf::from(v)),
                [k, v] if k == "attach" => attach = Some(PathBuf::from(v)),
                other => return Err(format!("unexpected arguments {other:?}")),
            }
        }
        Ok(LoggerArgs {
            path: path.ok_or("no path")?,
            pidfile: pidfile.ok_or("no pidfile")?,
            stdin,
            stdout,
            stderr,
            attach,
        })
    }
}

fn encode(p: &Path) -> String {
    p.to_string_lossy()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `binary://` stdout/stderr URI that makes the shim start `logger` for a container.
pub fn logger_uri(logger: &Path, args: &LoggerArgs) -> String {
    let mut uri = format!(
        "binary://{}?path={}&pidfile={}",
        encode(logger),
        encode(&args.path),
        encode(&args.pidfile)
    );
    for (key, value) in [("stdin", &args.stdin), ("attach", &args.attach)] {
        if let Some(v) = value {
            uri.push_str(&format!("&{key}={}", encode(v)));
        }
    }
    uri
}

/// The arguments of `cricket-logger fifos`, for cricket to start it itself.
pub fn fifo_logger_args(args: &LoggerArgs) -> Vec<String> {
    let mut out = vec!["fifos".to_string()];
    let mut pair = |k: &str, v: &Path| out.extend([k.to_string(), v.display().to_string()]);
    pair("path", &args.path);
    pair("pidfile", &args.pidfile);
    for (k, v) in [
        ("stdin", &args.stdin),
        ("stdout", &args.stdout),
        ("stderr", &args.stderr),
        ("attach", &args.attach),
    ] {
        if let Some(v) = v {
            pair(k, v);
        }
    }
    out
}

/// `cricket-logger` beside the running cricket binary.
pub fn logger_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.with_file_name("cricket-logger")
}

/// Tells the logger whose PID is in `pidfile` to reopen its file (after kubelet rotated it),
/// and returns once the logger holds the file now at `log` open: kubelet's rotation, and
/// critest, expect the new file the moment ReopenContainerLog returns.
pub async fn reopen(pidfile: &Path, log: &Path, within: Duration) -> std::io::Result<()> {
    let pid: i32 =
        std::fs::read_to_string(pidfile)?.trim().parse().map_err(std::io::Error::other)?;
    let is_logger = |pid| crate::sys::signal::runs_program(pid, "cricket-logger");
    if !crate::sys::signal::send_if(pid, libc::SIGUSR1, is_logger)? {
        let what = format!("pid {pid} of {} is not a running cricket-logger", pidfile.display());
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, what));
    }
    let deadline = tokio::time::Instant::now() + within;
    while !holds_open(pid, log) {
        if tokio::time::Instant::now() >= deadline {
            let what =
                format!("the logger (pid {pid}) did not open {} within {within:?}", log.display());
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, what));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Whether process `pid` has the file now at `path` open (same device and inode).
fn holds_open(pid: i32, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(want) = std::fs::metadata(path) else {
        return false;
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten();
    fds.filter_map(|fd| std::fs::metadata(fd.path()).ok())
        .any(|m| m.dev() == want.dev() && m.ino() == want.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_round_trips_through_the_shims_pairs() {
        let args = LoggerArgs {
            path: "/var/log/pods/a b/c/0.log".into(),
            pidfile: "/run/x/logger.pid".into(),
            stdin: None,
            stdout: None,
            stderr: None,
            attach: None,
        };
        let uri = logger_uri(Path::new("/usr/bin/cricket-logger"), &args);
        assert_eq!(uri, "binary:///usr/bin/cricket-logger?path=/var/log/pods/a%20b/c/0.log&pidfile=/run/x/logger.pid");
        let shuffled =
            ["pidfile", "/run/x/logger.pid", "path", "/var/log/pods/a b/c/0.log"].map(String::from);
        assert_eq!(LoggerArgs::parse(shuffled).unwrap(), args);
        assert!(LoggerArgs::parse(["path".to_string()]).is_err());
        let with_stdin = LoggerArgs { stdin: Some("/run/x/stdin".into()), ..args };
        let uri = logger_uri(Path::new("/l"), &with_stdin);
        assert!(uri.ends_with("&stdin=/run/x/stdin"), "{uri}");
        let pairs = [
            "path",
            "/var/log/pods/a b/c/0.log",
            "pidfile",
            "/run/x/logger.pid",
            "stdin",
            "/run/x/stdin",
        ]
        .map(String::from);
        assert_eq!(LoggerArgs::parse(pairs).unwrap(), with_stdin);
    }
}
