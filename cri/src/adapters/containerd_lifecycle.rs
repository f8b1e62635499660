//! The containerd calls of the pod and container lifecycle (records, rootfs snapshots, leases,
//! tasks and exec processes), behind a trait: the lifecycle's decisions (rollback, ordering,
//! recovery, exits) are unit-tested against `crate::testing::FakeContainerd`. Images, content,
//! events and health go to `containerd_bridge::Containerd` directly and are tested end to end.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use containerd_bridge::{
    Container, Containerd, Lease, Mount, NewContainer, Result, TaskExit, TaskIo, TaskState,
};

#[async_trait]
pub trait Lifecycle: Send + Sync {
    async fn create_lease(&self, purpose: &str, ttl: Duration) -> Result<Lease>;
    async fn delete_lease(&self, lease: &Lease, sync: bool) -> Result<()>;

    /// The rootfs snapshot `key` on top of `parent`, with `labels`; its mounts.
    async fn prepare_rootfs(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
        labels: HashMap<String, String>,
    ) -> Result<Vec<Mount>>;
    async fn rootfs_mounts(&self, key: &str) -> Result<Vec<Mount>>;
    /// A read-only view `key` of `parent`, held by `lease` until something references it.
    async fn view_snapshot(&self, lease: &Lease, key: &str, parent: &str) -> Result<Vec<Mount>>;
    /// Missing is fine.
    async fn remove_snapshot(&self, key: &str) -> Result<()>;

    async fn create_container(&self, lease: Option<&Lease>, c: &NewContainer) -> Result<()>;
    async fn get_container(&self, id: &str) -> Result<Option<Container>>;
    async fn update_container_spec(&self, id: &str, spec: Vec<u8>) -> Result<()>;
    async fn list_containers(&self, filters: Vec<String>) -> Result<Vec<Container>>;
    /// Missing is fine.
    async fn delete_container(&self, id: &str) -> Result<()>;

    /// Creates the task (shim and process, not started); its PID.
    async fn create_task(&self, id: &str, rootfs: Vec<Mount>, io: &TaskIo) -> Result<u32>;
    async fn start_task(&self, id: &str) -> Result<u32>;
    /// Creates the task with its process restored from the CRIU dump in `image_dir`.
    async fn create_restored_task(
        &self,
        id: &str,
        rootfs: Vec<Mount>,
        io: &TaskIo,
        image_dir: &Path,
    ) -> Result<u32>;
    /// Freezes the task's processes; `resume_task` thaws them.
    async fn pause_task(&self, id: &str) -> Result<()>;
    async fn resume_task(&self, id: &str) -> Result<()>;
    /// Dumps the running task with CRIU into `image_dir` (its logs into `work_dir`); the task
    /// keeps running.
    async fn checkpoint_task(&self, id: &str, image_dir: &Path, work_dir: &Path) -> Result<()>;
    /// Writes what the rootfs snapshot `key` changed on top of `parent` as a layer tar.
    async fn write_rootfs_diff(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
        out: &Path,
    ) -> Result<()>;
    /// Applies a layer tar onto a snapshot's `mounts`.
    async fn apply_layer(&self, lease: &Lease, layer: &Path, mounts: Vec<Mount>) -> Result<()>;
    /// Missing is fine.
    async fn kill_task(&self, id: &str, signal: u32, all: bool) -> Result<()>;
    async fn wait_task(&self, id: &str) -> Result<TaskExit>;
    async fn update_task_resources(&self, id: &str, resources: Vec<u8>) -> Result<()>;
    /// The PID and whether it runs; `None` without a task.
    async fn task_status(&self, id: &str) -> Result<Option<(u32, bool)>>;
    async fn task_state(&self, id: &str) -> Result<Option<(u32, TaskState)>>;
    async fn list_tasks(&self) -> Result<Vec<(String, u32, TaskState)>>;
    /// The exit code of a deleted task; `None` without a task.
    async fn delete_task(&self, id: &str) -> Result<Option<u32>>;

    async fn exec_process(
        &self,
        id: &str,
        exec_id: &str,
        process: Vec<u8>,
        io: &TaskIo,
    ) -> Result<()>;
    async fn start_process(&self, id: &str, exec_id: &str) -> Result<u32>;
    async fn kill_process(&self, id: &str, exec_id: &str, signal: u32, all: bool) -> Result<()>;
    async fn wait_process(&self, id: &str, exec_id: &str) -> Result<TaskExit>;
    async fn resize_process(&self, id: &str, exec_id: &str, width: u32, height: u32) -> Result<()>;
    async fn close_stdin(&self, id: &str, exec_id: &str) -> Result<()>;
    async fn delete_process(&self, id: &str, exec_id: &str) -> Result<()>;
}

