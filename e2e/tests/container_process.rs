//! The process a container runs, against an image that sets entrypoint, cmd, env, working dir
//! and user: the CRI's command/args rules, env and working dir merging, and identity (uid, a
//! name from the image's passwd, groups from its group file, Merge and Strict policies), and
//! the PID namespace of a target container.

use cricket::api::v1::*;
use e2e::test_images::app_image;
use e2e::workload::{pod_config, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

fn container(image: &str, name: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into(), ..Default::default() }),
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

fn security(f: impl FnOnce(&mut LinuxContainerSecurityContext)) -> Option<LinuxContainerConfig> {
    let mut context = LinuxContainerSecurityContext::default();
    f(&mut context);
    Some(LinuxContainerConfig { security_context: Some(context), resources: None })
}

fn ids() -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), "id -u; id -g; id -G".into()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_args_env_workdir_and_identity_merge_with_the_image() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "proc")).await;
    let image = node.registry().push(&app_image(), "e2e/app", "1");
    pod.cri.pull(&image, None).await.unwrap();

    // Nothing set: the image's entrypoint and cmd, env, working dir and user.
    // image-cmd, the directory, id, then the six env lines.
    let (s, out) = pod.output_of(&node, container(&image, "plain"), 9).await;
    assert_eq!(s.exit_code, 0, "{out:?}");
    assert_eq!(out[..2], ["image-cmd", "/work"]);
    assert!(
        out[2].starts_with("uid=1001(app) gid=1001(app) groups=1001(app),2000(extra)"),
        "{out:?}"
    );
    assert!(
        out.contains(&"FROM_IMAGE=1".to_string()) && out.contains(&"OVERRIDE=image".to_string()),
        "{out:?}"
    );

    // args only: they replace cmd and follow the entrypoint; env and working dir overridden.
    let mut c = container(&image, "args");
    c.args = vec!["echo args-only; pwd; echo $OVERRIDE $FROM_IMAGE".into()];
    c.envs = vec![KeyValue { key: "OVERRIDE".into(), value: "config".into() }];
    c.working_dir = "/tmp".into();
    let (_, out) = pod.output_of(&node, c, 3).await;
    assert_eq!(out, ["args-only", "/tmp", "config 1"]);

    // command only: the image's entrypoint and cmd both go.
    let mut c = container(&image, "command");
    c.command = vec!["/bin/echo".into(), "command-only".into()];
    let (_, out) = pod.output_of(&node, c, 1).await;
    assert_eq!(out, ["command-only"]);

    // command and args.
    let mut c = container(&image, "both");
    c.command = vec!["/bin/echo".into()];
    c.args = vec!["a".into(), "b".into()];
    assert_eq!(pod.output_of(&node, c, 1).await.1, ["a b"]);

    let cases: Vec<(&str, Option<LinuxContainerConfig>, [&str; 3])> = vec![
        ("root", security(|s| s.run_as_user = Some(Int64Value { value: 0 })), ["0", "0", "0"]),
        ("by-name", security(|s| s.run_as_username = "nobody".into()), ["65534", "65534", "65534"]),
        (
            "with-group",
            security(|s| {
                s.run_as_user = Some(Int64Value { value: 1001 });
                s.run_as_group = Some(Int64Value { value: 65534 });
            }),
            ["1001", "65534", "65534 2000"],
        ),
        (
            "merge",
            security(|s| s.supplemental_groups = vec![3000]),
            ["1001", "1001", "1001 2000 3000"],
        ),
        (
            "strict",
            security(|s| {
                s.supplemental_groups = vec![3000];
                s.supplemental_groups_policy = SupplementalGroupsPolicy::Strict as i32;
            }),
            ["1001", "1001", "1001 3000"],
        ),
    ];
    for (name, linux, want) in cases {
        let mut c = container(&image, name);
        c.command = ids();
        c.linux = linux;
        let (s, out) = pod.output_of(&node, c, 3).await;
        assert_eq!((s.exit_code, out.as_slice()), (0, &want.map(String::from)[..]), "{name}");
    }

    // PID namespace of a target container (kubelet's ephemeral debug containers): its
    // processes are visible; the pod's own containers do not see each other's.
    let mut target = container(&image, "target");
    target.command = vec!["sleep".into(), "1000".into()];
    let target = pod.run(target).await;
    let mut debugger = container(&image, "debugger");
    debugger.command = vec!["ps".into()];
    debugger.linux = security(|s| {
        s.namespace_options = Some(NamespaceOption {
            pid: NamespaceMode::Target as i32,
            target_id: target.clone(),
            ..Default::default()
        })
    });
    let (_, out) = pod.output_of(&node, debugger, 3).await;
    assert!(
        out.iter().any(|l| l.trim_end().ends_with("sleep 1000")),
        "the target's process is seen: {out:?}"
    );
    let mut own = container(&image, "own-pid");
    own.command = vec!["ps".into()];
    let (_, out) = pod.output_of(&node, own, 2).await;
    assert!(!out.iter().any(|l| l.contains("sleep 1000")), "its own PID namespace: {out:?}");

    // run_as_group without a user is refused, naming the field, and leaves nothing.
    let mut c = container(&image, "group-only");
    c.linux = security(|s| s.run_as_group = Some(Int64Value { value: 5 }));
    let err = pod.create(c).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("run_as_group"), "{err}");
    let mut c = container(&image, "bad-cap");
    c.linux = security(|s| {
        s.capabilities =
            Some(Capability { add_capabilities: vec!["CAP_NOPE".into()], ..Default::default() })
    });
    let err = pod.create(c).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("CAP_NOPE"), "{err}");
    pod.remove().await;
    node.finish();
}
