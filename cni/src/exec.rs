//! Running one plugin command: the environment is built for this call only (the daemon's own
//! environment is never changed), the config goes to stdin, the answer comes on stdout.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::args::RuntimeConf;
use crate::error::{CniError, Result};

/// One call of one plugin.
pub struct Invocation<'a> {
    pub command: &'a str,
    pub plugin: &'a str,
    pub binary: &'a Path,
    pub conf: Option<&'a RuntimeConf>,
    pub bin_dirs: &'a [PathBuf],
    pub stdin: Vec<u8>,
    pub timeout: Duration,
}

/// The error object a failing plugin prints (CNI spec §Error).
#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    details: String,
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs the plugin; its stdout on success.
pub async fn invoke(inv: Invocation<'_>) -> Result<Vec<u8>> {
    let mut cmd = Command::new(inv.binary);
    let cni_path = std::env::join_paths(inv.bin_dirs)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into()))
        .env("CNI_COMMAND", inv.command)
        .env("CNI_PATH", cni_path);
    if let Some(rc) = inv.conf {
        cmd.env("CNI_CONTAINERID", &rc.container_id)
            .env("CNI_NETNS", &rc.netns)
            .env("CNI_IFNAME", &rc.ifname)
            .env("CNI_ARGS", rc.cni_args());
    }
    // A group of its own: a wrapper plugin's children (which may hold stdout open) go with it.
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let io_err = |what: &'static str| {
        let path = inv.binary.to_path_buf();
        move |source| CniError::Io { what, path, source }
    };
    let mut child = cmd.spawn().map_err(io_err("run plugin"))?;
    // Until the plugin has answered, a timeout or a caller that gives up (this future
    // dropped) kills its whole process group, so nothing of it is left and no pipe is waited on.
    let mut group = GroupKiller(child.id());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = inv.stdin;
    let feed = async move {
        // A plugin may exit without reading everything; that is its business.
        let _ = stdin.write_all(&input).await;
    };
    let run = async { tokio::join!(feed, child.wait_with_output()).1 };
    let output = match tokio::time::timeout(inv.timeout, run).await {
        Ok(output) => output.map_err(io_err("wait for plugin"))?,
        Err(_) => {
            return Err(CniError::Timeout {
                plugin: inv.plugin.into(),
                command: inv.command.into(),
                timeout: inv.timeout,
            })
        }
    };
    group.0 = None;
    if output.status.success() {
        return Ok(output.stdout);
    }
    Err(match serde_json::from_slice::<ErrorObject>(&output.stdout) {
        Ok(e) if !e.msg.is_empty() || e.code != 0 => CniError::Plugin {
            plugin: inv.plugin.into(),
            command: inv.command.into(),
            code: e.code,
            msg: e.msg,
            details: e.details,
        },
        _ => {
            let text = String::from_utf8_lossy(if output.stderr.is_empty() {
                &output.stdout
            } else {
                &output.stderr
            });
            CniError::Plugin {
                plugin: inv.plugin.into(),
                command: inv.command.into(),
                code: 999,
                msg: format!("{} ({})", text.trim(), output.status),
                details: String::new(),
            }
        }
    })
}

/// Kills the process group led by the plugin when dropped, unless disarmed (`None`).
struct GroupKiller(Option<u32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0) {
            // SAFETY: kill(2) takes plain integers; a negative PID names the process group the
            // plugin leads (it was started with process_group(0)), never cricket's own.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}
