//! Checks of pod networking: a plugin directory, a valid network config in the conf dir, and
//! every plugin that config names installed.

use std::path::{Path, PathBuf};

use super::host::find_executable;
use super::Finding;

const DEFAULT_NETWORK: &str = "cp manifests/cni/10-cricket-bridge.conflist";

pub fn network(conf_dir: &Path, bin_dirs: &[PathBuf]) -> Vec<Finding> {
    let dirs: Vec<String> = bin_dirs.iter().map(|d| d.display().to_string()).collect();
    let present: Vec<&PathBuf> = bin_dirs.iter().filter(|d| d.is_dir()).collect();
    let bins = if present.is_empty() {
        Finding::fail(
            "CNI plugins",
            format!("none of {} exists", dirs.join(", ")),
            "apt-get install containernetworking-plugins (into /usr/lib/cni)",
        )
    } else {
        Finding::ok(
            "CNI plugins",
            present.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "),
        )
    };
    let what = "CNI network";
    let conf = conf_dir.display();
    let net = match cni::load_default_network(conf_dir) {
        Ok(Some(list)) => {
            let missing: Vec<&str> = list
                .plugins
                .iter()
                .map(|p| p.plugin_type.as_str())
                .filter(|t| find_executable(t, bin_dirs).is_none())
                .collect();
            if missing.is_empty() {
                Finding::ok(
                    what,
                    format!(
                        "{:?} from {conf} ({} plugin(s), cniVersion {})",
                        list.name,
                        list.plugins.len(),
                        list.cni_version
                    ),
                )
            } else {
                Finding::fail(
                    what,
                    format!("{:?} from {conf} uses {} not found in {}", list.name, missing.join(", "), dirs.join(", ")),
                    "install the plugins (apt-get install containernetworking-plugins) or add their directory to cni.bin_dirs",
                )
            }
        }
        Ok(None) => Finding::fail(
            what,
            format!("no network config in {conf}"),
            format!("install one: {DEFAULT_NETWORK} {conf}/"),
        ),
        Err(e) => Finding::fail(
            what,
            format!("no valid network config in {conf}: {e}"),
            format!("fix that file, or install the default: {DEFAULT_NETWORK} {conf}/"),
        ),
    };
    vec![bins, net]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_empty_conf_dir_and_a_missing_plugin_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        let (conf, bin) = (tmp.path().join("net.d"), tmp.path().join("bin"));
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let found = network(&conf, std::slice::from_ref(&bin));
        assert!(found[0].passed());
        assert!(
            found[1].detail.contains("no network config")
                && found[1].fix.as_ref().unwrap().contains("10-cricket-bridge.conflist"),
            "{:?}",
            found[1]
        );

        std::fs::write(conf.join("10-a.conflist"), br#"{"name":"a","cniVersion":"1.0.0","plugins":[{"type":"bridge"},{"type":"portmap"}]}"#).unwrap();
        let found = network(&conf, std::slice::from_ref(&bin));
        assert!(found[1].detail.contains("bridge, portmap not found"), "{:?}", found[1]);
        for p in ["bridge", "portmap"] {
            std::fs::write(bin.join(p), "").unwrap();
            std::fs::set_permissions(bin.join(p), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert!(network(&conf, std::slice::from_ref(&bin))[1].passed());
        assert!(!network(&conf, &[tmp.path().join("absent")])[0].passed());
    }
}
