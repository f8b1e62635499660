//! After a restart: shims that serve no task containerd knows. A CreateTask cut off by
//! cricket's death can leave one: containerd drops the task it never finished, while the shim
//! it started lives on with the container's first process and its logger, and nothing would
//! ever stop it. Such a shim is found by its command line (this containerd's address and
//! namespace) and by its processes (none is a task's), then stopped: its own `delete` action
//! removes the container and unmounts the rootfs, and the shim and all it still runs are
//! killed. A containerd killed between a task's delete and the shim's shutdown leaves one too,
//! so the sweep also runs every so often, sparing shims too young to have their task yet.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::context::Context;

/// A shim process, from its command line.
#[derive(Debug, PartialEq)]
struct Shim {
    pid: i32,
    binary: PathBuf,
    id: String,
}

/// Parses a shim's NUL-separated command line, if it is a shim of `address` and `namespace`.
fn parse_shim(pid: i32, cmdline: &[u8], address: &str, namespace: &str) -> Option<Shim> {
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let binary = PathBuf::from(args.first()?);
    if !binary.file_name()?.to_string_lossy().starts_with("containerd-shim") {
        return None;
    }
    let flag = |name: &str| {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map(String::as_str)
    };
    (flag("-address")? == address && flag("-namespace")? == namespace).then(|| Shim {
        pid,
        binary,
        id: flag("-id").unwrap_or_default().to_string(),
    })
}

fn numbered_entries() -> impl Iterator<Item = (i32, PathBuf)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path())))
}

/// The shim's bundle: the directory it was started in, while it still exists.
fn bundle_of(pid: i32) -> Option<PathBuf> {
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
    cwd.is_dir().then_some(cwd)
}

/// How often the sweep runs once cricket serves, and how old a shim must be by then: a task
/// being created has its shim before containerd lists the task.
const EVERY: Duration = Duration::from_secs(15);
const MIN_AGE: Duration = Duration::from_secs(10);

/// Sweeps every so often while containerd answers.
pub fn spawn(ctx: std::sync::Arc<Context>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(EVERY).await;
            if ctx.runtime_readiness().ready {
                stop_orphaned_shims(&ctx, MIN_AGE).await;
            }
        }
    });
}

/// How long ago process `pid` started.
fn age(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22, counted from the state (field 3) after the command name.
    let started_ticks: u64 = stat.rsplit(')').next()?.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 =
        std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()?;
    let ticks_per_second = crate::sys::process::clock_ticks_per_second() as f64;
    Some(Duration::from_secs_f64((uptime - started_ticks as f64 / ticks_per_second).max(0.0)))
}

/// A shim this young may still be mounting its container's rootfs: an idmapped one (a pod
/// with its own user namespace) goes through temporary mounts of the image's layers that the
/// shim removes once the rootfs is mounted, and a shim stopped in between leaves them behind.
const MOUNTING: Duration = Duration::from_secs(3);

/// The shims of this containerd and namespace, at least `min_age` old, none of whose
/// processes is a task's, each with its age; `None` when containerd cannot list its tasks.
async fn orphaned_shims(ctx: &Context, min_age: Duration) -> Option<Vec<(Shim, Duration)>> {
    let address = ctx.containerd.config().address.display().to_string();
    let namespace = ctx.config.containerd.namespace.clone();
    let shims: Vec<Shim> = numbered_entries()
        .filter_map(|(pid, dir)| {
            parse_shim(pid, &std::fs::read(dir.join("cmdline")).ok()?, &address, &namespace)
        })
        .collect();
    if shims.is_empty() {
        return Some(Vec::new());
    }
    let tasks = match ctx.lifecycle.list_tasks().await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list tasks; orphaned shims are left for the next sweep");
            return None;
        }
    };
    let task_ids: HashSet<&str> = tasks.iter().map(|(id, _, _)| id.as_str()).collect();
    let task_pids: HashSet<i32> = tasks.iter().map(|(_, pid, _)| *pid as i32).collect();
    let parents = crate::exec::process_tree::parents();
    let orphaned = shims.into_iter().filter_map(|shim| {
        let below = crate::exec::process_tree::tree(shim.pid, &parents);
        let serving =
            task_ids.contains(shim.id.as_str()) || below.iter().any(|p| task_pids.contains(p));
        let age = age(shim.pid)?;
        (!serving && age >= min_age).then_some((shim, age))
    });
    Some(orphaned.collect())
}

