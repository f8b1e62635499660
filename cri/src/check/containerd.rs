//! Checks of containerd: that it answers, and that the shim (and runtime binary) of every
//! configured handler is installed where containerd looks for it (its PATH).

use std::path::{Path, PathBuf};
use std::time::Duration;

use containerd_bridge::{Containerd, ContainerdConfig, ContainerdVersion, Support};

use super::host::{find_executable, search_path};
use super::Finding;
use crate::config::{Config, RuntimeHandler};

pub async fn reachable(config: &Config) -> Finding {
    let c = &config.containerd;
    let address = c.address.display();
    // A plain connect first: its error is the clearest (no socket, refused, permission).
    if let Err(e) = tokio::net::UnixStream::connect(&c.address).await {
        return unreachable(&address.to_string(), &e.to_string());
    }
    let containerd = Containerd::new(ContainerdConfig {
        address: c.address.clone(),
        namespace: c.namespace.clone(),
        snapshotter: c.snapshotter.clone(),
    });
    let version = match containerd {
        Ok(cd) => cd.version(Duration::from_secs(3)).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match version {
        Ok(v) => supported(&v, &address.to_string()),
        Err(e) => unreachable(&address.to_string(), &e),
    }
}

/// Whether pods may have their own user namespace (`hostUsers: false`); not having them is
/// no failure, but the finding says what is missing.
pub async fn user_namespaces(config: &Config) -> Finding {
    let c = &config.containerd;
    let containerd = Containerd::new(ContainerdConfig {
        address: c.address.clone(),
        namespace: c.namespace.clone(),
        snapshotter: c.snapshotter.clone(),
    });
    let answer = match containerd {
        Ok(cd) => crate::runtime::user_namespaces::probe(&cd, &c.snapshotter).await,
        Err(e) => Err(e.to_string()),
    };
    let detail = match answer {
        Ok(Ok(())) => "supported: pods with hostUsers: false get their own".to_string(),
        Ok(Err(reason)) => {
            format!("not supported: {reason}; pods with hostUsers: false are refused")
        }
        Err(e) => format!("unknown, containerd did not answer: {e}"),
    };
    Finding::ok("user namespaces", detail)
}

/// The finding for the version containerd reported: which it is, and whether cricket runs on it.
fn supported(reported: &str, address: &str) -> Finding {
    let found = format!("{reported} at {address}");
    let Some(version) = ContainerdVersion::parse(reported) else {
        return Finding::ok(
            "containerd",
            format!("{found} (version not recognised; cricket is tested on 1.6 and 2.x)"),
        );
    };
    let line = format!("{}.{}", version.major, version.minor);
    match version.support() {
        Support::Supported => Finding::ok("containerd", format!("{found} ({line}: supported)")),
        Support::EndOfLife => Finding::ok("containerd", format!("{found} ({line}: supported, but past its end of life upstream; 2.x is current)")),
        Support::Untested => Finding::ok("containerd", format!("{found} ({line}: newer than cricket is tested on, 1.6 to 2.x)")),
        Support::TooOld => Finding::fail("containerd", format!("{found} ({line}: unsupported, cricket needs 1.6 or newer)"), "install containerd 1.6 or newer (Debian 12: apt-get install containerd; 2.x is current)"),
    }
}

fn unreachable(address: &str, error: &str) -> Finding {
    Finding::fail(
        "containerd",
        format!("no answer at {address}: {error}"),
        "start containerd (systemctl start containerd; manifests/setup-node.sh starts one), or set containerd.address to its socket",
    )
}

/// `io.containerd.runc.v2` → `containerd-shim-runc-v2`, as containerd resolves it; a runtime
/// type that is a path names the shim itself.
pub fn shim_binary(runtime_type: &str) -> Option<String> {
    if runtime_type.starts_with('/') {
        return Some(runtime_type.to_string());
    }
    let parts: Vec<&str> = runtime_type.split('.').collect();
    match parts.as_slice() {
        [.., name, version] if parts.len() >= 3 => {
            Some(format!("containerd-shim-{name}-{version}"))
        }
        _ => None,
    }
}

/// The OCI runtime binary a shim runs, when it runs one from PATH.
fn runtime_binary(handler: &RuntimeHandler) -> Option<String> {
    let named = handler.options.get("BinaryName").and_then(toml::Value::as_str).map(str::to_string);
    match handler.runtime_type.as_str() {
        "io.containerd.runc.v2" => Some(named.unwrap_or_else(|| "runc".into())),
        "io.containerd.runsc.v1" => Some(named.unwrap_or_else(|| "runsc".into())),
        _ => named,
    }
}

fn locate(name: &str, path: &[PathBuf]) -> Option<PathBuf> {
    if name.starts_with('/') {
        return Path::new(name).is_file().then(|| name.into());
    }
    find_executable(name, path)
}

fn install_hint(binary: &str) -> String {
    let package = match binary {
        "containerd-shim-runc-v2" => "apt-get install containerd",
        "runc" => "apt-get install runc",
        "containerd-shim-kata-v2" => "install Kata Containers (https://katacontainers.io)",
        "containerd-shim-runsc-v1" | "runsc" => {
            "install gVisor (https://gvisor.dev/docs/user_guide/install/)"
        }
        _ => "install it",
    };
    format!("{package}, or remove the handler's table from the config")
}

/// One finding per configured handler.
pub fn handlers_in(config: &Config, path: &[PathBuf]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, handler) in &config.containerd.runtimes {
        let what = format!("runtime handler {name:?}");
        let Some(shim) = shim_binary(&handler.runtime_type) else {
            out.push(Finding::fail(
                what,
                format!("runtime_type {:?} is not a containerd shim name", handler.runtime_type),
                "use a name such as io.containerd.runc.v2",
            ));
            continue;
        };
        let wanted: Vec<String> = std::iter::once(shim).chain(runtime_binary(handler)).collect();
        let missing: Vec<&String> = wanted.iter().filter(|b| locate(b, path).is_none()).collect();
        out.push(match missing.first() {
            None => Finding::ok(what, format!("{} found", wanted.join(" and "))),
            Some(b) => Finding::fail(what, format!("{b} not found in PATH"), install_hint(b)),
        });
    }
    out
}

pub fn handlers(config: &Config) -> Vec<Finding> {
    handlers_in(config, &search_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_names_follow_containerds_rule() {
        assert_eq!(
            shim_binary("io.containerd.runc.v2").as_deref(),
            Some("containerd-shim-runc-v2")
        );
        assert_eq!(
            shim_binary("io.containerd.kata.v2").as_deref(),
            Some("containerd-shim-kata-v2")
        );
        assert_eq!(
            shim_binary("io.containerd.runsc.v1").as_deref(),
            Some("containerd-shim-runsc-v1")
        );
        assert_eq!(shim_binary("/opt/shim").as_deref(), Some("/opt/shim"));
        assert_eq!(shim_binary("runc"), None);
    }

    #[test]
    fn a_missing_shim_is_named_with_its_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        let kata = RuntimeHandler {
            runtime_type: "io.containerd.kata.v2".into(),
            options: Default::default(),
            pause: Default::default(),
        };
        config.containerd.runtimes.insert("kata".into(), kata);
        let found = handlers_in(&config, &[tmp.path().to_path_buf()]);
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|f| !f.passed()));
        assert!(
            found[0].detail.contains("containerd-shim-kata-v2")
                && found[0].fix.as_ref().unwrap().contains("Kata"),
            "{:?}",
            found[0]
        );
        assert!(found[1].detail.contains("containerd-shim-runc-v2"), "{:?}", found[1]);
    }
}
