//! cricket's configuration: the TOML schema, its defaults and its validation.
//! Key names are a contract with the deploy manifests and tests; keep them.

mod load;
mod validate;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use load::{load, load_str, ConfigError, DEFAULT_PATH};

/// The commented default configuration that `cricket config default` prints.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: PathBuf,
    pub root_dir: PathBuf,
    pub state_dir: PathBuf,
    pub log_level: String,
    pub log_format: LogFormat,
    pub containerd: ContainerdSection,
    pub cni: CniSection,
    pub cdi: CdiSection,
    pub images: ImagesSection,
    pub streaming: StreamingSection,
    pub metrics: MetricsSection,
}

/// cricket's own Prometheus endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSection {
    /// `host:port` to serve `/metrics` on; empty: off.
    pub address: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContainerdSection {
    pub address: PathBuf,
    pub namespace: String,
    pub snapshotter: String,
    pub default_runtime: String,
    pub runtimes: BTreeMap<String, RuntimeHandler>,
}

/// A runtime handler: the containerd shim to run and the options handed to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeHandler {
    pub runtime_type: String,
    #[serde(default)]
    pub options: toml::Table,
    #[serde(default)]
    pub pause: PauseMode,
}

/// Whether a pod gets a pause process. Without one, its namespaces are pinned files and the
/// first container starts the shim, which saves a runc run per pod (CRI-O's `drop_infra_ctr`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseMode {
    /// Only where it does something: runtimes other than the runc shim (VM sandboxes),
    /// and pods that share one PID namespace (the pause is its init).
    #[default]
    WhenNeeded,
    Always,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CniSection {
    pub bin_dirs: Vec<PathBuf>,
    pub conf_dir: PathBuf,
    /// One plugin call longer than this is killed, with every process it started.
    #[serde(with = "humantime_serde_str")]
    pub plugin_timeout: std::time::Duration,
}

/// Where CDI device specs are read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CdiSection {
    /// Spec directories, in rising priority: a later one's device wins over an earlier one's.
    pub spec_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImagesSection {
    pub sandbox_image: String,
    pub max_concurrent_downloads: u32,
    #[serde(with = "humantime_serde_str")]
    pub image_pull_progress_timeout: std::time::Duration,
    pub registries: BTreeMap<String, RegistryConfig>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistryConfig {
    pub insecure: bool,
    pub mirrors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamingSection {
    pub address: String,
    pub port: u16,
    /// How long a client may take to open its streams after connecting.
    #[serde(with = "humantime_serde_str")]
    pub stream_creation_timeout: std::time::Duration,
    /// A session with no data either way for this long is closed.
    #[serde(with = "humantime_serde_str")]
    pub stream_idle_timeout: std::time::Duration,
    /// PEM certificate chain and key: serve HTTPS. Both empty: plain HTTP.
    pub tls_cert_file: PathBuf,
    pub tls_key_file: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "/run/cricket/cricket.sock".into(),
            root_dir: "/var/lib/cricket".into(),
            state_dir: "/run/cricket".into(),
            log_level: "info".into(),
            log_format: LogFormat::Text,
            containerd: ContainerdSection::default(),
            cni: CniSection::default(),
            cdi: CdiSection::default(),
            images: ImagesSection::default(),
            streaming: StreamingSection::default(),
            metrics: MetricsSection::default(),
        }
    }
}

impl Default for ContainerdSection {
    fn default() -> Self {
        let runc = RuntimeHandler {
            runtime_type: "io.containerd.runc.v2".into(),
            options: toml::Table::from_iter([(
                "SystemdCgroup".to_string(),
                toml::Value::Boolean(false),
            )]),
            pause: PauseMode::WhenNeeded,
        };
        ContainerdSection {
            address: "/run/containerd/containerd.sock".into(),
            namespace: "k8s.io".into(),
            snapshotter: "overlayfs".into(),
            default_runtime: "runc".into(),
            runtimes: BTreeMap::from([("runc".to_string(), runc)]),
        }
    }
}

impl Default for CniSection {
    fn default() -> Self {
        CniSection {
            bin_dirs: vec!["/opt/cni/bin".into(), "/usr/lib/cni".into()],
            conf_dir: "/etc/cni/net.d".into(),
            plugin_timeout: std::time::Duration::from_secs(60),
        }
    }
}

impl Default for CdiSection {
    fn default() -> Self {
        CdiSection { spec_dirs: vec!["/etc/cdi".into(), "/var/run/cdi".into()] }
    }
}

impl Default for ImagesSection {
    fn default() -> Self {
        ImagesSection {
            sandbox_image: String::new(),
            max_concurrent_downloads: 3,
            image_pull_progress_timeout: std::time::Duration::from_secs(300),
            registries: BTreeMap::new(),
        }
    }
}

impl Default for StreamingSection {
    fn default() -> Self {
        StreamingSection {
            address: "127.0.0.1".into(),
            port: 0,
            stream_creation_timeout: std::time::Duration::from_secs(30),
            stream_idle_timeout: std::time::Duration::from_secs(4 * 3600),
            tls_cert_file: PathBuf::new(),
            tls_key_file: PathBuf::new(),
        }
    }
}

impl Config {
    /// The handler used when a pod names none.
    pub fn default_handler(&self) -> Option<&RuntimeHandler> {
        self.containerd.runtimes.get(&self.containerd.default_runtime)
    }

    /// Whether the default runtime puts containers in systemd-managed cgroups.
    pub fn systemd_cgroup(&self) -> bool {
        self.default_handler()
            .and_then(|h| h.options.get("SystemdCgroup"))
            .and_then(toml::Value::as_bool)
            .unwrap_or(false)
    }
}

/// Durations as humantime strings ("5m", "90s") in the TOML.
mod humantime_serde_str {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
    }
}
