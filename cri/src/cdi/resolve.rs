//! A spec file's edits turned into OCI terms: each device node's type, numbers and mode read
//! from its host file where the spec leaves them out, mounts and hooks in the spec's shape.

use std::os::unix::fs::{FileTypeExt, MetadataExt};

use oci_spec::runtime::{
    Hook, HookBuilder, LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType, Mount, MountBuilder,
};

use super::spec_file::{self, ContainerEdits, DeviceNode};
use crate::spec::{CdiEdits, HookPoint};

fn node_type(kind: &str) -> LinuxDeviceType {
    match kind {
        "b" => LinuxDeviceType::B,
        "u" => LinuxDeviceType::U,
        "p" => LinuxDeviceType::P,
        _ => LinuxDeviceType::C,
    }
}

/// The node as the container gets it; the host file fills in what the spec leaves out.
fn device(n: &DeviceNode) -> Result<(LinuxDevice, String), String> {
    let host = n.host_path.as_deref().unwrap_or(&n.path);
    let complete = n.kind.as_deref() == Some("p") || (n.kind.is_some() && n.major.is_some());
    let (mut kind, mut major, mut minor, mut mode) =
        (n.kind.as_deref().map(node_type), n.major, n.minor, n.file_mode);
    if !complete || mode.is_none() {
        match std::fs::metadata(host) {
            Ok(meta) => {
                let t = meta.file_type();
                let found = if t.is_char_device() {
                    LinuxDeviceType::C
                } else if t.is_block_device() {
                    LinuxDeviceType::B
                } else if t.is_fifo() {
                    LinuxDeviceType::P
                } else {
                    return Err(format!("device node {host:?} is not a device"));
                };
                kind = kind.or(Some(found));
                major = major.or(Some(libc::major(meta.rdev()) as i64));
                minor = minor.or(Some(libc::minor(meta.rdev()) as i64));
                mode = mode.or(Some(meta.mode() & 0o777));
            }
            Err(e) if !complete => return Err(format!("device node {host:?}: {e}")),
            Err(_) => {}
        }
    }
    let access = n.permissions.clone().unwrap_or_else(|| "rwm".into());
    if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
        return Err(format!(
            "device node {:?}: permissions {access:?} are not some of rwm",
            n.path
        ));
    }
    let mut b = LinuxDeviceBuilder::default()
        .path(&n.path)
        .typ(kind.unwrap_or(LinuxDeviceType::C))
        .major(major.unwrap_or(0))
        .minor(minor.unwrap_or(0));
    if let Some(mode) = mode {
        b = b.file_mode(mode);
    }
    if let Some(uid) = n.uid {
        b = b.uid(uid);
    }
    if let Some(gid) = n.gid {
        b = b.gid(gid);
    }
    Ok((b.build().map_err(|e| e.to_string())?, access))
}

/// A CDI mount: a bind mount unless the spec names another type.
fn mount(m: &spec_file::Mount) -> Result<Mount, String> {
    let kind = m.kind.clone().unwrap_or_else(|| "bind".into());
    let mut options = m.options.clone();
    if kind == "bind" && !options.iter().any(|o| o == "bind" || o == "rbind") {
        options.push("bind".into());
    }
    MountBuilder::default()
        .destination(&m.container_path)
        .source(&m.host_path)
        .typ(kind)
        .options(options)
        .build()
        .map_err(|e| e.to_string())
}

fn hook(h: &spec_file::Hook) -> Result<(HookPoint, Hook), String> {
    let point = match h.hook_name.as_str() {
        "prestart" => HookPoint::Prestart,
        "createRuntime" => HookPoint::CreateRuntime,
        "createContainer" => HookPoint::CreateContainer,
        "startContainer" => HookPoint::StartContainer,
        "poststart" => HookPoint::Poststart,
        "poststop" => HookPoint::Poststop,
        other => return Err(format!("hookName {other:?} is not an OCI hook")),
    };
    let mut b = HookBuilder::default().path(&h.path);
    if !h.args.is_empty() {
        b = b.args(h.args.clone());
    }
    if !h.env.is_empty() {
        b = b.env(h.env.clone());
    }
    if let Some(t) = h.timeout {
        b = b.timeout(t);
    }
    Ok((point, b.build().map_err(|e| e.to_string())?))
}

/// `edits` in OCI terms; what cricket cannot apply is refused by name.
pub fn resolve_edits(edits: &ContainerEdits) -> Result<CdiEdits, String> {
    if edits.intel_rdt.is_some() {
        return Err("its intelRdt edits are not supported".into());
    }
    if !edits.net_devices.is_empty() {
        return Err("its netDevices edits are not supported".into());
    }
    Ok(CdiEdits {
        env: edits.env.clone(),
        devices: edits.device_nodes.iter().map(device).collect::<Result<_, _>>()?,
        mounts: edits.mounts.iter().map(mount).collect::<Result<_, _>>()?,
        hooks: edits.hooks.iter().map(hook).collect::<Result<_, _>>()?,
        additional_gids: edits.additional_gids.clone(),
    })
}
