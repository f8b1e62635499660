//! containerd tasks: the running process of a container, through its shim.

use containerd_client::services::v1::{
    CreateTaskRequest, DeleteTaskRequest, GetRequest, KillRequest, ListTasksRequest,
    PauseTaskRequest, ResumeTaskRequest, StartRequest, UpdateTaskRequest, WaitRequest,
};
use containerd_client::types::Mount;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};

/// How containerd names the OCI `LinuxResources` type (JSON-encoded) in an `Any`.
const LINUX_RESOURCES_TYPE_URL: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

/// Where a task's standard streams go (paths of FIFOs or files); empty means /dev/null.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskIo {
    pub stdin: String,
    pub stdout: String,
    pub stderr: String,
    pub terminal: bool,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskExit {
    pub code: u32,
    /// Nanoseconds since the epoch.
    pub exited_at_ns: i64,
}

/// What containerd says of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Made, its process not started yet.
    Created,
    Running,
    /// Its process exited; the task waits to be deleted.
    Stopped,
    Paused,
    Unknown,
}

impl TaskState {
    fn from_status(status: i32) -> TaskState {
        use containerd_client::types::v1::Status;
        match Status::try_from(status) {
            Ok(Status::Created) => TaskState::Created,
            Ok(Status::Running) => TaskState::Running,
            Ok(Status::Stopped) => TaskState::Stopped,
            Ok(Status::Paused | Status::Pausing) => TaskState::Paused,
            _ => TaskState::Unknown,
        }
    }
}

impl Containerd {
    /// Creates the task (the shim and the process, not yet started); returns its PID.
    pub async fn create_task(&self, id: &str, rootfs: Vec<Mount>, io: &TaskIo) -> Result<u32> {
        self.create_task_with(id, rootfs, io, None).await
    }

    /// Creates the task with its own runtime `options` (which replace the container's).
    pub(crate) async fn create_task_with(
        &self,
        id: &str,
        rootfs: Vec<Mount>,
        io: &TaskIo,
        options: Option<prost_types::Any>,
    ) -> Result<u32> {
        let req = CreateTaskRequest {
            container_id: id.into(),
            rootfs,
            stdin: io.stdin.clone(),
            stdout: io.stdout.clone(),
            stderr: io.stderr.clone(),
            terminal: io.terminal,
            checkpoint: None,
            options,
            runtime_path: String::new(),
        };
        Ok(self
            .tasks()
            .create(req)
            .await
            .map_err(BridgeError::rpc("task create"))?
            .into_inner()
            .pid)
    }

    /// Starts the created task; returns its PID.
    pub async fn start_task(&self, id: &str) -> Result<u32> {
        let req = StartRequest { container_id: id.into(), exec_id: String::new() };
        Ok(self.tasks().start(req).await.map_err(BridgeError::rpc("task start"))?.into_inner().pid)
    }

    /// Freezes every process of the task (its cgroup's freezer).
    pub async fn pause_task(&self, id: &str) -> Result<()> {
        let req = PauseTaskRequest { container_id: id.into() };
        self.tasks().pause(req).await.map_err(BridgeError::rpc("task pause"))?;
        Ok(())
    }

    /// Thaws a paused task.
    pub async fn resume_task(&self, id: &str) -> Result<()> {
        let req = ResumeTaskRequest { container_id: id.into() };
        self.tasks().resume(req).await.map_err(BridgeError::rpc("task resume"))?;
        Ok(())
    }

    /// Signals the task (with `all`, every process in it); a missing task is fine.
    pub async fn kill_task(&self, id: &str, signal: u32, all: bool) -> Result<()> {
        self.kill_process(id, "", signal, all).await
    }

    /// Signals one process of the task (`exec_id` empty: its init); missing is fine.
    pub async fn kill_process(
        &self,
        id: &str,
        exec_id: &str,
        signal: u32,
        all: bool,
    ) -> Result<()> {
        let req = KillRequest { container_id: id.into(), exec_id: exec_id.into(), signal, all };
        match self.tasks().kill(req).await.map_err(BridgeError::rpc("task kill")) {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }

    /// Waits for the task to exit.
    pub async fn wait_task(&self, id: &str) -> Result<TaskExit> {
        self.wait_process(id, "").await
    }

    /// Waits for one process of the task (`exec_id` empty: its init) to exit.
    pub async fn wait_process(&self, id: &str, exec_id: &str) -> Result<TaskExit> {
        let req = WaitRequest { container_id: id.into(), exec_id: exec_id.into() };
        let reply =
            self.tasks().wait(req).await.map_err(BridgeError::rpc("task wait"))?.into_inner();
        let at = reply
            .exited_at
            .map(|t| t.seconds * 1_000_000_000 + i64::from(t.nanos))
            .unwrap_or_default();
        Ok(TaskExit { code: reply.exit_status, exited_at_ns: at })
    }

    /// Applies new cgroup resources to a running task; `resources` is the OCI
    /// `LinuxResources` as JSON.
    pub async fn update_task_resources(&self, id: &str, resources: Vec<u8>) -> Result<()> {
        let resources =
            prost_types::Any { type_url: LINUX_RESOURCES_TYPE_URL.into(), value: resources };
        let req = UpdateTaskRequest {
            container_id: id.into(),
            resources: Some(resources),
            annotations: Default::default(),
        };
        self.tasks().update(req).await.map_err(BridgeError::rpc("task update"))?;
        Ok(())
    }

    /// The task's PID and whether it runs; `None` when there is no task.
    pub async fn task_status(&self, id: &str) -> Result<Option<(u32, bool)>> {
        Ok(self.task_state(id).await?.map(|(pid, state)| (pid, state == TaskState::Running)))
    }

    /// Every task of the namespace: (container ID, PID, state).
    pub async fn list_tasks(&self) -> Result<Vec<(String, u32, TaskState)>> {
        let reply = self
            .tasks()
            .list(ListTasksRequest { filter: String::new() })
            .await
            .map_err(BridgeError::rpc("task list"))?;
        Ok(reply
            .into_inner()
            .tasks
            .into_iter()
            .map(|p| (p.id, p.pid, TaskState::from_status(p.status)))
            .collect())
    }

    /// The task's PID and state; `None` when there is no task.
    pub async fn task_state(&self, id: &str) -> Result<Option<(u32, TaskState)>> {
        match self
            .tasks()
            .get(GetRequest { container_id: id.into(), exec_id: String::new() })
            .await
            .map_err(BridgeError::rpc("task get"))
        {
            Ok(reply) => {
                Ok(reply.into_inner().process.map(|p| (p.pid, TaskState::from_status(p.status))))
            }
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a stopped task (its shim goes too); returns its exit code, or `None` if there
    /// was no task.
    pub async fn delete_task(&self, id: &str) -> Result<Option<u32>> {
        // Never two deletes of one task at once (see `task_delete_locks`).
        let _one_at_a_time = self.task_deletes.lock(id).await;
        match self
            .tasks()
            .delete(DeleteTaskRequest { container_id: id.into() })
            .await
            .map_err(BridgeError::rpc("task delete"))
        {
            Ok(reply) => Ok(Some(reply.into_inner().exit_status)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}
