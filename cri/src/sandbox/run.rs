//! RunPodSandbox: validate everything first, then the pinned namespaces, CNI ADD (concurrently
//! with the sandbox's containerd record and, if it has one, its pause task, which need only the
//! netns), and the status last; any failure undoes every finished step in reverse.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::api::v1::{
    ContainerEventType, NamespaceMode, PodSandboxConfig, RunPodSandboxRequest,
    RunPodSandboxResponse,
};
use base64::Engine;
use containerd_bridge::{NewContainer, TaskIo};
use prost::Message;

use super::network::{detach, runtime_conf};
use super::persist;
use crate::adapters::namespace_pins::{Kind, PodNamespaces};
use crate::config::PauseMode;
use crate::context::Context;
use crate::detached::CallerGone;
use crate::error::{from_bridge, from_cni, Error};
use crate::labels;
use crate::spec::{sandbox_spec, SandboxSpecOptions};
use crate::store::sandboxes::{name_key, Sandbox, SandboxMetadata, SandboxState, SandboxStatus};

/// Everything checked and computed before the first side effect.
struct Plan {
    meta: SandboxMetadata,
    host_network: bool,
    etc_files: crate::spec::EtcFiles,
    /// The pod's own /dev/shm; `None` with the node's IPC namespace.
    shm: Option<PathBuf>,
    config: Arc<PodSandboxConfig>,
    name_key: String,
    netns: Option<PathBuf>,
    /// The namespaces to create and pin (the netns always, IPC and UTS without a pause).
    pins: PodNamespaces,
    spec: Vec<u8>,
    parent_chain: String,
    runtime_type: String,
    runtime_options: Option<prost_types::Any>,
    /// Labels of the pause's rootfs snapshot (its ID shift in a user namespace).
    rootfs_labels: HashMap<String, String>,
}

/// What has been done so far, to undo on failure.
#[derive(Default)]
struct Done {
    pins: Vec<PathBuf>,
    attached: Option<(String, cni::RuntimeConf)>,
    container: bool,
}

fn plan(
    ctx: &Context,
    req: RunPodSandboxRequest,
    userns: Option<super::userns::IdMappings>,
) -> Result<Plan, Error> {
    let config = req.config.ok_or_else(|| Error::invalid("config", "missing"))?;
    let m = config.metadata.clone().ok_or_else(|| Error::invalid("config.metadata", "missing"))?;
    for (field, value) in [("name", &m.name), ("namespace", &m.namespace), ("uid", &m.uid)] {
        if value.is_empty() {
            return Err(Error::invalid(format!("config.metadata.{field}"), "empty"));
        }
    }
    if !config.log_directory.is_empty() && !config.log_directory.starts_with('/') {
        return Err(Error::invalid(
            "config.log_directory",
            format!("{:?} is not absolute", config.log_directory),
        ));
    }
    let handler = super::handler::handler(ctx, &req.runtime_handler)?;
    let image_name = ctx.sandbox_image_name().unwrap_or_default();
    let image = ctx.images.resolve(&image_name).ok_or_else(|| {
        Error::failed_precondition(format!("sandbox image {image_name} is not available yet"))
    })?;
    let parent_chain = crate::image::top_chain_id(&image.config)?;
    let pause_process = crate::spec::ImageProcess::from_config(&image.config);
    let args: Vec<String> = pause_process.entrypoint.into_iter().chain(pause_process.cmd).collect();

    let id =
        crate::sys::random::new_id().map_err(|e| Error::internal("a new pod sandbox ID", e))?;
    crate::rpc_ids::record_new("pod", &id);
    let security =
        config.linux.as_ref().and_then(|l| l.security_context.clone()).unwrap_or_default();
    let ns = security.namespace_options.clone().unwrap_or_default();
    let host_network = ns.network == NamespaceMode::Node as i32;
    let node_ipc = ns.ipc == NamespaceMode::Node as i32;
    let runc = handler.runtime_type == super::handler::RUNC_SHIM;
    let pause = handler.pause == PauseMode::Always || !runc || ns.pid == NamespaceMode::Pod as i32;
    let rootfs_labels = userns.as_ref().map(super::userns::snapshot_labels).unwrap_or_default();
    let mappings = userns.clone();
    let pins = pod_namespaces(&config, PinChoice { host_network, node_ipc, pause }, userns);
    let pin_of = |kind| pins.kinds.contains(&kind).then(|| ctx.namespaces.pin_path(kind, &id));
    let (netns, ipcns, utsns) = (pin_of(Kind::Net), pin_of(Kind::Ipc), pin_of(Kind::Uts));
    let userns = pin_of(Kind::User);
    let spec_userns = userns
        .as_deref()
        .zip(mappings.as_ref())
        .map(|(p, m)| super::userns::spec_user_namespace(p, m));
    let etc_files = super::files::paths(&super::persist::dir(ctx, &id));
    let shm = (!node_ipc).then(|| super::shm::path(&super::persist::dir(ctx, &id)));
    let options = SandboxSpecOptions {
        id: &id,
        netns: netns.as_deref(),
        ipcns: ipcns.as_deref(),
        utsns: utsns.as_deref(),
        userns: spec_userns.as_ref(),
        args,
        image_name: &image_name,
        systemd_cgroup: ctx.config.systemd_cgroup(),
        daemon_oom_score_adj: crate::sys::process::own_oom_score_adj(),
        etc_files: Some(etc_files.clone()),
        shm: shm.as_deref(),
    };
    let spec = serde_json::to_vec(&sandbox_spec(&config, &options)?).expect("serialisable");
    let runtime_options = super::handler::runtime_options(ctx, handler);
    let created_at_ns =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as i64;
    let meta = SandboxMetadata {
        id: id.clone(),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        attempt: m.attempt,
        config: base64::engine::general_purpose::STANDARD.encode(config.encode_to_vec()),
        runtime_handler: req.runtime_handler,
        netns: netns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        ipcns: ipcns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        utsns: utsns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        userns: userns.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        pause,
        created_at_ns,
    };
    Ok(Plan {
        name_key: name_key(&m.name, &m.namespace, &m.uid, m.attempt),
        meta,
        host_network,
        etc_files,
        shm,
        config: Arc::new(config),
        netns,
        pins,
        spec,
        parent_chain,
        runtime_type: handler.runtime_type.clone(),
        runtime_options,
        rootfs_labels,
    })
}

