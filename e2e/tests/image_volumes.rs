//! Image volumes (CRI 1.31, sub paths 1.33): an image the pod has not pulled is pulled and
//! mounted read-only, whole or by sub path; a sub path that climbs out of the image (by
//! `..` or by a symlink) or is missing is refused by field; the image cannot be removed while
//! a container mounts it; removing the container unmounts the volume and drops its view.

use containerd_bridge::oci_image::{build_image, layer_tar, Entry, ImageSpec};
use cricket::api::v1::*;
use e2e::workload::{pod_config, shell, Pod};
use e2e::{Node, NodeOptions};
use tonic::Code;

fn file(path: &str, text: &str) -> Entry {
    Entry::File { path: path.into(), mode: 0o644, data: text.as_bytes().to_vec() }
}

/// Two layers, so that the view is an overlay of both.
fn volume_image() -> containerd_bridge::oci_image::BuiltImage {
    let lower = layer_tar(&[
        Entry::Dir { path: "data".into(), mode: 0o755 },
        file("data/hello.txt", "hello from the image\n"),
        Entry::Symlink { path: "data/escape".into(), target: "/etc".into() },
    ])
    .unwrap();
    let upper = layer_tar(&[file("top.txt", "upper layer\n")]).unwrap();
    build_image(&ImageSpec::default(), vec![lower, upper])
}

fn volume(container_path: &str, image: &str, sub_path: &str) -> Mount {
    Mount {
        container_path: container_path.into(),
        image: Some(cricket::api::v1::ImageSpec { image: image.into(), ..Default::default() }),
        image_sub_path: sub_path.into(),
        readonly: true,
        ..Default::default()
    }
}

fn mounts_under(dir: &std::path::Path) -> usize {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir = dir.display().to_string();
    table.lines().filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(&dir))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_is_mounted_read_only_and_stays_while_mounted() {
    let node = Node::start(NodeOptions { registry: true, ..Default::default() });
    node.write_cni_config();
    node.wait_ready().await;
    let mut pod = Pod::start(&node, pod_config(&node, "volumes")).await;
    let volume_ref = node.registry().push(&volume_image(), "e2e/volume", "1");
    assert!(pod.cri.image_status(&volume_ref).await.unwrap().is_none(), "not pulled yet");

    let script = "cat /vol/data/hello.txt /vol/top.txt /sub/hello.txt; touch /vol/x; echo $?";
    let mut reader = shell(&pod.image.clone(), "reader", script);
    reader.mounts = vec![volume("/vol", &volume_ref, ""), volume("/sub", &volume_ref, "data")];
    let id = pod.run(reader).await;
    let status = pod.wait_exited(&node, &id).await;
    assert_eq!(status.exit_code, 0);
    let log = node.ws.run("logs").join(&status.log_path);
    let lines = e2e::eventually(std::time::Duration::from_secs(5), || async {
        e2e::workload::read_log_text(&log).filter(|l| l.len() >= 5)
    })
    .await
    .unwrap();
    let stdout: Vec<&String> = lines.iter().filter(|l| !l.contains("Read-only")).collect();
    assert_eq!(
        stdout,
        ["hello from the image", "upper layer", "hello from the image", "1"],
        "both layers, the sub path, and no writes: {lines:?}"
    );
    let pulled = pod.cri.image_status(&volume_ref).await.unwrap().expect("pulled by cricket");
    let reported = status.mounts[0].image.clone().unwrap();
    assert_eq!((reported.image, reported.image_ref), (volume_ref.clone(), pulled.id.clone()));

    // Mounted: the image stays.
    let err = pod
        .cri
        .image
        .remove_image(RemoveImageRequest {
            image: Some(cricket::api::v1::ImageSpec {
                image: volume_ref.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    assert!(err.message().contains(&id), "{err}");

    let mut writable = shell(&pod.image.clone(), "writable", "true");
    writable.mounts = vec![Mount { readonly: false, ..volume("/vol", &volume_ref, "") }];
    let err = pod.create(writable).await.unwrap_err();
    assert!(err.message().contains("config.mounts[0].readonly"), "{err}");

    // Sub paths that leave the image, or are not in it, are refused and leave nothing.
    let state = node.ws.run("cricket").join("containers");
    let before = mounts_under(&state);
    assert_eq!(before, 2, "the two volumes are mounted");
    for (i, (sub, why)) in [
        ("../..", "inside the image"),
        ("data/escape", "inside the image"),
        ("nope", "not in the image"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut bad = shell(&pod.image.clone(), &format!("bad{i}"), "true");
        bad.mounts = vec![volume("/vol", &volume_ref, sub)];
        let err = pod.create(bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{sub}: {err}");
        assert!(err.message().contains("config.mounts[0].image_sub_path"), "{err}");
        assert!(err.message().contains(why), "{sub}: {err}");
    }
    assert_eq!(mounts_under(&state), before, "no mount left by a refused create");

    pod.cri
        .runtime
        .remove_container(RemoveContainerRequest { container_id: id.clone() })
        .await
        .unwrap();
    assert_eq!(mounts_under(&state), 0, "removing the container unmounted its volumes");
    pod.cri
        .image
        .remove_image(RemoveImageRequest {
            image: Some(cricket::api::v1::ImageSpec { image: pulled.id, ..Default::default() }),
        })
        .await
        .unwrap();
    pod.remove().await;
    node.finish();
}
