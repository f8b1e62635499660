use std::path::PathBuf;
use std::time::Duration;

pub type Result<T, E = CniError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CniError {
    #[error("read CNI config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parse CNI config {path}: {detail}")]
    Parse { path: PathBuf, detail: String },
    #[error("CNI plugin {plugin:?} not found in {dirs:?}")]
    PluginNotFound { plugin: String, dirs: Vec<PathBuf> },
    /// The plugin's own error object (CNI spec §Error): its code, message and details.
    #[error("CNI plugin {plugin} {command} failed (code {code}): {msg}{}", if details.is_empty() { String::new() } else { format!(": {details}") })]
    Plugin { plugin: String, command: String, code: u32, msg: String, details: String },
    #[error("CNI plugin {plugin} {command} did not finish within {timeout:?}")]
    Timeout { plugin: String, command: String, timeout: Duration },
    #[error("CNI plugin {plugin} {command}: {detail}")]
    BadOutput { plugin: String, command: String, detail: String },
    #[error("CNI {what} {path}: {source}")]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("no cached ADD result for {0}")]
    NotCached(String),
}
