//! Image manifests and indexes, OCI and Docker schema 2, and choosing this host's platform.

use std::collections::HashMap;

use serde::Deserialize;

use super::error::PullError;
use crate::oci_image::host_architecture;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// What cricket asks registries for.
pub const ACCEPTED: [&str; 4] = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// Layer media types containerd's diff service can apply.
const LAYER_TYPES: [&str; 7] = [
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    #[serde(default)]
    pub platform: Option<Platform>,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(default)]
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    #[serde(default)]
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Manifest(ImageManifest),
    Index(ImageIndex),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shape {
    #[serde(default)]
    schema_version: i64,
    #[serde(default)]
    media_type: String,
    manifests: Option<serde_json::Value>,
}

impl Document {
    /// Parses a manifest or an index; `media_type` is the registry's Content-Type if known.
    pub fn parse(bytes: &[u8]) -> Result<Document, PullError> {
        let bad = |e: serde_json::Error| PullError::Unsupported(format!("malformed manifest: {e}"));
        let shape: Shape = serde_json::from_slice(bytes).map_err(bad)?;
        if shape.schema_version != 2 {
            return Err(PullError::Unsupported(format!(
                "manifest schema version {} (only 2 is supported)",
                shape.schema_version
            )));
        }
        let is_index = matches!(shape.media_type.as_str(), OCI_INDEX | DOCKER_LIST)
            || shape.manifests.is_some();
        if is_index {
            return Ok(Document::Index(serde_json::from_slice(bytes).map_err(bad)?));
        }
        let manifest: ImageManifest = serde_json::from_slice(bytes).map_err(bad)?;
        if let Some(layer) =
            manifest.layers.iter().find(|l| !LAYER_TYPES.contains(&l.media_type.as_str()))
        {
            return Err(PullError::Unsupported(format!(
                "layer {} has media type {:?}",
                layer.digest, layer.media_type
            )));
        }
        Ok(Document::Manifest(manifest))
    }

    pub fn media_type(&self) -> &str {
        match self {
            Document::Manifest(m) if !m.media_type.is_empty() => &m.media_type,
            Document::Manifest(_) => OCI_MANIFEST,
            Document::Index(i) if !i.media_type.is_empty() => &i.media_type,
            Document::Index(_) => OCI_INDEX,
        }
    }
}

/// The platform images are chosen for: this host's.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPlatform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

impl HostPlatform {
    pub fn current() -> HostPlatform {
        let architecture = host_architecture().to_string();
        let variant = if architecture == "arm64" { "v8".to_string() } else { String::new() };
        HostPlatform { os: "linux".into(), architecture, variant }
    }

    /// The entry of `index` for this platform: same OS and architecture, the same variant
    /// preferred, an entry without variant accepted.
    pub fn select<'a>(&self, index: &'a ImageIndex) -> Option<(usize, &'a Descriptor)> {
        let candidates = || {
            index.manifests.iter().enumerate().filter(|(_, d)| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| p.os == self.os && p.architecture == self.architecture)
            })
        };
        let variant =
            |d: &Descriptor| d.platform.as_ref().map(|p| p.variant.clone()).unwrap_or_default();
        candidates()
            .find(|(_, d)| variant(d) == self.variant)
            .or_else(|| candidates().find(|(_, d)| variant(d).is_empty()))
            .or_else(|| candidates().next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(platforms: &[(&str, &str, &str)]) -> ImageIndex {
        let manifests = platforms
            .iter()
            .enumerate()
            .map(|(i, (os, arch, variant))| Descriptor {
                media_type: OCI_MANIFEST.into(),
                digest: format!("sha256:{i}"),
                size: 1,
                platform: Some(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: variant.to_string(),
                }),
                annotations: HashMap::new(),
            })
            .collect();
        ImageIndex { media_type: OCI_INDEX.into(), manifests }
    }

    #[test]
    fn selects_this_hosts_platform() {
        let host = HostPlatform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: String::new(),
        };
        let idx =
            index(&[("linux", "arm64", "v8"), ("windows", "amd64", ""), ("linux", "amd64", "")]);
        assert_eq!(host.select(&idx).unwrap().0, 2);
        assert!(host.select(&index(&[("linux", "arm64", "v8")])).is_none());
        let arm =
            HostPlatform { os: "linux".into(), architecture: "arm64".into(), variant: "v8".into() };
        assert_eq!(
            arm.select(&index(&[("linux", "arm64", ""), ("linux", "arm64", "v8")])).unwrap().0,
            1
        );
    }

    #[test]
    fn parses_docker_and_oci_documents() {
        let docker = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:c","size":2},
            "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"sha256:l","size":3}]}"#;
        let Document::Manifest(m) = Document::parse(docker).unwrap() else { panic!() };
        assert_eq!(m.layers[0].digest, "sha256:l");
        let list = br#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:a","size":1,"platform":{"architecture":"amd64","os":"linux"}}]}"#;
        let doc = Document::parse(list).unwrap();
        assert!(matches!(doc, Document::Index(_)));
        assert_eq!(doc.media_type(), OCI_INDEX);
    }

    #[test]
    fn refuses_schema_1_and_unknown_layer_types() {
        assert!(matches!(
            Document::parse(br#"{"schemaVersion":1,"fsLayers":[]}"#),
            Err(PullError::Unsupported(_))
        ));
        let odd = br#"{"schemaVersion":2,"config":{"digest":"sha256:c","size":2},"layers":[{"mediaType":"application/x-wasm","digest":"sha256:l","size":3}]}"#;
        let err = Document::parse(odd).unwrap_err().to_string();
        assert!(err.contains("application/x-wasm"), "{err}");
        assert!(Document::parse(b"not json").is_err());
    }
}
