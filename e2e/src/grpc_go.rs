//! Drives the real grpc-go client in `e2e/grpc-go-client` (Debian's grpc-go, GOPATH mode).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::process::run;

/// How the Go client dials.
#[derive(Debug, Clone, Copy)]
pub enum Dial {
    /// The bare socket path with a unix dialer: `:authority` is the path (kubelet/crictl style).
    SocketPath,
    /// The `unix://` target.
    UnixScheme,
}

/// Builds the client once per test process.
pub fn client_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("grpc-go-client/main.go");
        crate::go_build::build(&source, "grpc-go-client")
    })
}

/// Makes `calls` calls of `method` on one connection; the last reply's bytes, or the
/// client's `error code=... msg=...` line.
pub fn call(
    socket: &Path,
    dial: Dial,
    method: &str,
    request: &[u8],
    calls: usize,
) -> Result<Vec<u8>, String> {
    let hex: String = request.iter().map(|b| format!("{b:02x}")).collect();
    let mut cmd = Command::new(client_binary());
    if matches!(dial, Dial::UnixScheme) {
        cmd.arg("-unix");
    }
    cmd.arg(socket).arg(method).arg(hex).arg(calls.to_string());
    let (ok, out, err) = run(&mut cmd);
    let out = out.trim();
    if !ok {
        return Err(if out.is_empty() { err } else { out.to_string() });
    }
    (0..out.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&out[i..i + 2], 16).map_err(|e| format!("{out}: {e}")))
        .collect()
}
