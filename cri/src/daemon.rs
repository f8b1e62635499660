//! `cricket serve`: set up from the config, serve until SIGTERM/SIGINT, leave containers running.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use containerd_bridge::{Containerd, ContainerdConfig};

use crate::config::{Config, ConfigError};
use crate::context::Context;

/// How long in-flight calls may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why `serve` stopped early; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Startup(String),
}

/// Creates the directories the config names; an unusable one is a config error on its key.
pub fn prepare_directories(config: &Config, file: &Path) -> Result<(), ConfigError> {
    for (key, dir) in [("root_dir", &config.root_dir), ("state_dir", &config.state_dir)] {
        std::fs::create_dir_all(dir).map_err(|e| ConfigError::Key {
            file: file.into(),
            key: key.into(),
            detail: format!("cannot create {}: {e}", dir.display()),
        })?;
    }
    Ok(())
}

pub fn serve(config: Config, config_file: &Path) -> Result<(), ServeError> {
    let started = Instant::now();
    crate::tracing_setup::init(&config.log_level, config.log_format);
    prepare_directories(&config, config_file)?;
    crate::sys::memory::limit_arenas();
    if let Err(e) = crate::sys::process::raise_open_files_limit() {
        tracing::warn!(error = %e, "could not raise the limit on open files");
    }
    let runtime = |name: &str| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(name)
            .enable_all()
            .build()
            .map_err(|e| ServeError::Startup(format!("start the async runtime {name}: {e}")))
    };
    // gRPC, streaming and the event loops on one; the lifecycle RPCs' work on the other.
    let (serving, lifecycle) = (runtime("cricket")?, runtime("cricket-life")?);
    crate::detached::run_lifecycle_on(lifecycle.handle().clone());
    let served = serving.block_on(run(config, started));
    lifecycle.shutdown_background();
    served
}

async fn run(config: Config, started: Instant) -> Result<(), ServeError> {
    // Listening from the start: a SIGTERM during start-up (systemd stopping a unit that just
    // said READY) must stop cricket gracefully, not by the default action.
    let stop = stop_signal();
    let (listener, guard) =
        crate::server::bind(&config.listen).map_err(|e| ServeError::Startup(e.to_string()))?;
    let containerd = Containerd::new(ContainerdConfig {
        address: config.containerd.address.clone(),
        namespace: config.containerd.namespace.clone(),
        snapshotter: config.containerd.snapshotter.clone(),
    })
    .map_err(|e| ServeError::Startup(e.to_string()))?;
    let (readiness_tx, readiness) = crate::adapters::containerd_monitor::channel();
    let ctx = Arc::new(Context::new(Arc::new(config), containerd, readiness));
    // Asked now, answered by the time kubelet first asks; serving does not wait for it.
    drop(tokio::task::spawn_blocking(crate::runtime::runc_features::probe));
    let streaming = crate::streaming::start(ctx.clone()).await.map_err(|e| {
        let s = &ctx.config.streaming;
        ServeError::Startup(format!("streaming server on {}:{}: {e}", s.address, s.port))
    })?;
    tracing::info!(address = %streaming, "streaming server listening");
    if !ctx.config.metrics.address.is_empty() {
        let at = crate::daemon_metrics::serve(&ctx.config.metrics.address, ctx.metrics.clone())
            .await
            .map_err(|e| {
                ServeError::Startup(format!(
                    "metrics endpoint on {}: {e}",
                    ctx.config.metrics.address
                ))
            })?;
        tracing::info!(address = %at, "metrics endpoint listening");
    }
    crate::adapters::containerd_monitor::spawn(ctx.clone(), readiness_tx);
    tracing::info!(socket = %guard.path.display(), version = crate::VERSION, startup_ms = started.elapsed().as_millis() as u64, "cricket is serving");

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(crate::server::serve(listener, ctx.clone(), async {
        let _ = stop_rx.await;
    }));
    // The socket is bound and the server spawned: connections are accepted from here on.
    crate::sd_notify::notify("READY=1");
    tokio::select! {
        result = &mut server => return finished(result),
        signal = stop => tracing::info!(%signal, "stopping: no new calls, finishing the ones in flight"),
    }
    crate::sd_notify::notify("STOPPING=1");
    let _ = stop_tx.send(());
    // Event streams never end by themselves; kubelet reconnects to the next cricket.
    ctx.container_events.close();
    match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
        Ok(result) => finished(result)?,
        Err(_) => tracing::warn!("calls still in flight after {SHUTDOWN_GRACE:?}; exiting anyway"),
    }
    drop(guard);
    tracing::info!("stopped; containers keep running");
    Ok(())
}

fn finished(
    result: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>,
) -> Result<(), ServeError> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServeError::Startup(format!("gRPC server: {e}"))),
        Err(e) => Err(ServeError::Startup(format!("gRPC server task: {e}"))),
    }
}

/// Registers for SIGTERM and SIGINT now; the future resolves with the first that arrives.
fn stop_signal() -> impl std::future::Future<Output = &'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let listeners = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        let (Ok(mut term), Ok(mut int)) = listeners else {
            tracing::error!("cannot listen for SIGTERM/SIGINT; serving until killed");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
}
