use std::path::PathBuf;

pub type Result<T, E = CniError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CniError {
    #[error("read CNI config {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parse CNI config {path}: {detail}")]
    Parse { path: PathBuf, detail: String },
}
