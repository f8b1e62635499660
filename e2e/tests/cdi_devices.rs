//! CDI devices: a spec for a fake device (a node backed by the host's /dev/null, an
//! environment variable, a read-only mount and a hook) makes each appear in a container that
//! asks for it, by `CDI_devices` or by a `cdi.k8s.io/*` annotation; a spec written while
//! cricket runs applies without a restart; an unknown device is refused by name and leaves
//! nothing behind.

use std::collections::HashMap;

use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

/// A fake vendor's devices; `{marker}` is a host file the mount shows inside.
fn fake_spec(marker: &std::path::Path, hook_out: &std::path::Path) -> String {
    serde_json::json!({
        "cdiVersion": "0.6.0",
        "kind": "example.com/fake",
        "containerEdits": { "env": ["FAKE_VENDOR=example"] },
        "devices": [{
            "name": "dev0",
            "containerEdits": {
                "env": ["FAKE_DEVICE=dev0"],
                "deviceNodes": [{ "path": "/dev/fake0", "hostPath": "/dev/null", "permissions": "rw" }],
                "mounts": [{ "hostPath": marker, "containerPath": "/fake/marker", "options": ["ro"] }],
                "hooks": [{ "hookName": "createRuntime", "path": "/bin/sh",
                            "args": ["sh", "-c", format!("echo ran > {}", hook_out.display())] }]
            }
        }]
    })
    .to_string()
}

const PROBE: &str = "echo vendor=$FAKE_VENDOR device=$FAKE_DEVICE; \
                     [ -c /dev/fake0 ] && echo node=char; echo written > /dev/fake0 && echo node=writable; \
                     cat /fake/marker; echo x > /fake/marker 2>/dev/null || echo mount=read-only";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fake_cdi_device_brings_its_node_env_mount_and_hook() {
    let cdi = tempfile::tempdir().unwrap();
    let (etc, run) = (cdi.path().join("etc"), cdi.path().join("run"));
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    let extra = format!("[cdi]\nspec_dirs = [{:?}, {:?}]\n", etc.display(), run.display());
    let node =
        Node::start(NodeOptions { registry: true, extra_config: extra, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "cdi")).await;
    let image = pod.image.clone();

    // cricket is running before the spec exists.
    let (marker, hook_out) = (cdi.path().join("marker"), cdi.path().join("hook-ran"));
    std::fs::write(&marker, "marker-from-the-host\n").unwrap();
    std::fs::write(run.join("fake.json"), fake_spec(&marker, &hook_out)).unwrap();

    let mut by_field = shell(&image, "by-field", PROBE);
    by_field.cdi_devices = vec![CdiDevice { name: "example.com/fake=dev0".into() }];
    let mut by_annotation = shell(&image, "by-annotation", PROBE);
    by_annotation.annotations = HashMap::from([(
        "cdi.k8s.io/fake-plugin".to_string(),
        "example.com/fake=dev0".to_string(),
    )]);
    for c in [by_field, by_annotation] {
        let name = c.metadata.clone().unwrap().name;
        let (status, lines) = pod.output_of(&node, c, 5).await;
        assert_eq!(status.exit_code, 0, "{name}: {lines:?}");
        for want in [
            "vendor=example device=dev0",
            "node=char",
            "node=writable",
            "marker-from-the-host",
            "mount=read-only",
        ] {
            assert!(lines.iter().any(|l| l == want), "{name}: {want:?} in {lines:?}");
        }
    }
    assert_eq!(std::fs::read_to_string(&hook_out).unwrap(), "ran\n", "the createRuntime hook ran");

    // A container without the device has none of it.
    let (_, lines) = pod.output_of(&node, shell(&image, "without", PROBE), 2).await;
    assert!(lines.iter().any(|l| l == "vendor= device="), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "node=char"), "{lines:?}");

    // An unknown device: refused by name and field, nothing made.
    std::fs::write(etc.join("broken.yaml"), "cdiVersion: [").unwrap();
    let before = node.containerd.snapshot_keys("k8s.io").len();
    let listed = |p: &mut Pod| {
        let req = ListContainersRequest { filter: None };
        let mut rt = p.cri.runtime.clone();
        async move { rt.list_containers(req).await.unwrap().into_inner().containers.len() }
    };
    let containers = listed(&mut pod).await;
    let mut unknown = shell(&image, "unknown", "true");
    unknown.cdi_devices = vec![CdiDevice { name: "example.com/fake=dev9".into() }];
    let err = pod.create(unknown).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    for part in ["config.CDI_devices[0].name", "example.com/fake=dev9", "broken.yaml"] {
        assert!(err.message().contains(part), "{part} in {err}");
    }
    let mut malformed = shell(&image, "malformed", "true");
    malformed.cdi_devices = vec![CdiDevice { name: "fake-dev0".into() }];
    assert_eq!(pod.create(malformed).await.unwrap_err().code(), Code::InvalidArgument);
    assert_eq!(listed(&mut pod).await, containers);
    assert_eq!(node.containerd.snapshot_keys("k8s.io").len(), before);

    pod.remove().await;
    node.finish();
}
