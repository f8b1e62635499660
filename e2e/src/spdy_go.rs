//! Drives `e2e/spdy-go-client`, a SPDY/3.1 remote-command client on Debian's
//! moby/spdystream (the library under kubelet's and crictl's streaming): an independent
//! peer for cricket's SPDY server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::process::run;

/// Builds the client once per test process.
pub fn client_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("spdy-go-client/main.go");
        crate::go_build::build(&source, "spdy-go-client")
    })
}

/// What a session gave back: `stdout`/`stderr` bytes and the `error` stream's text.
pub type Outcome = BTreeMap<String, Vec<u8>>;

/// Runs the client against `url` with `flags` (see its usage); `Err` with its stderr if it
/// failed.
pub fn exec(url: &str, flags: &[&str]) -> Result<Outcome, String> {
    let (ok, out, err) = run(Command::new(client_binary()).args(flags).arg(url));
    if !ok {
        return Err(err);
    }
    let mut got = Outcome::new();
    for line in out.lines() {
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        let bytes = if name == "error" || name == "stdout-sha256" {
            value.as_bytes().to_vec()
        } else {
            (0..value.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap())
                .collect()
        };
        got.insert(name.to_string(), bytes);
    }
    Ok(got)
}

/// Port-forwards `connections` connections at once to `port` through `url`, each sending
/// `send`; per connection, what came back and the error stream's text.
pub fn forward(
    url: &str,
    port: u16,
    send: &str,
    connections: usize,
) -> Result<Vec<(Vec<u8>, String)>, String> {
    let args = [
        "-forward".to_string(),
        port.to_string(),
        "-send".into(),
        send.into(),
        "-connections".into(),
        connections.to_string(),
        url.into(),
    ];
    let (ok, out, err) = run(Command::new(client_binary()).args(&args));
    if !ok {
        return Err(err);
    }
    let mut got = vec![(Vec::new(), String::new()); connections];
    for line in out.lines() {
        let mut parts = line.splitn(3, ' ');
        let (kind, i, value) = (
            parts.next().unwrap_or_default(),
            parts.next().and_then(|i| i.parse::<usize>().ok()),
            parts.next().unwrap_or_default(),
        );
        let Some(i) = i.filter(|i| *i < connections) else { continue };
        match kind {
            "data" => {
                got[i].0 = (0..value.len())
                    .step_by(2)
                    .map(|j| u8::from_str_radix(&value[j..j + 2], 16).unwrap())
                    .collect()
            }
            "error" => got[i].1 = value.to_string(),
            _ => {}
        }
    }
    Ok(got)
}

/// Port-forwards one connection to `port` through `url`, sends `send`, and counts the bytes
/// the pod sends until it closes.
pub fn forward_count(url: &str, port: u16, send: &str) -> Result<u64, String> {
    let args = [
        "-forward".to_string(),
        port.to_string(),
        "-send".into(),
        send.into(),
        "-count".into(),
        url.into(),
    ];
    let (ok, out, err) = run(Command::new(client_binary()).args(&args));
    if !ok {
        return Err(err);
    }
    out.lines().find_map(|l| l.strip_prefix("data 0 ")?.trim().parse().ok()).ok_or(out)
}
