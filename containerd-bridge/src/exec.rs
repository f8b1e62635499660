//! Extra processes in a running task (exec): added with their own OCI process spec and IO,
//! started, waited for (`Containerd::wait_process`), and deleted.

use containerd_client::services::v1::{
    CloseIoRequest, DeleteProcessRequest, ExecProcessRequest, ResizePtyRequest, StartRequest,
};

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};
use crate::task::TaskIo;

/// How containerd names the OCI `Process` type (JSON-encoded) in an `Any`.
const PROCESS_TYPE_URL: &str = "types.containerd.io/opencontainers/runtime-spec/1/Process";

impl Containerd {
    /// Adds process `exec_id` to the task of `id`; `process` is the OCI `Process` as JSON.
    pub async fn exec_process(
        &self,
        id: &str,
        exec_id: &str,
        process: Vec<u8>,
        io: &TaskIo,
    ) -> Result<()> {
        let req = ExecProcessRequest {
            container_id: id.into(),
            stdin: io.stdin.clone(),
            stdout: io.stdout.clone(),
            stderr: io.stderr.clone(),
            terminal: io.terminal,
            spec: Some(prost_types::Any { type_url: PROCESS_TYPE_URL.into(), value: process }),
            exec_id: exec_id.into(),
        };
        self.tasks().exec(req).await.map_err(BridgeError::rpc("task exec"))?;
        Ok(())
    }

    /// Starts an added process; returns its PID.
    pub async fn start_process(&self, id: &str, exec_id: &str) -> Result<u32> {
        let req = StartRequest { container_id: id.into(), exec_id: exec_id.into() };
        Ok(self.tasks().start(req).await.map_err(BridgeError::rpc("exec start"))?.into_inner().pid)
    }

    /// Resizes the terminal of a process (`exec_id` empty: the task's init).
    pub async fn resize_process(
        &self,
        id: &str,
        exec_id: &str,
        width: u32,
        height: u32,
    ) -> Result<()> {
        let req =
            ResizePtyRequest { container_id: id.into(), exec_id: exec_id.into(), width, height };
        self.tasks().resize_pty(req).await.map_err(BridgeError::rpc("resize pty"))?;
        Ok(())
    }

    /// Closes the shim's end of a process's stdin FIFO: with cricket's end closed too, the
    /// process reads end of file.
    pub async fn close_stdin(&self, id: &str, exec_id: &str) -> Result<()> {
        let req = CloseIoRequest { container_id: id.into(), exec_id: exec_id.into(), stdin: true };
        self.tasks().close_io(req).await.map_err(BridgeError::rpc("close io"))?;
        Ok(())
    }

    /// Deletes an exited process; a missing one is fine.
    pub async fn delete_process(&self, id: &str, exec_id: &str) -> Result<()> {
        let req = DeleteProcessRequest { container_id: id.into(), exec_id: exec_id.into() };
        match self.tasks().delete_process(req).await.map_err(BridgeError::rpc("exec delete")) {
            Err(e) if !e.is_not_found() => Err(e),
            _ => Ok(()),
        }
    }
}