/// Which of the pod's namespaces are the node's, and whether it has a pause.
#[derive(Debug, Clone, Copy)]
struct PinChoice {
    host_network: bool,
    node_ipc: bool,
    pause: bool,
}

/// The namespaces cricket pins: the pod's user namespace if it has one (first: it owns the
/// others), its network; without a pause also its IPC and UTS, with the hostname and sysctls
/// that runc would otherwise have set in the pause.
fn pod_namespaces(
    config: &PodSandboxConfig,
    choice: PinChoice,
    userns: Option<super::userns::IdMappings>,
) -> PodNamespaces {
    let PinChoice { host_network, node_ipc, pause } = choice;
    let mut want = PodNamespaces::default();
    if userns.is_some() {
        want.kinds.push(Kind::User);
        want.id_mappings = userns;
    }
    if !host_network {
        want.kinds.push(Kind::Net);
    }
    if pause {
        return want;
    }
    if !node_ipc {
        want.kinds.push(Kind::Ipc);
    }
    if !host_network {
        want.kinds.push(Kind::Uts);
        want.hostname = Some(config.hostname.clone()).filter(|h| !h.is_empty());
    }
    let mut sysctls: Vec<_> =
        config.linux.as_ref().map(|l| l.sysctls.clone().into_iter().collect()).unwrap_or_default();
    sysctls.sort();
    want.sysctls = sysctls;
    want
}

/// Runs to its end, done or undone, even when the caller goes away; `gone` cuts a CNI ADD short.
pub(crate) async fn run_pod_sandbox(
    ctx: &Context,
    req: RunPodSandboxRequest,
    mut gone: CallerGone,
) -> Result<RunPodSandboxResponse, Error> {
    let userns_options = req
        .config
        .as_ref()
        .and_then(|c| c.linux.as_ref())
        .and_then(|l| l.security_context.as_ref())
        .and_then(|s| s.namespace_options.as_ref())
        .and_then(|n| n.userns_options.clone());
    let userns =
        super::userns::pod_mappings(ctx, &req.runtime_handler, userns_options.as_ref()).await?;
    let plan = plan(ctx, req, userns)?;
    let id = plan.meta.id.clone();
    if let Err(holder) = ctx.sandboxes.reserve_name(&plan.name_key, &id) {
        match ctx.sandboxes.read(&holder, |s| (s.status.state, s.meta.uid == plan.meta.uid)) {
            // A retry whose first call made the pod but never got the answer (the caller's
            // deadline, or a restart of cricket in between): the pod it asked for is there.
            Some((SandboxState::Ready, true)) => {
                tracing::info!(pod = %holder, "RunPodSandbox retried for a pod that is ready: answered with it");
                return Ok(RunPodSandboxResponse { pod_sandbox_id: holder });
            }
            // A retry of one that failed half-way and could not be undone then: undone now,
            // and made anew.
            Some((SandboxState::NotReady, true)) => {
                replace_failed(ctx, &holder, &plan.name_key, &id).await?
            }
            _ => {
                return Err(Error::already_exists(format!(
                    "pod sandbox name {:?} is reserved for {holder}",
                    plan.name_key
                )))
            }
        }
    }
    let mut done = Done::default();
    let started = std::time::Instant::now();
    match start(ctx, &plan, &mut done, &mut gone).await {
        Ok(status) => {
            ctx.metrics.record_pod_start(started.elapsed());
            ctx.sandboxes.insert(Sandbox { meta: plan.meta, config: plan.config, status });
            for kind in [
                ContainerEventType::ContainerCreatedEvent,
                ContainerEventType::ContainerStartedEvent,
            ] {
                crate::cri_events::emit(ctx, &id, &id, kind);
            }
            tracing::info!(pod = %id, "pod sandbox ready");
            Ok(RunPodSandboxResponse { pod_sandbox_id: id })
        }
        Err(e) => {
            undo(ctx, &plan, done).await;
            Err(e)
        }
    }
}

