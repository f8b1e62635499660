//! Streaming a blob of unknown arrival pace into containerd's content store.

use std::collections::HashMap;

use containerd_client::services::v1::{AbortRequest, WriteAction, WriteContentRequest};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};
use crate::lease::Lease;

/// Bytes are gathered into messages of this size before they are sent.
const MESSAGE: usize = 256 << 10;

/// An open write of one blob. The gRPC call runs in its own task, which also drains
/// containerd's per-message answers so flow control never stalls a large blob.
pub struct ContentWriter {
    containerd: Containerd,
    tx: Option<mpsc::Sender<WriteContentRequest>>,
    call: Option<JoinHandle<Result<String>>>,
    reference: String,
    digest: String,
    total: i64,
    offset: i64,
    buffer: Vec<u8>,
}

impl Containerd {
    /// Opens a write of `digest` (`total` bytes) under `lease`.
    pub fn content_writer(&self, lease: &Lease, digest: &str, total: i64) -> ContentWriter {
        let (tx, rx) = mpsc::channel::<WriteContentRequest>(2);
        let mut client = self.content(Some(lease));
        let call = tokio::spawn(async move {
            let mut replies = client
                .write(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await
                .map_err(BridgeError::rpc("content write"))?
                .into_inner();
            while let Some(reply) =
                replies.message().await.map_err(BridgeError::rpc("content write"))?
            {
                if reply.action == WriteAction::Commit as i32 {
                    return Ok(reply.digest);
                }
            }
            Err(BridgeError::Invalid {
                op: "content write",
                detail: "closed before the commit was acknowledged".into(),
            })
        });
        ContentWriter {
            containerd: self.clone(),
            tx: Some(tx),
            call: Some(call),
            reference: format!("cricket-{}-{digest}", lease.id()),
            digest: digest.to_string(),
            total,
            offset: 0,
            buffer: Vec::with_capacity(MESSAGE),
        }
    }
}

impl ContentWriter {
    /// Adds bytes; full messages are sent as they fill.
    pub async fn write(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            let n = (MESSAGE - self.buffer.len()).min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.buffer.len() == MESSAGE {
                self.send(WriteAction::Write, HashMap::new()).await?;
            }
        }
        Ok(())
    }

    /// Sends what is left and commits; containerd checks size and digest.
    pub async fn commit(mut self, labels: HashMap<String, String>) -> Result<()> {
        self.send(WriteAction::Commit, labels).await?;
        self.tx = None;
        let call = self.call.take().expect("a writer commits once");
        let committed = match call
            .await
            .map_err(|e| BridgeError::Invalid { op: "content write", detail: e.to_string() })?
        {
            // Written meanwhile by someone else: it is there, which is all we wanted.
            Err(e) if e.is_already_exists() => return Ok(()),
            other => other?,
        };
        if committed != self.digest {
            return Err(BridgeError::Invalid {
                op: "content write",
                detail: format!("committed {committed}, wanted {}", self.digest),
            });
        }
        Ok(())
    }

    /// Gives up the write and discards what containerd holds of it.
    pub async fn abort(mut self) {
        self.tx = None;
        if let Some(call) = self.call.take() {
            call.abort();
        }
        let _ = self
            .containerd
            .content(None)
            .abort(AbortRequest { r#ref: self.reference.clone() })
            .await;
    }

    async fn send(&mut self, action: WriteAction, labels: HashMap<String, String>) -> Result<()> {
        let data = std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(if action == WriteAction::Commit { 0 } else { MESSAGE }),
        );
        let request = WriteContentRequest {
            action: action as i32,
            r#ref: self.reference.clone(),
            total: self.total,
            expected: if action == WriteAction::Commit {
                self.digest.clone()
            } else {
                String::new()
            },
            offset: self.offset,
            labels,
            data,
        };
        self.offset += request.data.len() as i64;
        let tx = self.tx.as_ref().expect("not committed yet");
        if tx.send(request).await.is_err() {
            // The call ended early; its result says why.
            let call = self.call.take().expect("the call is running");
            let outcome = call
                .await
                .map_err(|e| BridgeError::Invalid { op: "content write", detail: e.to_string() })?;
            return Err(outcome.err().unwrap_or(BridgeError::Invalid {
                op: "content write",
                detail: "stream closed".into(),
            }));
        }
        Ok(())
    }
}
