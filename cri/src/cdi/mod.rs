//! CDI, the Container Device Interface: device vendors describe their devices in spec files
//! (JSON or YAML, in `/etc/cdi` and `/var/run/cdi` by default); a container asks for devices by
//! fully qualified name (`vendor.com/class=name`) in `ContainerConfig.CDI_devices` or in
//! `cdi.k8s.io/*` annotations, and gets each device's edits in its OCI spec: device nodes,
//! mounts, environment, hooks and extra groups.

mod names;
mod registry;
mod resolve;
mod spec_file;

pub use registry::{CdiError, Registry};

use crate::api::v1::ContainerConfig;

/// Annotation keys with this prefix name CDI devices (comma-separated), the way device
/// plugins asked for them before `CDI_devices`.
pub const ANNOTATION_PREFIX: &str = "cdi.k8s.io/";

/// A device a container asks for: the request field that names it, and the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub field: String,
    pub name: String,
}

/// The devices `config` asks for, in order: `CDI_devices` first, then the annotations in key
/// order; each name once.
pub fn requested(config: &ContainerConfig) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    let mut push = |field: String, name: &str| {
        if !out.iter().any(|r| r.name == name) {
            out.push(Request { field, name: name.to_string() });
        }
    };
    for (i, d) in config.cdi_devices.iter().enumerate() {
        push(format!("config.CDI_devices[{i}].name"), &d.name);
    }
    let mut keys: Vec<&String> =
        config.annotations.keys().filter(|k| k.starts_with(ANNOTATION_PREFIX)).collect();
    keys.sort();
    for key in keys {
        for name in config.annotations[key].split(',').map(str::trim).filter(|n| !n.is_empty()) {
            push(format!("config.annotations[{key:?}]"), name);
        }
    }
    out
}

#[cfg(test)]
mod tests;
