//! Where an image is fetched from: the first endpoint (mirror or the host itself) that serves
//! its manifest, with the client for the pull's credentials.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::credentials::Credentials;
use super::error::PullError;
use super::manifest::{Descriptor, ACCEPTED};
use super::registry::{is_local, Endpoint, Registries};
use crate::connection::Containerd;
use crate::digest::sha256_digest;
use crate::lease::Lease;

pub(crate) struct Source {
    client: Arc<Client>,
    reference: Reference,
    auth: RegistryAuth,
}

impl Source {
    /// Fetches the top-level manifest (or index) of `reference` from the first endpoint that
    /// has it; returns the source and the document with its digest.
    pub async fn resolve(
        registries: &Registries,
        reference: &Reference,
        credentials: &Credentials,
    ) -> Result<(Source, Vec<u8>, String), PullError> {
        let client = registries.client(credentials);
        let auth = credentials.to_registry_auth();
        let mut last_error = None;
        for endpoint in registries.endpoints(reference.registry()) {
            let source = Source {
                client: client.clone(),
                reference: at_endpoint(reference, &endpoint),
                auth: auth.clone(),
            };
            let mut result = source.document(reference.digest()).await.map(|found| (source, found));
            // A registry on the node itself that does not answer HTTPS: plain HTTP.
            if matches!(result, Err(PullError::Unavailable(_)))
                && is_local(&endpoint.host)
                && !registries.is_plain(&endpoint.host)
            {
                let plain = registries.plain_client(credentials, &endpoint.host);
                let source = Source {
                    client: plain,
                    reference: at_endpoint(reference, &endpoint),
                    auth: auth.clone(),
                };
                if let Ok(found) = source.document(reference.digest()).await {
                    tracing::debug!(endpoint = %endpoint.host, "a local registry answered over plain HTTP");
                    result = Ok((source, found));
                }
            }
            match result {
                Ok((source, (bytes, digest))) => return Ok((source, bytes, digest)),
                Err(e) => {
                    tracing::debug!(endpoint = %endpoint.host, error = %e, "endpoint did not serve the image");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| PullError::Other("no endpoint to pull from".into())))
    }

    /// A manifest or index, by the reference's tag or by `digest`; verified against the digest.
    pub async fn document(&self, digest: Option<&str>) -> Result<(Vec<u8>, String), PullError> {
        let at = match digest {
            Some(d) => self.reference.clone_with_digest(d.to_string()),
            None => self.reference.clone(),
        };
        let (bytes, _) = self
            .client
            .pull_manifest_raw(&at, &self.auth, &ACCEPTED)
            .await
            .map_err(|e| PullError::from_registry(&format!("manifest of {at}"), e))?;
        let actual = sha256_digest(&bytes);
        if let Some(want) = digest {
            if actual != want {
                return Err(PullError::DataLoss(format!(
                    "manifest of {at}: got {actual}, wanted {want}"
                )));
            }
        }
        Ok((bytes.to_vec(), actual))
    }

    /// A small blob (an image config) into memory, verified.
    pub async fn blob(&self, d: &Descriptor) -> Result<Vec<u8>, PullError> {
        let mut out = Vec::with_capacity(d.size.max(0) as usize);
        self.client
            .pull_blob(&self.reference, d.digest.as_str(), &mut out)
            .await
            .map_err(|e| PullError::from_registry(&format!("blob {}", d.digest), e))?;
        if sha256_digest(&out) != d.digest {
            return Err(PullError::DataLoss(format!(
                "blob {} does not match its digest",
                d.digest
            )));
        }
        Ok(out)
    }

    /// A layer's bytes as they arrive. containerd checks size and digest as the write
    /// commits, so the registry client's own check is skipped where it can be: asked for
    /// the blob from its first byte on, it answers with a range it does not hash (hashing each
    /// layer twice took a third of cricket's CPU in a pull). A registry that ignores
    /// ranges sends the whole blob, which the client checks as before; an empty blob has
    /// no first byte to ask for.
    async fn layer_stream(
        &self,
        d: &Descriptor,
    ) -> Result<oci_client::client::SizedStream, oci_client::errors::OciDistributionError> {
        if d.size <= 0 {
            return self.client.pull_blob_stream(&self.reference, d.digest.as_str()).await;
        }
        match self
            .client
            .pull_blob_stream_partial(&self.reference, d.digest.as_str(), 0, None)
            .await?
        {
            oci_client::client::BlobResponse::Full(s)
            | oci_client::client::BlobResponse::Partial(s) => Ok(s),
        }
    }

    /// Streams a layer into containerd's content store (skipped if it is there already);
    /// fails if no byte arrives for `stall`.
    /// Returns the bytes fetched: 0 when containerd had the blob already.
    pub async fn blob_into(
        &self,
        containerd: &Containerd,
        lease: &Lease,
        d: &Descriptor,
        stall: Duration,
    ) -> Result<u64, PullError> {
        if containerd.blob_labels(&d.digest).await?.is_some() {
            containerd.lease_existing(lease, "content", &d.digest).await?;
            return Ok(0);
        }
        let what = format!("layer {}", d.digest);
        let mut stream =
            self.layer_stream(d).await.map_err(|e| PullError::from_registry(&what, e))?;
        let mut writer = containerd.content_writer(lease, &d.digest, d.size);
        let mut fetched = 0u64;
        loop {
            let chunk = match tokio::time::timeout(stall, stream.next()).await {
                Err(_) => Err(PullError::Stalled(stall)),
                Ok(None) => break,
                Ok(Some(Err(e))) if is_digest_mismatch(&e) => {
                    Err(PullError::DataLoss(format!("{what}: {e}")))
                }
                Ok(Some(Err(e))) => Err(PullError::Unavailable(format!("{what}: {e}"))),
                Ok(Some(Ok(bytes))) => Ok(bytes),
            };
            fetched += chunk.as_ref().map_or(0, |b| b.len() as u64);
            let written = match chunk {
                Ok(bytes) => {
                    writer.write(&bytes).await.map_err(|e| PullError::from_content(&what, e))
                }
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                writer.abort().await;
                return Err(e);
            }
        }
        writer.commit(Default::default()).await.map_err(|e| PullError::from_content(&what, e))?;
        Ok(fetched)
    }
}

/// `reference` as fetched from `endpoint`.
fn at_endpoint(reference: &Reference, endpoint: &Endpoint) -> Reference {
    let mut at = reference.clone();
    if endpoint.is_mirror {
        at.set_mirror_registry(endpoint.host.clone());
    }
    at
}

/// The registry client verifies as it streams and reports a mismatch as an I/O error.
fn is_digest_mismatch(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<oci_client::errors::DigestError>().is_some())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_verification_failure_from_the_registry_client_is_a_digest_mismatch() {
        let e = std::io::Error::other(oci_client::errors::DigestError::VerificationError {
            expected: "a".into(),
            actual: "b".into(),
        });
        assert!(super::is_digest_mismatch(&e));
        assert!(!super::is_digest_mismatch(&std::io::Error::other("connection reset")));
    }
}
