use std::path::{Path, PathBuf};

use super::validate::validate;
use super::Config;

/// Where `cricket serve` looks when no `--config` is given.
pub const DEFAULT_PATH: &str = "/etc/cricket/config.toml";

/// A configuration that cannot be used, naming the key (dotted path) or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {file}: {source}")]
    Read { file: PathBuf, source: std::io::Error },
    #[error("config {file}: {detail}")]
    Syntax { file: PathBuf, detail: String },
    #[error("config {file}: key `{key}`: {detail}")]
    Key { file: PathBuf, key: String, detail: String },
}

/// Loads the file at `path`, or all defaults when `path` is `None` and the default file is absent.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let file = path.map_or_else(|| PathBuf::from(DEFAULT_PATH), Path::to_path_buf);
    match std::fs::read_to_string(&file) {
        Ok(text) => load_str(&text, &file),
        Err(e) if path.is_none() && e.kind() == std::io::ErrorKind::NotFound => load_str("", &file),
        Err(source) => Err(ConfigError::Read { file, source }),
    }
}

/// Parses and validates TOML text; `file` only names the source in errors.
pub fn load_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
        file: file.into(),
        detail: e.to_string(),
    })?;
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            let detail = e.into_inner().to_string();
            ConfigError::Key {
                file: file.into(),
                key: if key == "." { "(top level)".into() } else { key },
                detail,
            }
        })?;
    validate(&config).map_err(|(key, detail)| ConfigError::Key {
        file: file.into(),
        key,
        detail,
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_TOML;

    fn err(text: &str) -> String {
        load_str(text, Path::new("t.toml")).unwrap_err().to_string()
    }

    #[test]
    fn the_printed_default_parses_to_the_built_in_default() {
        assert_eq!(load_str(DEFAULT_TOML, Path::new("d")).unwrap(), Config::default());
        assert_eq!(load_str("", Path::new("d")).unwrap(), Config::default());
    }

    #[test]
    fn the_shipped_manifest_config_is_the_default() {
        assert_eq!(
            include_str!("../../../manifests/config.toml"),
            DEFAULT_TOML,
            "run: cp cri/src/config/default.toml manifests/config.toml"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = err("lisen = \"/x\"");
        assert!(e.contains("lisen"), "{e}");
        let e = err("[containerd]\nadress = \"/x\"");
        assert!(e.contains("containerd") && e.contains("adress"), "{e}");
    }

    #[test]
    fn wrong_types_are_named_with_their_path() {
        let e = err("[images]\nmax_concurrent_downloads = \"three\"");
        assert!(e.contains("images.max_concurrent_downloads"), "{e}");
        let e = err("log_format = \"xml\"");
        assert!(e.contains("log_format"), "{e}");
        let e = err("[images]\nimage_pull_progress_timeout = \"soon\"");
        assert!(e.contains("images.image_pull_progress_timeout"), "{e}");
    }

    #[test]
    fn syntax_errors_name_the_file() {
        assert!(err("listen = ").contains("t.toml"));
    }

    #[test]
    fn a_missing_explicit_file_is_an_error_but_a_missing_default_is_not_checked_here() {
        let e = load(Some(Path::new("/nonexistent/cricket.toml"))).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/cricket.toml"), "{e}");
    }

    #[test]
    fn overrides_apply_and_other_keys_keep_defaults() {
        let c = load_str(
            "listen = \"/tmp/x.sock\"\n[containerd]\nnamespace = \"test\"",
            Path::new("t"),
        )
        .unwrap();
        assert_eq!(c.listen, PathBuf::from("/tmp/x.sock"));
        assert_eq!(c.containerd.namespace, "test");
        assert_eq!(c.containerd.snapshotter, "overlayfs");
        assert_eq!(c.containerd.default_runtime, "runc");
    }

    #[test]
    fn systemd_cgroup_follows_the_default_runtime() {
        let text = "[containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\noptions = { SystemdCgroup = true }";
        assert!(load_str(text, Path::new("t")).unwrap().systemd_cgroup());
        assert!(!Config::default().systemd_cgroup());
    }
}
