use std::path::Path;

use crate::api::v1::{
    security_profile, Int64Value, LinuxPodSandboxConfig, LinuxSandboxSecurityContext,
    NamespaceOption, PodSandboxMetadata, SecurityProfile,
};
use oci_spec::runtime::LinuxNamespaceType;

use super::*;

fn config() -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "web".into(),
            uid: "uid-1".into(),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: "web-0".into(),
        log_directory: "/var/log/pods/default_web_uid-1".into(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: "/kubepods/pod-uid-1".into(),
            sysctls: [
                ("net.ipv4.ip_forward".to_string(), "1".to_string()),
                ("kernel.shmmax".to_string(), "1000".to_string()),
            ]
            .into(),
            security_context: Some(LinuxSandboxSecurityContext {
                run_as_user: Some(Int64Value { value: 65535 }),
                readonly_rootfs: true,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn options(netns: &Path) -> SandboxSpecOptions<'_> {
    SandboxSpecOptions {
        id: "sb1",
        netns: Some(netns),
        ipcns: None,
        utsns: None,
        userns: None,
        args: vec!["/pause".into()],
        image_name: "localhost/cricket/pause:0.1.0",
        systemd_cgroup: false,
        daemon_oom_score_adj: 0,
        etc_files: Some(crate::spec::EtcFiles {
            hostname: "/r/h".into(),
            resolv_conf: "/r/r".into(),
            hosts: "/r/hs".into(),
        }),
        shm: Some(Path::new("/r/shm")),
    }
}

fn namespaces(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<String>)> {
    let list = spec.linux().as_ref().unwrap().namespaces().clone().unwrap_or_default();
    list.iter().map(|n| (n.typ(), n.path().as_ref().map(|p| p.display().to_string()))).collect()
}

#[test]
fn a_pod_gets_its_namespaces_hostname_sysctls_user_and_annotations() {
    let spec = sandbox_spec(&config(), &options(Path::new("/run/cricket/netns/sb1"))).unwrap();
    let ns = namespaces(&spec);
    assert!(ns.contains(&(LinuxNamespaceType::Network, Some("/run/cricket/netns/sb1".into()))));
    for kind in [
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Ipc,
    ] {
        assert!(ns.contains(&(kind, None)), "{kind:?} in {ns:?}");
    }
    assert_eq!(spec.hostname().as_deref(), Some("web-0"));
    let process = spec.process().as_ref().unwrap();
    assert_eq!(process.args().as_ref().unwrap(), &["/pause"]);
    assert_eq!(process.user().uid(), 65535);
    assert_eq!(process.oom_score_adj(), Some(0), "-998 clamped to the daemon's own");
    assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.sysctl().as_ref().unwrap()["net.ipv4.ip_forward"], "1");
    assert_eq!(linux.cgroups_path().as_ref().unwrap(), Path::new("/kubepods/pod-uid-1/sb1"));
    assert!(linux.masked_paths().as_ref().unwrap().contains(&"/proc/kcore".to_string()));
    let annotations = spec.annotations().as_ref().unwrap();
    assert_eq!(annotations["io.kubernetes.cri.container-type"], "sandbox");
    assert_eq!(annotations["io.kubernetes.cri.sandbox-id"], "sb1");
    assert_eq!(annotations["io.kubernetes.cri.sandbox-uid"], "uid-1");
    let json = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["process"]["args"][0], "/pause");
    let resolv = json["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/etc/resolv.conf")
        .expect("resolv.conf bound");
    assert_eq!(resolv["source"], "/r/r");
    assert!(resolv["options"].as_array().unwrap().contains(&serde_json::json!("ro")));
    let shm: Vec<_> = json["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destination"] == "/dev/shm")
        .collect();
    assert_eq!(shm.len(), 1, "the pod's shm replaces the private one");
    assert_eq!(shm[0]["source"], "/r/shm");
}

