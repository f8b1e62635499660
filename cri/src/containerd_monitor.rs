//! Watches the containerd connection. `RuntimeReady` follows it, and each time containerd
//! (re)appears the monitor redoes what a fresh containerd may lack: cricket's namespace and
//! the built-in pause image. Ready is reported only once both are in place.

use std::time::Duration;

use containerd_bridge::Containerd;
use tokio::sync::watch;

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

/// Starts the monitor; the receiver always holds the latest readiness.
pub fn spawn(containerd: Containerd, import_pause: bool) -> watch::Receiver<Readiness> {
    let initial = Readiness::not_ready("ContainerdConnecting", "connecting to containerd");
    let (tx, rx) = watch::channel(initial);
    tokio::spawn(run(containerd, import_pause, tx));
    rx
}

async fn run(containerd: Containerd, import_pause: bool, tx: watch::Sender<Readiness>) {
    let address = containerd.config().address.display().to_string();
    let mut retry = RETRY_FIRST;
    let mut connected = false;
    let mut pause_done = !import_pause;
    loop {
        let probe = match containerd.version(PROBE_LIMIT).await {
            Ok(version) if !connected => match containerd.ensure_namespace().await {
                Ok(()) => {
                    tracing::info!(%address, %version, "connected to containerd");
                    Ok(())
                }
                Err(e) => Err(format!("create namespace: {e}")),
            },
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        match probe {
            Ok(()) => {
                connected = true;
                // Ready means pods can start, so the built-in pause image must be in place first.
                if !pause_done {
                    if let Err(e) = crate::pause_image::ensure(&containerd).await {
                        tracing::warn!(error = %e, "could not import the built-in pause image; will retry");
                        let down = Readiness::not_ready("SandboxImageUnavailable", format!("built-in pause image: {e}"));
                        tx.send_if_modified(|r| replace(r, down));
                        tokio::time::sleep(retry).await;
                        retry = (retry * 2).min(RETRY_LAST);
                        continue;
                    }
                    pause_done = true;
                }
                retry = RETRY_FIRST;
                tx.send_if_modified(|r| replace(r, Readiness::ready()));
                tokio::time::sleep(HEALTHY_INTERVAL).await;
            }
            Err(message) => {
                if connected {
                    tracing::warn!(%address, error = %message, "lost containerd");
                }
                connected = false;
                pause_done = !import_pause;
                let down = Readiness::not_ready("ContainerdUnreachable", format!("containerd at {address}: {message}"));
                tx.send_if_modified(|r| replace(r, down));
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_LAST);
            }
        }
    }
}

/// Stores `next` and says whether it differs from what was there.
fn replace(current: &mut Readiness, next: Readiness) -> bool {
    let changed = *current != next;
    *current = next;
    changed
}
