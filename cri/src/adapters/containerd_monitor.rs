//! Watches the containerd connection. `RuntimeReady` follows it: each time containerd
//! (re)appears the monitor creates cricket's namespace if missing and runs the recovery steps
//! (sandbox image, stores), and only then reports ready.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::context::Context;

/// Whether a dependency is usable, and if not, why (a CRI `RuntimeCondition` in the making).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub reason: String,
    pub message: String,
}

impl Readiness {
    pub fn ready() -> Self {
        Readiness { ready: true, reason: String::new(), message: String::new() }
    }

    pub fn not_ready(reason: &str, message: impl Into<String>) -> Self {
        Readiness { ready: false, reason: reason.to_string(), message: message.into() }
    }
}

/// How often a healthy containerd is probed.
const HEALTHY_INTERVAL: Duration = Duration::from_secs(1);
/// Retry delays while containerd is unreachable: from the first to the last, doubling.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_LAST: Duration = Duration::from_secs(2);
/// A probe that takes longer than this counts as containerd being down.
const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// The readiness channel, starting as "connecting".
pub fn channel() -> (watch::Sender<Readiness>, watch::Receiver<Readiness>) {
    watch::channel(Readiness::not_ready("ContainerdConnecting", "connecting to containerd"))
}

/// Starts the monitor for `ctx`, reporting through `tx`.
pub fn spawn(ctx: Arc<Context>, tx: watch::Sender<Readiness>) {
    tokio::spawn(run(ctx, tx));
}

async fn run(ctx: Arc<Context>, tx: watch::Sender<Readiness>) {
    let address = ctx.containerd.config().address.display().to_string();
    let mut retry = RETRY_FIRST;
    let mut prepared = false;
    let mut first = true;
    loop {
        let readiness = if prepared {
            match ctx.containerd.version(PROBE_LIMIT).await {
                Ok(_) => Readiness::ready(),
                Err(e) => {
                    tracing::warn!(%address, error = %e, "lost containerd");
                    prepared = false;
                    unreachable(&address, e)
                }
            }
        } else {
            match prepare(&ctx, &address, first).await {
                Ok(()) => {
                    prepared = true;
                    first = false;
                    Readiness::ready()
                }
                Err(r) => r,
            }
        };
        let ready = readiness.ready;
        tx.send_if_modified(|current| replace(current, readiness));
        if ready {
            retry = RETRY_FIRST;
            tokio::time::sleep(HEALTHY_INTERVAL).await;
        } else {
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(RETRY_LAST);
        }
    }
}

/// Connects, makes the namespace and runs recovery.
async fn prepare(ctx: &Arc<Context>, address: &str, first: bool) -> Result<(), Readiness> {
    let version = ctx.containerd.version(PROBE_LIMIT).await.map_err(|e| unreachable(address, e))?;
    ctx.containerd.ensure_namespace().await.map_err(|e| unreachable(address, e))?;
    crate::recovery::after_connect(ctx, first).await?;
    match containerd_bridge::ContainerdVersion::parse(&version).map(|v| v.support()) {
        Some(containerd_bridge::Support::Supported) => {}
        Some(containerd_bridge::Support::EndOfLife) => {
            tracing::info!(%version, "this containerd release line is past its end of life upstream; 2.x is current")
        }
        Some(containerd_bridge::Support::TooOld) => {
            tracing::warn!(%version, "containerd older than 1.6 is not supported")
        }
        Some(containerd_bridge::Support::Untested) | None => {
            tracing::warn!(%version, "cricket is not tested on this containerd version")
        }
    }
    tracing::info!(%address, %version, "connected to containerd; ready");
    Ok(())
}

fn unreachable(address: &str, e: impl std::fmt::Display) -> Readiness {
    Readiness::not_ready("ContainerdUnreachable", format!("containerd at {address}: {e}"))
}

/// Stores `next` and says whether it differs from what was there.
fn replace(current: &mut Readiness, next: Readiness) -> bool {
    let changed = *current != next;
    *current = next;
    changed
}