#[test]
fn host_network_and_ipc_leave_those_namespaces_to_the_node() {
    let mut c = config();
    let linux = c.linux.as_mut().unwrap();
    linux.sysctls.clear();
    linux.security_context.as_mut().unwrap().namespace_options = Some(NamespaceOption {
        network: NamespaceMode::Node as i32,
        ipc: NamespaceMode::Node as i32,
        ..Default::default()
    });
    let spec = sandbox_spec(&c, &options(Path::new("/unused"))).unwrap();
    let kinds: Vec<LinuxNamespaceType> = namespaces(&spec).into_iter().map(|n| n.0).collect();
    for node_owned in
        [LinuxNamespaceType::Network, LinuxNamespaceType::Uts, LinuxNamespaceType::Ipc]
    {
        assert!(!kinds.contains(&node_owned), "{node_owned:?} in {kinds:?}");
    }
    assert_eq!(spec.hostname(), &None);
}

#[test]
fn sysctls_must_be_namespaced_and_owned_by_the_pod() {
    let cases = [
        ("vm.swappiness", NamespaceMode::Pod, NamespaceMode::Pod, "not a namespaced sysctl"),
        ("net.core.somaxconn", NamespaceMode::Node, NamespaceMode::Pod, "network namespace"),
        ("kernel.shmmax", NamespaceMode::Pod, NamespaceMode::Node, "IPC namespace"),
    ];
    for (name, network, ipc, why) in cases {
        let mut c = config();
        let linux = c.linux.as_mut().unwrap();
        linux.sysctls = [(name.to_string(), "1".to_string())].into();
        linux.security_context.as_mut().unwrap().namespace_options = Some(NamespaceOption {
            network: network as i32,
            ipc: ipc as i32,
            ..Default::default()
        });
        let err = sandbox_spec(&c, &options(Path::new("/ns"))).unwrap_err().to_string();
        assert!(
            err.contains(&format!("linux.sysctls[\"{name}\"]")) && err.contains(why),
            "{name}: {err}"
        );
    }
}

#[test]
fn privileged_gets_every_capability_and_nothing_masked() {
    let mut c = config();
    c.linux.as_mut().unwrap().security_context.as_mut().unwrap().privileged = true;
    let spec = sandbox_spec(&c, &options(Path::new("/ns"))).unwrap();
    let caps = spec
        .process()
        .as_ref()
        .unwrap()
        .capabilities()
        .as_ref()
        .unwrap()
        .bounding()
        .clone()
        .unwrap();
    assert!(caps.contains(&oci_spec::runtime::Capability::SysAdmin));
    assert!(spec.linux().as_ref().unwrap().masked_paths().is_none());
}

#[test]
fn bad_input_names_the_field() {
    let mut c = config();
    c.metadata = None;
    assert!(sandbox_spec(&c, &options(Path::new("/ns")))
        .unwrap_err()
        .to_string()
        .starts_with("config.metadata"));
    let mut c = config();
    c.linux.as_mut().unwrap().security_context.as_mut().unwrap().run_as_user =
        Some(Int64Value { value: -1 });
    let err = sandbox_spec(&c, &options(Path::new("/ns"))).unwrap_err().to_string();
    assert!(err.contains("config.linux.security_context.run_as_user"), "{err}");
    let mut o = options(Path::new("/ns"));
    o.systemd_cgroup = true;
    assert!(sandbox_spec(&config(), &o).unwrap_err().to_string().contains("linux.cgroup_parent"));
}

#[test]
fn the_sandbox_seccomp_profile_is_applied() {
    let mut c = config();
    let sc = c.linux.as_mut().unwrap().security_context.get_or_insert_with(Default::default);
    sc.seccomp = Some(SecurityProfile {
        profile_type: security_profile::ProfileType::RuntimeDefault as i32,
        ..Default::default()
    });
    let dir = std::path::PathBuf::from("/run/x/netns/sb1");
    let spec = sandbox_spec(&c, &options(&dir)).unwrap();
    assert!(spec.linux().as_ref().unwrap().seccomp().is_some());
}