/// Stops every shim of this containerd and namespace, at least `min_age` old, none of whose
/// processes is a task's. With no minimum age, run only while no task is being created
/// (before the CRI answers lifecycle calls). One still young enough to be mounting is given
/// time to finish first, and asked about again.
pub async fn stop_orphaned_shims(ctx: &Context, min_age: Duration) {
    let Some(mut orphaned) = orphaned_shims(ctx, min_age).await else { return };
    if let Some(youngest) = orphaned.iter().map(|(_, age)| *age).min().filter(|a| *a < MOUNTING) {
        tokio::time::sleep(MOUNTING - youngest).await;
        let Some(again) = orphaned_shims(ctx, min_age).await else { return };
        orphaned = again;
    }
    let address = ctx.containerd.config().address.display().to_string();
    let namespace = ctx.config.containerd.namespace.clone();
    for (shim, _) in orphaned {
        tracing::warn!(shim = shim.pid, id = %shim.id, "stopping a shim that serves no task containerd knows");
        stop(&shim, &address, &namespace).await;
    }
}

/// How long a removed pod's shim may take to exit by itself.
const SETTLE: Duration = Duration::from_secs(2);

/// Makes sure the shim of pod `id`, just removed, is gone. It exits once its last task is
/// deleted, but containerd 1.6's runc shim can hang instead when that delete races with the
/// pause's own exit: its connection closes and the process stays. After [`SETTLE`], a shim
/// that still runs and serves no task is stopped as the sweep stops one.
pub async fn settle_removed_pod_shim(ctx: &Context, id: &str) {
    let address = ctx.containerd.config().address.display().to_string();
    let namespace = ctx.config.containerd.namespace.clone();
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let shim = numbered_entries()
            .filter_map(|(pid, dir)| {
                parse_shim(pid, &std::fs::read(dir.join("cmdline")).ok()?, &address, &namespace)
            })
            .find(|s| s.id == id);
        let Some(shim) = shim else { return };
        if tokio::time::Instant::now() >= deadline {
            let Ok(tasks) = ctx.lifecycle.list_tasks().await else { return };
            let parents = crate::exec::process_tree::parents();
            let below = crate::exec::process_tree::tree(shim.pid, &parents);
            let serving =
                tasks.iter().any(|(task, pid, _)| task == id || below.contains(&(*pid as i32)));
            if !serving {
                tracing::warn!(shim = shim.pid, pod = %id, "the removed pod's shim did not exit; stopping it");
                stop(&shim, &address, &namespace).await;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stop(shim: &Shim, address: &str, namespace: &str) {
    let bundle = bundle_of(shim.pid);
    if let Some(bundle) = &bundle {
        // The shim's own clean-up: runc delete --force, and the rootfs unmounted.
        let mut delete = tokio::process::Command::new(&shim.binary);
        delete
            .args(["-namespace", namespace, "-address", address, "-id", &shim.id, "delete"])
            .current_dir(bundle)
            .kill_on_drop(true);
        delete.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        match tokio::time::timeout(Duration::from_secs(10), delete.status()).await {
            Ok(Ok(status)) if status.success() => {}
            outcome => {
                tracing::warn!(id = %shim.id, ?outcome, "the shim's delete did not succeed; killing what is left")
            }
        }
    }
    // Walking /proc and removing a bundle block: off the async workers.
    crate::sys::blocking::run(|| {
        crate::exec::process_tree::kill_tree(shim.pid);
        if let Some(bundle) = bundle {
            let _ = crate::sys::mount::unmount_if_mounted(&bundle.join("rootfs"));
            if let Err(e) = std::fs::remove_dir_all(&bundle) {
                tracing::warn!(bundle = %bundle.display(), error = %e, "could not remove an orphaned shim's bundle");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_shims_of_this_containerd_and_namespace_are_found() {
        let line = |args: &[&str]| args.join("\0").into_bytes();
        let ours = line(&[
            "/usr/bin/containerd-shim-runc-v2",
            "-namespace",
            "k8s.io",
            "-id",
            "abc",
            "-address",
            "/run/x/containerd.sock",
        ]);
        let shim = parse_shim(7, &ours, "/run/x/containerd.sock", "k8s.io").unwrap();
        assert_eq!((shim.pid, shim.id.as_str()), (7, "abc"));
        assert!(
            parse_shim(7, &ours, "/run/containerd/containerd.sock", "k8s.io").is_none(),
            "another containerd's"
        );
        assert!(
            parse_shim(7, &ours, "/run/x/containerd.sock", "moby").is_none(),
            "another namespace's"
        );
        let not_a_shim =
            line(&["/usr/bin/sleep", "-namespace", "k8s.io", "-address", "/run/x/containerd.sock"]);
        assert!(parse_shim(7, &not_a_shim, "/run/x/containerd.sock", "k8s.io").is_none());
    }

    #[test]
    fn this_process_is_young_and_init_is_old() {
        assert!(age(std::process::id() as i32).unwrap() < Duration::from_secs(3600));
        assert!(age(1).unwrap() >= age(std::process::id() as i32).unwrap());
    }
}
