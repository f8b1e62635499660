//! Devices: the ones a container asks for (`ContainerConfig.devices`, a device node or a
//! directory of them, with cgroup permissions), and for privileged containers every device of
//! the host with every access.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use crate::api::v1::Device;
use oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    Spec,
};

use super::SpecError;

/// Directories of /dev that hold no devices of the host's own (as containerd skips them).
const SKIPPED_DIRS: &[&str] = &["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];

/// The device node at `host`, to appear at `container_path`; `None` if it is not a device.
fn device_at(host: &Path, container_path: &Path) -> Option<LinuxDevice> {
    let meta = std::fs::symlink_metadata(host).ok()?;
    let kind = match meta.file_type() {
        t if t.is_char_device() => LinuxDeviceType::C,
        t if t.is_block_device() => LinuxDeviceType::B,
        _ => return None,
    };
    let rdev = meta.rdev();
    LinuxDeviceBuilder::default()
        .path(container_path)
        .typ(kind)
        .major(libc::major(rdev) as i64)
        .minor(libc::minor(rdev) as i64)
        .file_mode(meta.mode() & 0o777)
        .uid(meta.uid())
        .gid(meta.gid())
        .build()
        .ok()
}

/// Every device under `dir` (recursively, skipping [`SKIPPED_DIRS`] and the console), placed
/// under `target`.
fn devices_under(dir: &Path, target: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let (host, inside) = (entry.path(), target.join(&name));
        match entry.file_type() {
            Ok(t) if t.is_dir() => {
                if !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    devices_under(&host, &inside, out);
                }
            }
            _ if name == "console" => {}
            _ => out.extend(device_at(&host, &inside)),
        }
    }
}

pub(super) fn rule(d: &LinuxDevice, access: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    Ok(LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(d.typ())
        .major(d.major())
        .minor(d.minor())
        .access(access)
        .build()?)
}

pub(super) fn add(spec: &mut Spec, devices: Vec<LinuxDevice>, rules: Vec<LinuxDeviceCgroup>) {
    let linux = spec.linux_mut().as_mut().expect("linux");
    let mut all = linux.devices().clone().unwrap_or_default();
    all.retain(|d| !devices.iter().any(|n| n.path() == d.path()));
    all.extend(devices);
    linux.set_devices(Some(all));
    let mut resources = linux.resources().clone().unwrap_or_default();
    let mut cgroup = resources.devices().clone().unwrap_or_default();
    cgroup.extend(rules);
    resources.set_devices(Some(cgroup));
    linux.set_resources(Some(resources));
}

/// The devices a container asks for, each with its permissions (some of `rwm`).
pub fn add_devices(spec: &mut Spec, requested: &[Device]) -> Result<(), SpecError> {
    for (i, d) in requested.iter().enumerate() {
        let field = |f: &str| format!("config.devices[{i}].{f}");
        let access = if d.permissions.is_empty() { "rwm" } else { d.permissions.as_str() };
        if !access.chars().all(|c| "rwm".contains(c)) {
            return Err(SpecError::invalid(
                &field("permissions"),
                format!("{:?} is not a combination of r, w and m", d.permissions),
            ));
        }
        let host = Path::new(&d.host_path);
        let container_path =
            if d.container_path.is_empty() { host } else { Path::new(&d.container_path) };
        let mut found = Vec::new();
        if host.is_dir() {
            devices_under(host, container_path, &mut found);
        } else {
            found.extend(device_at(host, container_path));
        }
        if found.is_empty() {
            return Err(SpecError::invalid(
                &field("host_path"),
                format!("{:?} is not a device or a directory of devices", d.host_path),
            ));
        }
        let rules = found.iter().map(|dev| rule(dev, access)).collect::<Result<Vec<_>, _>>()?;
        add(spec, found, rules);
    }
    Ok(())
}

/// Privileged: the host's devices, and a rule allowing every device.
pub fn add_host_devices(spec: &mut Spec) -> Result<(), SpecError> {
    let mut found = Vec::new();
    devices_under(Path::new("/dev"), Path::new("/dev"), &mut found);
    let all = LinuxDeviceCgroupBuilder::default().allow(true).access("rwm").build()?;
    add(spec, found, vec![all]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::default()
    }

    #[test]
    fn a_requested_device_gets_its_node_and_its_rule() {
        let mut s = spec();
        let req = Device {
            container_path: "/dev/mynull".into(),
            host_path: "/dev/null".into(),
            permissions: "rw".into(),
        };
        add_devices(&mut s, &[req]).unwrap();
        let linux = s.linux().clone().unwrap();
        let dev = linux
            .devices()
            .clone()
            .unwrap()
            .into_iter()
            .find(|d| d.path() == Path::new("/dev/mynull"))
            .unwrap();
        assert_eq!((dev.typ(), dev.major(), dev.minor()), (LinuxDeviceType::C, 1, 3));
        let rules = linux.resources().clone().unwrap().devices().clone().unwrap();
        let r = rules.last().unwrap();
        assert_eq!((r.major(), r.minor(), r.access().as_deref()), (Some(1), Some(3), Some("rw")));
    }

    #[test]
    fn bad_requests_name_the_field() {
        let bad = |host: &str, perms: &str| {
            let d = Device {
                container_path: "/dev/x".into(),
                host_path: host.into(),
                permissions: perms.into(),
            };
            add_devices(&mut spec(), &[d]).unwrap_err().to_string()
        };
        assert!(bad("/dev/null", "rwx").contains("config.devices[0].permissions"));
        assert!(bad("/etc/hostname", "r").contains("config.devices[0].host_path"));
        assert!(bad("/nonexistent", "r").contains("config.devices[0].host_path"));
    }

    #[test]
    fn privileged_gets_the_hosts_devices_and_an_allow_all_rule() {
        let mut s = spec();
        add_host_devices(&mut s).unwrap();
        let linux = s.linux().clone().unwrap();
        let devices = linux.devices().clone().unwrap();
        assert!(devices.iter().any(|d| d.path() == Path::new("/dev/null")));
        assert!(!devices.iter().any(|d| d.path().starts_with("/dev/pts")));
        let rules = linux.resources().clone().unwrap().devices().clone().unwrap();
        assert!(rules
            .iter()
            .any(|r| r.allow() && r.major().is_none() && r.access().as_deref() == Some("rwm")));
    }
}
