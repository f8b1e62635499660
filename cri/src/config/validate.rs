use std::net::IpAddr;
use std::path::Path;

use super::Config;

/// (dotted key, what is wrong with it)
pub(super) type Invalid = (String, String);

/// Checks what types alone cannot: absolute paths, known handlers, parsable values.
pub(super) fn validate(c: &Config) -> Result<(), Invalid> {
    absolute("listen", &c.listen)?;
    absolute("root_dir", &c.root_dir)?;
    absolute("state_dir", &c.state_dir)?;
    absolute("containerd.address", &c.containerd.address)?;
    absolute("cni.conf_dir", &c.cni.conf_dir)?;
    for (i, dir) in c.cni.bin_dirs.iter().enumerate() {
        absolute(&format!("cni.bin_dirs[{i}]"), dir)?;
    }
    for (i, dir) in c.cdi.spec_dirs.iter().enumerate() {
        absolute(&format!("cdi.spec_dirs[{i}]"), dir)?;
    }
    if c.cni.plugin_timeout.is_zero() {
        return Err(bad("cni.plugin_timeout", "must be more than zero"));
    }
    tracing_subscriber::EnvFilter::try_new(&c.log_level).map_err(|e| {
        bad("log_level", format!("{:?} is not a log level or filter: {e}", c.log_level))
    })?;
    not_empty("containerd.namespace", &c.containerd.namespace)?;
    not_empty("containerd.snapshotter", &c.containerd.snapshotter)?;
    validate_runtimes(c)?;
    if c.images.max_concurrent_downloads == 0 {
        return Err(bad("images.max_concurrent_downloads", "must be at least 1"));
    }
    for (host, registry) in &c.images.registries {
        for (i, mirror) in registry.mirrors.iter().enumerate() {
            if !(mirror.starts_with("http://") || mirror.starts_with("https://")) {
                let key = format!("images.registries.\"{host}\".mirrors[{i}]");
                return Err(bad(&key, format!("{mirror:?} must start with http:// or https://")));
            }
        }
    }
    c.streaming.address.parse::<IpAddr>().map_err(|_| {
        bad("streaming.address", format!("{:?} is not an IP address", c.streaming.address))
    })?;
    let (cert, key) = (&c.streaming.tls_cert_file, &c.streaming.tls_key_file);
    if cert.as_os_str().is_empty() != key.as_os_str().is_empty() {
        let missing = if cert.as_os_str().is_empty() {
            "streaming.tls_cert_file"
        } else {
            "streaming.tls_key_file"
        };
        return Err(bad(missing, "TLS needs both the certificate and the key"));
    }
    if !c.metrics.address.is_empty() && c.metrics.address.parse::<std::net::SocketAddr>().is_err() {
        return Err(bad(
            "metrics.address",
            format!(
                "{:?} is not an IP address and port, such as 127.0.0.1:9090",
                c.metrics.address
            ),
        ));
    }
    Ok(())
}

fn validate_runtimes(c: &Config) -> Result<(), Invalid> {
    if !c.containerd.runtimes.contains_key(&c.containerd.default_runtime) {
        let detail = format!(
            "{:?} has no [containerd.runtimes.{}] table",
            c.containerd.default_runtime, c.containerd.default_runtime
        );
        return Err(bad("containerd.default_runtime", detail));
    }
    for (name, handler) in &c.containerd.runtimes {
        not_empty(&format!("containerd.runtimes.{name}.runtime_type"), &handler.runtime_type)?;
        if let Some(v) = handler.options.get("SystemdCgroup") {
            if !v.is_bool() {
                return Err(bad(
                    &format!("containerd.runtimes.{name}.options.SystemdCgroup"),
                    "must be true or false",
                ));
            }
        }
    }
    Ok(())
}

fn absolute(key: &str, path: &Path) -> Result<(), Invalid> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(bad(key, format!("{} is not an absolute path", path.display())))
    }
}

fn not_empty(key: &str, value: &str) -> Result<(), Invalid> {
    if value.is_empty() {
        Err(bad(key, "must not be empty"))
    } else {
        Ok(())
    }
}

fn bad(key: &str, detail: impl Into<String>) -> Invalid {
    (key.to_string(), detail.into())
}

#[cfg(test)]
mod tests {
    use crate::config::load_str;
    use std::path::Path;

    fn err(text: &str) -> String {
        load_str(text, Path::new("t.toml")).unwrap_err().to_string()
    }

    #[test]
    fn relative_paths_are_refused_by_key() {
        assert!(err("root_dir = \"var/lib\"").contains("`root_dir`"));
        assert!(err("[cni]\nbin_dirs = [\"/ok\", \"rel\"]").contains("`cni.bin_dirs[1]`"));
    }

    #[test]
    fn default_runtime_must_exist_and_options_must_be_typed() {
        let e = err("[containerd]\ndefault_runtime = \"kata\"");
        assert!(e.contains("`containerd.default_runtime`"), "{e}");
        let e = err("[containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\noptions = { SystemdCgroup = \"yes\" }");
        assert!(e.contains("SystemdCgroup"), "{e}");
    }

    #[test]
    fn values_that_do_not_parse_are_named() {
        assert!(err("log_level = \"loud=[\"").contains("`log_level`"));
        assert!(err("[streaming]\naddress = \"localhost:1\"").contains("`streaming.address`"));
        assert!(err("[streaming]\ntls_cert_file = \"/c.pem\"").contains("`streaming.tls_key_file`"));
        assert!(err("[metrics]\naddress = \"localhost\"").contains("`metrics.address`"));
        assert!(err("[images]\nmax_concurrent_downloads = 0")
            .contains("`images.max_concurrent_downloads`"));
        let e = err("[images.registries.\"*\"]\nmirrors = [\"127.0.0.1:5000\"]");
        assert!(e.contains("mirrors[0]"), "{e}");
    }
}
