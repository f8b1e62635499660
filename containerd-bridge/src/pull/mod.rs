//! Pulling images from registries straight into containerd: the manifest (choosing this host's
//! platform from an index), the config, the layers in parallel into the content store with the
//! GC labels that keep the tree alive, unpacking into the snapshotter, and the image records
//! last. Everything is written under a lease; a failed pull deletes it synchronously so nothing
//! half-written survives.

mod credentials;
mod error;
mod manifest;
mod reference;
mod registry;
mod source;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use containerd_client::types::Descriptor as ContainerdDescriptor;
use oci_client::Reference;
use tokio::sync::oneshot;

pub use credentials::Credentials;
pub use error::PullError;
pub use manifest::{Document, HostPlatform, ImageIndex, ImageManifest};
pub use reference::{digest_name, normalize, tag_name};
pub use registry::HostConfig;

use self::manifest::Descriptor;
use self::registry::Registries;
use self::source::Source;
use crate::connection::Containerd;
use crate::digest::chain_ids;
use crate::gc_labels;
use crate::image_store::ImageRecord;
use crate::lease::Lease;
use crate::unpack::LayerToUnpack;

/// Long enough for any pull; a crashed cricket's leftovers are freed by its expiry at the latest.
const PULL_LEASE_TTL: Duration = Duration::from_secs(6 * 3600);

/// How pulls are done.
#[derive(Debug, Clone)]
pub struct PullSettings {
    pub hosts: BTreeMap<String, HostConfig>,
    pub max_concurrent_downloads: usize,
    /// A download with no byte arriving for this long fails.
    pub progress_timeout: Duration,
}

/// What a pull recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct PulledImage {
    /// The image record names: `registry/repo:tag` (if pulled by tag) and `registry/repo@digest`.
    pub names: Vec<String>,
    /// The top-level manifest or index the records point at.
    pub target: ContainerdDescriptor,
    /// This platform's manifest.
    pub manifest_digest: String,
    /// The image ID.
    pub config_digest: String,
    /// The layer bytes downloaded (layers containerd had already cost nothing).
    pub downloaded_bytes: u64,
}

pub struct Puller {
    containerd: Containerd,
    registries: Registries,
    settings: PullSettings,
    platform: HostPlatform,
}

impl Puller {
    pub fn new(containerd: Containerd, settings: PullSettings) -> Puller {
        let registries = Registries::new(settings.hosts.clone(), settings.progress_timeout);
        Puller { containerd, registries, settings, platform: HostPlatform::current() }
    }

    /// Pulls `reference` and records it with `labels`.
    pub async fn pull(
        &self,
        reference: &str,
        credentials: &Credentials,
        labels: &HashMap<String, String>,
    ) -> Result<PulledImage, PullError> {
        let reference = normalize(reference)?;
        let lease = self.containerd.create_lease("pull", PULL_LEASE_TTL).await?;
        let mut guard =
            DroppedPull { containerd: self.containerd.clone(), lease: Some(lease.clone()) };
        let result = self.pull_under_lease(&lease, &reference, credentials, labels).await;
        guard.lease = None;
        // A finished pull's content is held by its image records from now on; a failed one's
        // is collected before we answer.
        if let Err(e) = self.containerd.delete_lease(&lease, result.is_err()).await {
            tracing::warn!(lease = lease.id(), error = %e, "could not delete the pull lease; it will expire");
        }
        result
    }

    async fn pull_under_lease(
        &self,
        lease: &Lease,
        reference: &Reference,
        credentials: &Credentials,
        labels: &HashMap<String, String>,
    ) -> Result<PulledImage, PullError> {
        let (source, top_bytes, top_digest) =
            Source::resolve(&self.registries, reference, credentials).await?;
        let top = Document::parse(&top_bytes)?;
        let (manifest_bytes, manifest_digest, child) = match &top {
            Document::Manifest(_) => (top_bytes.clone(), top_digest.clone(), None),
            Document::Index(index) => {
                let (i, entry) = self.platform.select(index).ok_or_else(|| {
                    PullError::NotFound(format!(
                        "{reference}: no manifest for {}/{} in its index",
                        self.platform.os, self.platform.architecture
                    ))
                })?;
                let (bytes, digest) = source.document(Some(&entry.digest)).await?;
                (bytes, digest, Some(i))
            }
        };
        let Document::Manifest(manifest) = Document::parse(&manifest_bytes)? else {
            return Err(PullError::Unsupported(format!("{reference}: an index inside an index")));
        };
        let config = source.blob(&manifest.config).await?;
        let diff_ids = diff_ids(&config, manifest.layers.len())?;
        let downloaded_bytes =
            self.fetch_and_unpack(&source, lease, &manifest.layers, &diff_ids).await?;
        self.store_documents(
            lease,
            &manifest,
            &config,
            &diff_ids,
            &manifest_bytes,
            &manifest_digest,
        )
        .await?;
        if let Some(i) = child {
            let labels = HashMap::from([(gc_labels::ref_manifest(i), manifest_digest.clone())]);
            self.containerd.ensure_blob(lease, &top_digest, &top_bytes, labels).await?;
        }

        let target = ContainerdDescriptor {
            media_type: top.media_type().to_string(),
            digest: top_digest.clone(),
            size: top_bytes.len() as i64,
            annotations: HashMap::new(),
        };
        let names: Vec<String> =
            tag_name(reference).into_iter().chain([digest_name(reference, &top_digest)]).collect();
        for name in &names {
            let record =
                ImageRecord { name: name.clone(), target: target.clone(), labels: labels.clone() };
            self.containerd.put_image(&record).await?;
        }
        Ok(PulledImage {
            names,
            target,
            manifest_digest,
            config_digest: manifest.config.digest,
            downloaded_bytes,
        })
    }

