use std::collections::HashMap;

use containerd_client::services::v1::{
    InfoRequest, ReadContentRequest, UpdateRequest, WriteAction, WriteContentRequest,
};
use prost_types::FieldMask;

use crate::connection::Containerd;
use crate::error::{BridgeError, Result};
use crate::lease::Lease;

/// Blobs are sent in pieces no larger than this, well under gRPC's 4 MiB message limit.
const CHUNK: usize = 1 << 20;

impl Containerd {
    /// Labels of a blob in the content store, or `None` when it is absent.
    pub async fn blob_labels(&self, digest: &str) -> Result<Option<HashMap<String, String>>> {
        let req = InfoRequest { digest: digest.to_string() };
        match self.content(None).info(req).await.map_err(BridgeError::rpc("content info")) {
            Ok(reply) => Ok(Some(reply.into_inner().info.map(|i| i.labels).unwrap_or_default())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The whole blob `digest`; for manifests and configs, not for layers.
    pub async fn read_blob(&self, digest: &str) -> Result<Vec<u8>> {
        let mut stream = self.blob_stream(digest).await?;
        let mut data = Vec::new();
        while let Some(chunk) = stream.message().await.map_err(BridgeError::rpc("content read"))? {
            data.extend_from_slice(&chunk.data);
        }
        Ok(data)
    }

    /// Copies blob `digest` into a new file at `out`, piece by piece (for layers).
    pub async fn copy_blob_to_file(&self, digest: &str, out: &std::path::Path) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        let io =
            |e: std::io::Error| BridgeError::Invalid { op: "copy a blob", detail: e.to_string() };
        let mut stream = self.blob_stream(digest).await?;
        let mut file = tokio::fs::File::create(out).await.map_err(io)?;
        while let Some(chunk) = stream.message().await.map_err(BridgeError::rpc("content read"))? {
            file.write_all(&chunk.data).await.map_err(io)?;
        }
        file.sync_all().await.map_err(io)
    }

    async fn blob_stream(
        &self,
        digest: &str,
    ) -> Result<tonic::Streaming<containerd_client::services::v1::ReadContentResponse>> {
        let req = ReadContentRequest { digest: digest.to_string(), offset: 0, size: 0 };
        let reply = self.content(None).read(req).await.map_err(BridgeError::rpc("content read"))?;
        Ok(reply.into_inner())
    }

    /// Makes `data` present in the content store under `digest` with at least `labels`.
    /// containerd verifies the digest on commit; an existing blob only gets its labels merged.
    pub async fn ensure_blob(
        &self,
        lease: &Lease,
        digest: &str,
        data: &[u8],
        labels: HashMap<String, String>,
    ) -> Result<()> {
        match self.blob_labels(digest).await? {
            Some(existing) => {
                self.lease_existing(lease, "content", digest).await?;
                self.merge_blob_labels(digest, existing, labels).await
            }
            None => match self.write_blob(lease, digest, data, labels).await {
                Err(e) if e.is_already_exists() => Ok(()),
                other => other,
            },
        }
    }

    async fn write_blob(
        &self,
        lease: &Lease,
        digest: &str,
        data: &[u8],
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let total = data.len() as i64;
        // Unique per lease: concurrent writers of one blob must not lock each other out.
        let reference = format!("cricket-{}-{digest}", lease.id());
        let mut requests = Vec::new();
        let mut offset = 0usize;
        // Every piece but the last is a WRITE; the last one (possibly empty) COMMITs with the labels.
        loop {
            let end = (offset + CHUNK).min(data.len());
            let last = end == data.len();
            requests.push(WriteContentRequest {
                action: if last { WriteAction::Commit } else { WriteAction::Write } as i32,
                r#ref: reference.clone(),
                total,
                expected: if last { digest.to_string() } else { String::new() },
                offset: offset as i64,
                data: data[offset..end].to_vec(),
                labels: if last { labels.clone() } else { HashMap::new() },
            });
            offset = end;
            if last {
                break;
            }
        }
        let mut responses = self
            .content(Some(lease))
            .write(tokio_stream::iter(requests))
            .await
            .map_err(BridgeError::rpc("content write"))?
            .into_inner();
        while let Some(reply) =
            responses.message().await.map_err(BridgeError::rpc("content write"))?
        {
            if reply.action == WriteAction::Commit as i32 {
                return Ok(());
            }
        }
        Err(BridgeError::Invalid {
            op: "content write",
            detail: format!("{digest}: no commit acknowledged"),
        })
    }

    async fn merge_blob_labels(
        &self,
        digest: &str,
        existing: HashMap<String, String>,
        wanted: HashMap<String, String>,
    ) -> Result<()> {
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(k, v)| existing.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let paths = missing.iter().map(|k| format!("labels.{k}")).collect();
        let info = containerd_client::services::v1::Info {
            digest: digest.to_string(),
            labels: wanted,
            ..Default::default()
        };
        let req = UpdateRequest { info: Some(info), update_mask: Some(FieldMask { paths }) };
        self.content(None).update(req).await.map_err(BridgeError::rpc("content update"))?;
        Ok(())
    }
}
