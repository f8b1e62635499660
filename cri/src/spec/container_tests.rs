use std::path::PathBuf;

use crate::api::v1::*;

use super::*;

fn options<'a>(
    image: &'a ImageProcess,
    users: &'a ImageUsers,
    sandbox: &'a PodSandboxConfig,
) -> ContainerSpecOptions<'a> {
    ContainerSpecOptions {
        id: "c1",
        sandbox_id: "sb1",
        sandbox,
        image,
        image_name: "registry/app:1",
        users,
        namespaces: PodNamespacePaths {
            net: Some("/run/x/netns/sb1".into()),
            ipc: Some("/run/x/ipcns/sb1".into()),
            uts: Some("/run/x/utsns/sb1".into()),
            pid: PidMode::Own,
            user: None,
        },
        etc_files: None,
        shm: Some(Path::new("/r/shm")),
        systemd_cgroup: false,
        hugetlb: true,
        daemon_oom_score_adj: -500,
        lsm: Default::default(),
        cdi: &[],
    }
}

fn sandbox() -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: "web".into(),
            uid: "u1".into(),
            namespace: "default".into(),
            attempt: 0,
        }),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: "/kubepods/pod1".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn config() -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: "app".into(), attempt: 0 }),
        command: vec!["/bin/sh".into()],
        linux: Some(LinuxContainerConfig {
            resources: Some(LinuxContainerResources {
                memory_limit_in_bytes: 1 << 26,
                oom_score_adj: -999,
                ..Default::default()
            }),
            security_context: Some(LinuxContainerSecurityContext {
                seccomp: Some(SecurityProfile {
                    profile_type: security_profile::ProfileType::RuntimeDefault as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }),
        ..Default::default()
    }
}

#[test]
fn a_container_joins_its_pods_namespaces_by_path_with_the_cri_annotations() {
    let (image, users, sb) = (ImageProcess::default(), ImageUsers::default(), sandbox());
    let spec = container_spec(&config(), &options(&image, &users, &sb)).unwrap();
    let ns: Vec<(String, Option<PathBuf>)> = spec
        .linux()
        .as_ref()
        .unwrap()
        .namespaces()
        .clone()
        .unwrap()
        .iter()
        .map(|n| (format!("{:?}", n.typ()), n.path().clone()))
        .collect();
    assert_eq!(
        ns,
        [
            ("Mount".to_string(), None),
            ("Network".to_string(), Some("/run/x/netns/sb1".into())),
            ("Ipc".to_string(), Some("/run/x/ipcns/sb1".into())),
            ("Uts".to_string(), Some("/run/x/utsns/sb1".into())),
            ("Pid".to_string(), None),
        ]
    );
    let a = spec.annotations().clone().unwrap();
    assert_eq!(a["io.kubernetes.cri.container-type"], "container");
    assert_eq!(a["io.kubernetes.cri.sandbox-id"], "sb1");
    assert_eq!(a["io.kubernetes.cri.container-name"], "app");
    let linux = spec.linux().as_ref().unwrap();
    assert_eq!(linux.cgroups_path().clone().unwrap(), PathBuf::from("/kubepods/pod1/c1"));
    assert_eq!(linux.resources().as_ref().unwrap().memory().unwrap().limit(), Some(1 << 26));
    assert_eq!(
        spec.process().as_ref().unwrap().oom_score_adj(),
        Some(-500),
        "clamped to the daemon's own"
    );
    assert!(linux.seccomp().is_some(), "RuntimeDefault gets the built-in profile");
    assert!(spec
        .mounts()
        .clone()
        .unwrap()
        .iter()
        .any(|m| m.destination() == Path::new("/dev/shm") && m.source() == &Some("/r/shm".into())));
}

#[test]
fn privileged_has_every_capability_and_device_and_no_seccomp() {
    let (image, users, sb) = (ImageProcess::default(), ImageUsers::default(), sandbox());
    let mut c = config();
    c.linux.as_mut().unwrap().security_context.as_mut().unwrap().privileged = true;
    let spec = container_spec(&c, &options(&image, &users, &sb)).unwrap();
    let linux = spec.linux().as_ref().unwrap();
    assert!(linux.seccomp().is_none() && linux.masked_paths().is_none());
    assert!(linux.resources().as_ref().unwrap().devices().clone().unwrap()[0].allow());
    assert!(
        spec.process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .as_ref()
            .unwrap()
            .len()
            > 30
    );
}

#[test]
fn a_pods_user_namespace_is_joined_with_its_mappings_and_host_networks_bind_sys() {
    let (image, users, sb) = (ImageProcess::default(), ImageUsers::default(), sandbox());
    let user = super::super::UserNamespace {
        path: "/run/x/userns/sb1".into(),
        uids: vec![(0, 65536, 65536)],
        gids: vec![(0, 65536, 65536)],
    };
    let mut o = options(&image, &users, &sb);
    o.namespaces.user = Some(user.clone());
    let spec = container_spec(&config(), &o).unwrap();
    let linux = spec.linux().clone().unwrap();
    let first = linux.namespaces().clone().unwrap()[0].clone();
    assert_eq!(first.typ(), oci_spec::runtime::LinuxNamespaceType::User);
    assert_eq!(first.path().clone().unwrap(), PathBuf::from("/run/x/userns/sb1"));
    let uids = linux.uid_mappings().clone().unwrap();
    assert_eq!((uids[0].container_id(), uids[0].host_id(), uids[0].size()), (0, 65536, 65536));
    let sys = |s: &oci_spec::runtime::Spec| {
        s.mounts()
            .clone()
            .unwrap()
            .into_iter()
            .find(|m| m.destination() == Path::new("/sys"))
            .unwrap()
    };
    assert_eq!(sys(&spec).typ().as_deref(), Some("sysfs"), "its own network: a sysfs of its own");
    o.namespaces.net = None;
    let host_network = container_spec(&config(), &o).unwrap();
    assert_eq!(sys(&host_network).typ().as_deref(), Some("bind"), "the node's network: /sys bound");
}
