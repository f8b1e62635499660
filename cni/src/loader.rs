use std::path::{Path, PathBuf};

use crate::conflist::NetworkConfigList;
use crate::error::{CniError, Result};

/// The network cricket uses: the first valid config file in `dir` in lexical order
/// (`.conflist`, or single-plugin `.conf`/`.json`), as kubelet-era runtimes do.
/// `Ok(None)` when the directory is missing or holds no usable config; invalid files are
/// skipped, and the last such error is returned only if nothing else loads.
pub fn load_default_network(dir: &Path) -> Result<Option<NetworkConfigList>> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(CniError::Read { path: dir.into(), source }),
    };
    files.sort();
    let mut last_error = None;
    for path in files {
        let parse: fn(&Path, &[u8]) -> Result<NetworkConfigList> =
            match path.extension().and_then(|e| e.to_str()) {
                Some("conflist") => NetworkConfigList::parse_list,
                Some("conf") | Some("json") => NetworkConfigList::parse_single,
                _ => continue,
            };
        let loaded = std::fs::read(&path)
            .map_err(|source| CniError::Read { path: path.clone(), source })
            .and_then(|bytes| parse(&path, &bytes));
        match loaded {
            Ok(list) => return Ok(Some(list)),
            Err(e) => last_error = Some(e),
        }
    }
    last_error.map_or(Ok(None), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_or_empty_dir_has_no_network() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_default_network(&dir.path().join("absent")).unwrap().is_none());
        assert!(load_default_network(dir.path()).unwrap().is_none());
    }

    #[test]
    fn first_file_in_lexical_order_wins_and_broken_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("05-broken.conflist"), b"{").unwrap();
        std::fs::write(
            dir.path().join("10-a.conflist"),
            br#"{"name":"a","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("20-b.conflist"),
            br#"{"name":"b","cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("00-notes.txt"), b"ignored").unwrap();
        assert_eq!(load_default_network(dir.path()).unwrap().unwrap().name, "a");
    }

    #[test]
    fn only_broken_files_report_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("10-x.conflist"), b"not json").unwrap();
        let err = load_default_network(dir.path()).unwrap_err().to_string();
        assert!(err.contains("10-x.conflist"), "{err}");
    }
}
