//! Device access: the cgroup device rules of a privileged container.

use oci_spec::runtime::{LinuxDeviceCgroupBuilder, Spec};

use super::SpecError;

/// Every device may be used (privileged containers).
pub fn allow_all_devices(spec: &mut Spec) -> Result<(), SpecError> {
    let rule = LinuxDeviceCgroupBuilder::default().allow(true).access("rwm").build()?;
    let linux = spec.linux_mut().as_mut().expect("linux");
    let mut resources = linux.resources().clone().unwrap_or_default();
    resources.set_devices(Some(vec![rule]));
    linux.set_resources(Some(resources));
    Ok(())
}
