//! Finding a plugin binary across the configured directories.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{CniError, Result};

/// The first executable file named `plugin` in `dirs`, in order.
pub fn find_plugin(plugin: &str, dirs: &[PathBuf]) -> Result<PathBuf> {
    let not_found = || CniError::PluginNotFound { plugin: plugin.into(), dirs: dirs.to_vec() };
    if plugin.is_empty() || plugin.contains('/') || plugin == "." || plugin == ".." {
        return Err(not_found());
    }
    dirs.iter().map(|d| d.join(plugin)).find(|p| is_executable(p)).ok_or_else(not_found)
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_executable_in_order_wins_and_names_cannot_escape() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("bridge"), b"not executable").unwrap();
        std::fs::write(b.path().join("bridge"), b"#!/bin/sh\n").unwrap();
        std::fs::set_permissions(b.path().join("bridge"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let dirs = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        assert_eq!(find_plugin("bridge", &dirs).unwrap(), b.path().join("bridge"));
        assert!(matches!(find_plugin("portmap", &dirs), Err(CniError::PluginNotFound { .. })));
        assert!(find_plugin("../bridge", &dirs).is_err());
    }
}
