//! containerd in memory: records, snapshots, leases and tasks, with failures on demand.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use containerd_bridge::{
    BridgeError, Container, Lease, Mount, NewContainer, Result, TaskExit, TaskIo, TaskState,
};

use super::Journal;
use crate::adapters::containerd_lifecycle::Lifecycle;
use crate::locks::MutexExt;

#[derive(Debug, Clone, Copy)]
pub struct FakeTask {
    pub pid: u32,
    pub state: TaskState,
    pub exit: Option<TaskExit>,
}

#[derive(Default)]
struct State {
    containers: BTreeMap<String, Container>,
    snapshots: BTreeSet<String>,
    leases: BTreeSet<String>,
    tasks: BTreeMap<String, FakeTask>,
    next_pid: u32,
}

pub struct FakeContainerd {
    journal: Journal,
    state: Mutex<State>,
    /// Calls (by name, e.g. "start_task") that answer Unavailable.
    failing: Mutex<HashSet<&'static str>>,
    /// Tasks whose process ignores every signal but SIGKILL.
    deaf: Mutex<HashSet<String>>,
}

impl FakeContainerd {
    pub fn new(journal: Journal) -> FakeContainerd {
        // PIDs no process on the machine has, so nothing reads a real process for them.
        let state = State { next_pid: 3_990_000, ..Default::default() };
        FakeContainerd {
            journal,
            state: Mutex::new(state),
            failing: Default::default(),
            deaf: Default::default(),
        }
    }

    /// From now on, `call` fails as when containerd is unreachable.
    pub fn fail(&self, call: &'static str) {
        self.failing.locked().insert(call);
    }

    pub fn heal(&self, call: &'static str) {
        self.failing.locked().remove(call);
    }

    pub fn container_ids(&self) -> Vec<String> {
        self.state.locked().containers.keys().cloned().collect()
    }

    pub fn snapshots(&self) -> Vec<String> {
        self.state.locked().snapshots.iter().cloned().collect()
    }

    pub fn leases(&self) -> Vec<String> {
        self.state.locked().leases.iter().cloned().collect()
    }

    pub fn task(&self, id: &str) -> Option<FakeTask> {
        self.state.locked().tasks.get(id).copied()
    }

    /// The task's process exits with `code`, as the shim would report it.
    pub fn exit_task(&self, id: &str, code: u32) {
        if let Some(t) = self.state.locked().tasks.get_mut(id) {
            t.state = TaskState::Stopped;
            t.exit = Some(TaskExit { code, exited_at_ns: crate::sys::clock::now_ns() });
        }
    }

    /// The task's process ignores every signal but SIGKILL from now on.
    pub fn ignore_signals(&self, id: &str) {
        self.deaf.locked().insert(id.to_string());
    }

    /// The task vanishes (its shim died, or the node rebooted).
    pub fn lose_task(&self, id: &str) {
        self.state.locked().tasks.remove(id);
    }

    fn set_task_state(&self, id: &str, from: TaskState, to: TaskState) -> Result<()> {
        let mut state = self.state.locked();
        match state.tasks.get_mut(id) {
            Some(t) if t.state == from => {
                t.state = to;
                Ok(())
            }
            Some(t) => {
                Err(BridgeError::Invalid { op: "task state", detail: format!("{:?}", t.state) })
            }
            None => Err(not_found("task state", id)),
        }
    }

    fn call(&self, name: &'static str, id: &str) -> Result<()> {
        self.journal.push(format!("containerd {name} {id}"));
        if self.failing.locked().contains(name) {
            let status = tonic::Status::unavailable("injected: containerd is unreachable");
            return Err(BridgeError::Rpc { op: name, status });
        }
        Ok(())
    }
}

fn not_found(op: &'static str, id: &str) -> BridgeError {
    BridgeError::Rpc { op, status: tonic::Status::not_found(format!("{id} not found")) }
}

fn matches(c: &Container, filter: &str) -> bool {
    let Some((key, value)) = filter.split_once("==") else { return true };
    let key = key.trim_start_matches("labels.").trim_matches('"');
    c.labels.get(key).is_some_and(|v| v == value)
}