#[async_trait]
impl Lifecycle for Containerd {
    async fn create_lease(&self, purpose: &str, ttl: Duration) -> Result<Lease> {
        Containerd::create_lease(self, purpose, ttl).await
    }
    async fn delete_lease(&self, lease: &Lease, sync: bool) -> Result<()> {
        Containerd::delete_lease(self, lease, sync).await
    }
    async fn prepare_rootfs(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
        labels: HashMap<String, String>,
    ) -> Result<Vec<Mount>> {
        Containerd::prepare_rootfs(self, lease, key, parent, labels).await
    }
    async fn rootfs_mounts(&self, key: &str) -> Result<Vec<Mount>> {
        Containerd::rootfs_mounts(self, key).await
    }
    async fn view_snapshot(&self, lease: &Lease, key: &str, parent: &str) -> Result<Vec<Mount>> {
        Containerd::view_snapshot(self, lease, key, parent).await
    }
    async fn remove_snapshot(&self, key: &str) -> Result<()> {
        Containerd::remove_snapshot(self, key).await
    }
    async fn create_container(&self, lease: Option<&Lease>, c: &NewContainer) -> Result<()> {
        Containerd::create_container(self, lease, c).await
    }
    async fn get_container(&self, id: &str) -> Result<Option<Container>> {
        Containerd::get_container(self, id).await
    }
    async fn update_container_spec(&self, id: &str, spec: Vec<u8>) -> Result<()> {
        Containerd::update_container_spec(self, id, spec).await
    }
    async fn list_containers(&self, filters: Vec<String>) -> Result<Vec<Container>> {
        Containerd::list_containers(self, filters).await
    }
    async fn delete_container(&self, id: &str) -> Result<()> {
        Containerd::delete_container(self, id).await
    }
    async fn create_task(&self, id: &str, rootfs: Vec<Mount>, io: &TaskIo) -> Result<u32> {
        Containerd::create_task(self, id, rootfs, io).await
    }
    async fn start_task(&self, id: &str) -> Result<u32> {
        Containerd::start_task(self, id).await
    }
    async fn create_restored_task(
        &self,
        id: &str,
        rootfs: Vec<Mount>,
        io: &TaskIo,
        image_dir: &Path,
    ) -> Result<u32> {
        let record = Containerd::get_container(self, id).await?;
        let options = record
            .and_then(|c| c.runtime)
            .and_then(|r| r.options)
            .and_then(|o| containerd_bridge::RuncOptions::from_any(&o))
            .ok_or_else(|| containerd_bridge::BridgeError::Invalid {
                op: "restore",
                detail: format!("container {id} does not run on the runc shim"),
            })?;
        Containerd::create_restored_task(self, id, rootfs, io, options, image_dir).await
    }
    async fn pause_task(&self, id: &str) -> Result<()> {
        Containerd::pause_task(self, id).await
    }
    async fn resume_task(&self, id: &str) -> Result<()> {
        Containerd::resume_task(self, id).await
    }
    async fn checkpoint_task(&self, id: &str, image_dir: &Path, work_dir: &Path) -> Result<()> {
        Containerd::checkpoint_task(self, id, image_dir, work_dir).await
    }
    async fn write_rootfs_diff(
        &self,
        lease: &Lease,
        key: &str,
        parent: &str,
        out: &Path,
    ) -> Result<()> {
        Containerd::write_rootfs_diff(self, lease, key, parent, out).await
    }
    async fn apply_layer(&self, lease: &Lease, layer: &Path, mounts: Vec<Mount>) -> Result<()> {
        Containerd::apply_layer_file(self, lease, layer, mounts).await
    }
    async fn kill_task(&self, id: &str, signal: u32, all: bool) -> Result<()> {
        Containerd::kill_task(self, id, signal, all).await
    }
    async fn wait_task(&self, id: &str) -> Result<TaskExit> {
        Containerd::wait_task(self, id).await
    }
    async fn update_task_resources(&self, id: &str, resources: Vec<u8>) -> Result<()> {
        Containerd::update_task_resources(self, id, resources).await
    }
    async fn task_status(&self, id: &str) -> Result<Option<(u32, bool)>> {
        Containerd::task_status(self, id).await
    }
    async fn task_state(&self, id: &str) -> Result<Option<(u32, TaskState)>> {
        Containerd::task_state(self, id).await
    }
    async fn list_tasks(&self) -> Result<Vec<(String, u32, TaskState)>> {
        Containerd::list_tasks(self).await
    }
    async fn delete_task(&self, id: &str) -> Result<Option<u32>> {
        Containerd::delete_task(self, id).await
    }
    async fn exec_process(
        &self,
        id: &str,
        exec_id: &str,
        process: Vec<u8>,
        io: &TaskIo,
    ) -> Result<()> {
        Containerd::exec_process(self, id, exec_id, process, io).await
    }
    async fn start_process(&self, id: &str, exec_id: &str) -> Result<u32> {
        Containerd::start_process(self, id, exec_id).await
    }
    async fn kill_process(&self, id: &str, exec_id: &str, signal: u32, all: bool) -> Result<()> {
        Containerd::kill_process(self, id, exec_id, signal, all).await
    }
    async fn wait_process(&self, id: &str, exec_id: &str) -> Result<TaskExit> {
        Containerd::wait_process(self, id, exec_id).await
    }
    async fn resize_process(&self, id: &str, exec_id: &str, width: u32, height: u32) -> Result<()> {
        Containerd::resize_process(self, id, exec_id, width, height).await
    }
    async fn close_stdin(&self, id: &str, exec_id: &str) -> Result<()> {
        Containerd::close_stdin(self, id, exec_id).await
    }
    async fn delete_process(&self, id: &str, exec_id: &str) -> Result<()> {
        Containerd::delete_process(self, id, exec_id).await
    }
}