    /// Downloads the layers, at most `max_concurrent_downloads` at a time, and unpacks each
    /// as soon as it and every layer below it have arrived, so unpacking overlaps downloading.
    /// Returns the bytes downloaded.
    async fn fetch_and_unpack(
        &self,
        source: &Source,
        lease: &Lease,
        layers: &[Descriptor],
        diff_ids: &[String],
    ) -> Result<u64, PullError> {
        let chain = chain_ids(diff_ids);
        let (arrived, arrivals): (Vec<_>, Vec<_>) =
            layers.iter().map(|_| oneshot::channel::<()>()).unzip();
        let permits = tokio::sync::Semaphore::new(self.settings.max_concurrent_downloads.max(1));
        let stall = self.settings.progress_timeout;
        let mut downloads = Vec::with_capacity(layers.len());
        for (layer, arrived) in layers.iter().zip(arrived) {
            let permits = &permits;
            downloads.push(async move {
                let _permit =
                    permits.acquire().await.map_err(|e| PullError::Other(e.to_string()))?;
                let began = std::time::Instant::now();
                let fetched = source.blob_into(&self.containerd, lease, layer, stall).await?;
                tracing::debug!(layer = %layer.digest, bytes = fetched, took = ?began.elapsed(), "layer downloaded");
                let _ = arrived.send(());
                Ok::<u64, PullError>(fetched)
            });
        }
        let unpacking = async {
            for (i, arrival) in arrivals.into_iter().enumerate() {
                if arrival.await.is_err() {
                    return Ok(()); // that download failed; the downloads report why
                }
                let layer =
                    LayerToUnpack { blob: to_containerd(&layers[i]), diff_id: diff_ids[i].clone() };
                let parent = if i == 0 { "" } else { chain[i - 1].as_str() };
                let began = std::time::Instant::now();
                self.containerd.unpack_one(lease, &layer, parent, &chain[i]).await?;
                tracing::debug!(layer = %layer.blob.digest, took = ?began.elapsed(), "layer unpacked");
            }
            Ok::<(), PullError>(())
        };
        let (fetched, ()) =
            futures::future::try_join(futures::future::try_join_all(downloads), unpacking).await?;
        Ok(fetched.into_iter().sum())
    }

    /// Writes config and manifest blobs with the labels that keep layers and snapshots alive.
    async fn store_documents(
        &self,
        lease: &Lease,
        manifest: &ImageManifest,
        config: &[u8],
        diff_ids: &[String],
        manifest_bytes: &[u8],
        manifest_digest: &str,
    ) -> Result<(), PullError> {
        let top_chain = chain_ids(diff_ids).pop().unwrap_or_default();
        let config_labels =
            HashMap::from([(gc_labels::ref_snapshot(self.containerd.snapshotter()), top_chain)]);
        self.containerd.ensure_blob(lease, &manifest.config.digest, config, config_labels).await?;
        let mut labels =
            HashMap::from([(gc_labels::REF_CONFIG.to_string(), manifest.config.digest.clone())]);
        for (i, layer) in manifest.layers.iter().enumerate() {
            labels.insert(gc_labels::ref_layer(i), layer.digest.clone());
        }
        self.containerd.ensure_blob(lease, manifest_digest, manifest_bytes, labels).await?;
        Ok(())
    }
}

/// Frees a pull's lease (and, synchronously, what only it held) when the pull is dropped
/// before it finishes: cancelled by the last caller waiting for it.
struct DroppedPull {
    containerd: Containerd,
    lease: Option<Lease>,
}

impl Drop for DroppedPull {
    fn drop(&mut self) {
        let (Some(lease), Ok(runtime)) = (self.lease.take(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let containerd = self.containerd.clone();
        runtime.spawn(async move {
            if let Err(e) = containerd.delete_lease(&lease, true).await {
                tracing::warn!(lease = lease.id(), error = %e, "could not free a cancelled pull's lease; it will expire");
            }
        });
    }
}

fn to_containerd(d: &Descriptor) -> ContainerdDescriptor {
    ContainerdDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size,
        annotations: HashMap::new(),
    }
}

/// The uncompressed layer digests from an image config; there must be one per layer.
pub fn diff_ids(config: &[u8], layers: usize) -> Result<Vec<String>, PullError> {
    let value: serde_json::Value = serde_json::from_slice(config)
        .map_err(|e| PullError::Unsupported(format!("image config: {e}")))?;
    let ids: Vec<String> = value["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if ids.len() != layers {
        return Err(PullError::DataLoss(format!(
            "image config lists {} layers, the manifest {layers}",
            ids.len()
        )));
    }
    Ok(ids)
}

/// Compile-time guard: pulls run in spawned tasks, so their futures must be `Send` for any
/// borrow (stream combinators over borrowing closures once broke this).
#[cfg(test)]
mod send_check {
    fn is_send<T: Send>(_: &T) {}
    #[allow(dead_code)]
    async fn check(
        p: &super::Puller,
        c: &super::Credentials,
        l: &std::collections::HashMap<String, String>,
        s: &super::Source,
        cd: &crate::Containerd,
        lease: &crate::Lease,
        d: &super::Descriptor,
    ) {
        is_send(&p.pull("x", c, l));
        is_send(&s.blob_into(cd, lease, d, std::time::Duration::from_secs(1)));
        is_send(&super::Source::resolve(&p.registries, &"x".parse().unwrap(), c));
        is_send(&cd.content_writer(lease, "d", 1).write(b"x"));
    }
}