#[async_trait]
impl Lifecycle for FakeContainerd {
    async fn create_lease(&self, purpose: &str, _ttl: Duration) -> Result<Lease> {
        self.call("create_lease", purpose)?;
        let mut state = self.state.locked();
        let id = format!("lease-{purpose}-{}", state.leases.len() + 1);
        state.leases.insert(id.clone());
        Lease::existing(&id)
    }
    async fn delete_lease(&self, lease: &Lease, _sync: bool) -> Result<()> {
        self.call("delete_lease", lease.id())?;
        self.state.locked().leases.remove(lease.id());
        Ok(())
    }
    async fn prepare_rootfs(
        &self,
        _lease: &Lease,
        key: &str,
        _parent: &str,
        _labels: HashMap<String, String>,
    ) -> Result<Vec<Mount>> {
        self.call("prepare_rootfs", key)?;
        if !self.state.locked().snapshots.insert(key.to_string()) {
            return Err(BridgeError::Rpc {
                op: "prepare_rootfs",
                status: tonic::Status::already_exists(key.to_string()),
            });
        }
        Ok(vec![])
    }
    async fn view_snapshot(&self, _lease: &Lease, key: &str, _parent: &str) -> Result<Vec<Mount>> {
        self.call("view_snapshot", key)?;
        self.state.locked().snapshots.insert(key.to_string());
        Ok(vec![])
    }
    async fn rootfs_mounts(&self, key: &str) -> Result<Vec<Mount>> {
        self.call("rootfs_mounts", key)?;
        match self.state.locked().snapshots.contains(key) {
            true => Ok(vec![]),
            false => Err(not_found("rootfs_mounts", key)),
        }
    }
    async fn remove_snapshot(&self, key: &str) -> Result<()> {
        self.call("remove_snapshot", key)?;
        self.state.locked().snapshots.remove(key);
        Ok(())
    }
    async fn create_container(&self, _lease: Option<&Lease>, c: &NewContainer) -> Result<()> {
        self.call("create_container", &c.id)?;
        let record = Container {
            id: c.id.clone(),
            labels: c.labels.clone(),
            image: c.image.clone(),
            spec: Some(prost_types::Any { type_url: String::new(), value: c.spec.clone() }),
            snapshot_key: c.snapshot_key.clone(),
            extensions: c.extensions.clone(),
            ..Default::default()
        };
        let mut state = self.state.locked();
        if state.containers.contains_key(&c.id) {
            let status = tonic::Status::already_exists(c.id.clone());
            return Err(BridgeError::Rpc { op: "create_container", status });
        }
        state.containers.insert(c.id.clone(), record);
        Ok(())
    }
    async fn get_container(&self, id: &str) -> Result<Option<Container>> {
        self.call("get_container", id)?;
        Ok(self.state.locked().containers.get(id).cloned())
    }
    async fn update_container_spec(&self, id: &str, spec: Vec<u8>) -> Result<()> {
        self.call("update_container_spec", id)?;
        let mut state = self.state.locked();
        let c = state.containers.get_mut(id).ok_or_else(|| not_found("update_container", id))?;
        c.spec = Some(prost_types::Any { type_url: String::new(), value: spec });
        Ok(())
    }
    async fn list_containers(&self, filters: Vec<String>) -> Result<Vec<Container>> {
        self.call("list_containers", "")?;
        let state = self.state.locked();
        let all = state.containers.values();
        Ok(all.filter(|c| filters.iter().all(|f| matches(c, f))).cloned().collect())
    }
    async fn delete_container(&self, id: &str) -> Result<()> {
        self.call("delete_container", id)?;
        self.state.locked().containers.remove(id);
        Ok(())
    }
    async fn create_task(&self, id: &str, _rootfs: Vec<Mount>, _io: &TaskIo) -> Result<u32> {
        self.call("create_task", id)?;
        let mut state = self.state.locked();
        if !state.containers.contains_key(id) {
            return Err(not_found("create_task", id));
        }
        state.next_pid += 1;
        let pid = state.next_pid;
        state.tasks.insert(id.into(), FakeTask { pid, state: TaskState::Created, exit: None });
        Ok(pid)
    }
    async fn start_task(&self, id: &str) -> Result<u32> {
        self.call("start_task", id)?;
        let mut state = self.state.locked();
        let task = state.tasks.get_mut(id).ok_or_else(|| not_found("start_task", id))?;
        task.state = TaskState::Running;
        Ok(task.pid)
    }
    async fn create_restored_task(
        &self,
        id: &str,
        rootfs: Vec<Mount>,
        io: &TaskIo,
        _image_dir: &std::path::Path,
    ) -> Result<u32> {
        self.call("create_restored_task", id)?;
        self.create_task(id, rootfs, io).await
    }
    async fn pause_task(&self, id: &str) -> Result<()> {
        self.call("pause_task", id)?;
        self.set_task_state(id, TaskState::Running, TaskState::Paused)
    }
    async fn resume_task(&self, id: &str) -> Result<()> {
        self.call("resume_task", id)?;
        self.set_task_state(id, TaskState::Paused, TaskState::Running)
    }
    async fn checkpoint_task(
        &self,
        id: &str,
        _image_dir: &std::path::Path,
        _work_dir: &std::path::Path,
    ) -> Result<()> {
        self.call("checkpoint_task", id)?;
        let runs = self
            .task(id)
            .is_some_and(|t| matches!(t.state, TaskState::Running | TaskState::Paused));
        runs.then_some(()).ok_or_else(|| not_found("checkpoint_task", id))
    }
    async fn write_rootfs_diff(
        &self,
        _lease: &Lease,
        key: &str,
        _parent: &str,
        out: &std::path::Path,
    ) -> Result<()> {
        self.call("write_rootfs_diff", key)?;
        std::fs::write(out, b"")
            .map_err(|e| BridgeError::Invalid { op: "write_rootfs_diff", detail: e.to_string() })
    }
    async fn apply_layer(
        &self,
        _lease: &Lease,
        layer: &std::path::Path,
        _mounts: Vec<Mount>,
    ) -> Result<()> {
        self.call("apply_layer", &layer.display().to_string())
    }
    async fn kill_task(&self, id: &str, signal: u32, _all: bool) -> Result<()> {
        self.call("kill_task", &format!("{id} {signal}"))?;
        let heard = signal == libc::SIGKILL as u32 || !self.deaf.locked().contains(id);
        // A signal ends a created task as it does a running one.
        let alive = |t: FakeTask| matches!(t.state, TaskState::Running | TaskState::Created);
        if heard && self.task(id).is_some_and(alive) {
            self.exit_task(id, 128 + signal);
        }
        Ok(())
    }
    async fn wait_task(&self, id: &str) -> Result<TaskExit> {
        self.call("wait_task", id)?;
        let task = self.task(id).ok_or_else(|| not_found("wait_task", id))?;
        task.exit.ok_or_else(|| BridgeError::Invalid { op: "wait_task", detail: "runs".into() })
    }
    async fn update_task_resources(&self, id: &str, _resources: Vec<u8>) -> Result<()> {
        self.call("update_task_resources", id)?;
        self.task(id).map(|_| ()).ok_or_else(|| not_found("update_task", id))
    }
    async fn task_status(&self, id: &str) -> Result<Option<(u32, bool)>> {
        self.call("task_status", id)?;
        Ok(self.task(id).map(|t| (t.pid, t.state == TaskState::Running)))
    }
    async fn task_state(&self, id: &str) -> Result<Option<(u32, TaskState)>> {
        self.call("task_state", id)?;
        Ok(self.task(id).map(|t| (t.pid, t.state)))
    }
    async fn list_tasks(&self) -> Result<Vec<(String, u32, TaskState)>> {
        self.call("list_tasks", "")?;
        let state = self.state.locked();
        Ok(state.tasks.iter().map(|(id, t)| (id.clone(), t.pid, t.state)).collect())
    }
    async fn delete_task(&self, id: &str) -> Result<Option<u32>> {
        self.call("delete_task", id)?;
        Ok(self.state.locked().tasks.remove(id).map(|t| t.exit.map_or(0, |e| e.code)))
    }
    async fn exec_process(&self, id: &str, _: &str, _: Vec<u8>, _: &TaskIo) -> Result<()> {
        self.call("exec_process", id)
    }
    async fn start_process(&self, id: &str, _exec_id: &str) -> Result<u32> {
        self.call("start_process", id).map(|()| 1)
    }
    async fn kill_process(&self, id: &str, _: &str, _: u32, _: bool) -> Result<()> {
        self.call("kill_process", id)
    }
    async fn wait_process(&self, id: &str, _exec_id: &str) -> Result<TaskExit> {
        self.call("wait_process", id)?;
        Ok(TaskExit { code: 0, exited_at_ns: 0 })
    }
    async fn resize_process(&self, id: &str, _: &str, _: u32, _: u32) -> Result<()> {
        self.call("resize_process", id)
    }
    async fn close_stdin(&self, id: &str, _exec_id: &str) -> Result<()> {
        self.call("close_stdin", id)
    }
    async fn delete_process(&self, id: &str, _exec_id: &str) -> Result<()> {
        self.call("delete_process", id)
    }
}
