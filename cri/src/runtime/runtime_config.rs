use k8s_cri::v1::{CgroupDriver, LinuxRuntimeConfiguration, RuntimeConfigResponse};

use crate::config::Config;

/// The cgroup driver follows the default runtime's `SystemdCgroup` option; kubelet reads it
/// once at start, and the config cannot change while cricket runs.
pub(super) fn runtime_config(config: &Config) -> RuntimeConfigResponse {
    let driver = if config.systemd_cgroup() { CgroupDriver::Systemd } else { CgroupDriver::Cgroupfs };
    RuntimeConfigResponse { linux: Some(LinuxRuntimeConfiguration { cgroup_driver: driver as i32 }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_follows_systemd_cgroup() {
        let mut config = Config::default();
        assert_eq!(runtime_config(&config).linux.unwrap().cgroup_driver, CgroupDriver::Cgroupfs as i32);
        let runc = config.containerd.runtimes.get_mut("runc").unwrap();
        runc.options.insert("SystemdCgroup".into(), toml::Value::Boolean(true));
        assert_eq!(runtime_config(&config).linux.unwrap().cgroup_driver, CgroupDriver::Systemd as i32);
    }
}