/// Stops and removes the not-ready pod `holder` of the same name and pod, then takes its name.
async fn replace_failed(
    ctx: &Context,
    holder: &str,
    name_key: &str,
    id: &str,
) -> Result<(), Error> {
    tracing::info!(pod = %holder, "RunPodSandbox retried for a pod that is not ready: removing it first");
    super::stop_pod_sandbox(
        ctx,
        crate::api::v1::StopPodSandboxRequest { pod_sandbox_id: holder.to_string() },
    )
    .await?;
    super::remove_pod_sandbox(
        ctx,
        crate::api::v1::RemovePodSandboxRequest { pod_sandbox_id: holder.to_string() },
    )
    .await?;
    ctx.sandboxes.reserve_name(name_key, id).map_err(|other| {
        Error::already_exists(format!("pod sandbox name {name_key:?} is reserved for {other}"))
    })
}

async fn start(
    ctx: &Context,
    plan: &Plan,
    done: &mut Done,
    gone: &mut CallerGone,
) -> Result<SandboxStatus, Error> {
    let id = &plan.meta.id;
    let t0 = std::time::Instant::now();
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    let network = match &plan.netns {
        None => None,
        Some(_) => {
            Some(ctx.networks.current().map_err(Error::failed_precondition)?.ok_or_else(|| {
                Error::failed_precondition(format!(
                    "no CNI network config in {}",
                    ctx.config.cni.conf_dir.display()
                ))
            })?)
        }
    };
    let (files, config, host_network) =
        (plan.etc_files.clone(), plan.config.clone(), plan.host_network);
    crate::sys::blocking::off_workers(move || super::files::write(&files, &config, host_network))
        .await
        .map_err(|e| Error::internal("write the pod's /etc files", e))?;
    if let Some(shm) = &plan.shm {
        super::shm::mount(shm).await.map_err(|e| Error::internal("mount the pod's /dev/shm", e))?;
    }
    if !plan.pins.kinds.is_empty() {
        // unshare(2) and the pinning mounts block (a new network namespace can take
        // milliseconds): off the async workers.
        let (pinner, name, want) = (ctx.namespaces.clone(), id.to_string(), plan.pins.clone());
        done.pins = tokio::task::spawn_blocking(move || pinner.create(&name, &want))
            .await
            .map_err(|e| Error::internal("create the pod's namespaces", e))?
            .map_err(|e| Error::internal("create the pod's namespaces", e))?;
    }
    let rc = runtime_conf(id, &plan.meta.netns, &plan.config);
    if let Some(net) = &network {
        done.attached = Some((net.name.clone(), rc.clone()));
    }
    let netns_ms = ms(t0);
    let attach = async {
        let t = std::time::Instant::now();
        let r = match &network {
            Some(net) => {
                // Dropping the ADD kills the plugin and everything it started.
                let added = tokio::select! {
                    added = ctx.cni.add(net, &rc) => added.map_err(|e| from_cni("CNI ADD", &e)),
                    _ = gone.wait() => Err(Error::cancelled("CNI ADD: the caller went away")),
                };
                ctx.metrics.record_cni("ADD", added.is_ok(), t.elapsed());
                added.map(Some)
            }
            None => Ok(None),
        };
        (r, ms(t))
    };
    let pause = async {
        let t = std::time::Instant::now();
        let pid =
            if plan.meta.pause { run_pause(ctx, plan).await } else { record_only(ctx, plan).await };
        (pid, ms(t))
    };
    done.container = true;
    let ((attached, cni_ms), (pid, pause_ms)) = tokio::join!(attach, pause);
    tracing::debug!(pod = %id, netns_ms, cni_ms, pause_ms, "sandbox steps");
    let (result, pid) = (attached?, pid?);
    let status = SandboxStatus {
        state: SandboxState::Ready,
        pid,
        ips: result
            .as_ref()
            .map(|r| r.pod_ips().iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        network: network.as_ref().map(|n| n.name.clone()).unwrap_or_default(),
        cni_result: result.and_then(|r| serde_json::to_value(r).ok()),
    };
    persist::save_status(ctx, id, &status).map_err(|e| Error::internal("persist status", e))?;
    tracing::debug!(pod = %id, total_ms = ms(t0), "sandbox started");
    Ok(status)
}

/// The sandbox's containerd record (where its metadata persists), with a rootfs if it has one.
fn sandbox_record(ctx: &Context, plan: &Plan, snapshot_key: &str) -> NewContainer {
    NewContainer {
        id: plan.meta.id.clone(),
        labels: HashMap::from([
            (labels::KIND.to_string(), labels::KIND_SANDBOX.to_string()),
            (labels::METADATA_VERSION.to_string(), "1".to_string()),
        ]),
        image: ctx.sandbox_image_name().unwrap_or_default(),
        runtime_type: plan.runtime_type.clone(),
        runtime_options: plan.runtime_options.clone(),
        spec: plan.spec.clone(),
        snapshot_key: snapshot_key.to_string(),
        extensions: HashMap::from([(
            labels::METADATA_EXTENSION.to_string(),
            persist::metadata_extension(&plan.meta),
        )]),
    }
}

/// A pod without a pause: its record only; the first container will start the shim.
async fn record_only(ctx: &Context, plan: &Plan) -> Result<u32, Error> {
    let record = sandbox_record(ctx, plan, "");
    ctx.lifecycle
        .create_container(None, &record)
        .await
        .map_err(|e| from_bridge("create container", e))?;
    Ok(0)
}

/// The pause container: rootfs, record, task, started; returns its PID.
async fn run_pause(ctx: &Context, plan: &Plan) -> Result<u32, Error> {
    let id = &plan.meta.id;
    let c = &ctx.lifecycle;
    let t0 = std::time::Instant::now();
    let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1e3;
    let lease = c
        .create_lease("sandbox", std::time::Duration::from_secs(600))
        .await
        .map_err(|e| from_bridge("lease", e))?;
    let result = async {
        let mounts = c.prepare_rootfs(&lease, id, &plan.parent_chain, plan.rootfs_labels.clone()).await.map_err(|e| from_bridge("prepare rootfs", e))?;
        let container = sandbox_record(ctx, plan, id);
        c.create_container(Some(&lease), &container).await.map_err(|e| from_bridge("create container", e))?;
        let created_ms = ms(t0);
        c.create_task(id, mounts, &TaskIo::default()).await.map_err(|e| from_bridge("create task", e))?;
        let task_ms = ms(t0);
        let pid = c.start_task(id).await.map_err(|e| from_bridge("start task", e));
        tracing::debug!(pod = %id, created_ms, task_ms, started_ms = ms(t0), "pause container steps");
        pid
    }
    .await;
    let _ = c.delete_lease(&lease, false).await;
    result
}

/// Undoes what `start` did, in reverse. If something cannot be undone the sandbox stays,
/// NotReady, so kubelet's StopPodSandbox/RemovePodSandbox can finish the cleanup.
async fn undo(ctx: &Context, plan: &Plan, done: Done) {
    let id = &plan.meta.id;
    let mut failed = Vec::new();
    if done.container {
        if let Err(e) = crate::janitor::remove_objects(ctx, id).await {
            failed.push(format!("containerd objects: {e}"));
        }
    }
    // A network still attached stays in the kept status, so that StopPodSandbox DELs it.
    let mut still_attached = String::new();
    if let Some((network, rc)) = &done.attached {
        if let Err(e) = detach(ctx, network, rc).await {
            failed.push(format!("CNI DEL: {e}"));
            still_attached = network.clone();
        }
    }
    for path in &done.pins {
        if let Err(e) = crate::adapters::namespace_pins::unpin(&ctx.namespaces, path).await {
            failed.push(format!("namespace pin {}: {e}", path.display()));
        }
    }
    if let Some(shm) = &plan.shm {
        if let Err(e) = super::shm::unmount(shm).await {
            failed.push(format!("shm: {e}"));
        }
    }
    let _ = crate::sys::blocking::run(|| std::fs::remove_dir_all(persist::dir(ctx, id)));
    if failed.is_empty() {
        ctx.sandboxes.release_name(&plan.name_key, id);
    } else {
        tracing::error!(pod = %id, problems = ?failed, "could not undo a failed RunPodSandbox; kept NotReady for kubelet to stop");
        let status = SandboxStatus {
            state: SandboxState::NotReady,
            pid: 0,
            ips: vec![],
            network: still_attached,
            cni_result: None,
        };
        ctx.sandboxes.insert(Sandbox {
            meta: plan.meta.clone(),
            config: plan.config.clone(),
            status,
        });
    }
}
