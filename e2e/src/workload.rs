//! A pod with busybox pulled from the node's registry, and the container calls tests make on
//! it: the common ground of the container tests.

use std::time::Duration;

use cricket::api::v1::*;

use crate::cri_client::CriClient;
use crate::test_images::busybox_image;
use crate::Node;

/// A pod config as kubelet sends it (own PID namespace, so no pause), logging under the
/// node's workspace.
pub fn pod_config(node: &Node, name: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("uid-{name}"),
            namespace: "e2e".into(),
            attempt: 0,
        }),
        hostname: format!("{name}-host"),
        log_directory: node.ws.run("logs").display().to_string(),
        linux: crate::pods::kubelet_linux(),
        ..Default::default()
    }
}

/// A container running `script` with busybox's sh, logging to `<name>/0.log`.
pub fn shell(image: &str, name: &str, script: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata { name: name.into(), attempt: 0 }),
        image: Some(ImageSpec { image: image.into(), ..Default::default() }),
        command: vec!["/bin/sh".into(), "-c".into(), script.into()],
        envs: vec![KeyValue { key: "GREETING".into(), value: "hello".into() }],
        log_path: format!("{name}/0.log"),
        ..Default::default()
    }
}

/// A running pod and a client.
pub struct Pod {
    pub cri: CriClient,
    /// The busybox image reference in the node's registry (pulled).
    pub image: String,
    pub id: String,
    pub config: PodSandboxConfig,
}

impl Pod {
    /// Pushes and pulls busybox, then runs a pod from `config` with the default handler.
    pub async fn start(node: &Node, config: PodSandboxConfig) -> Pod {
        let mut cri = node.client().await;
        let image = node.registry().push(&busybox_image(), "e2e/busybox", "1");
        cri.pull(&image, None).await.unwrap();
        let req =
            RunPodSandboxRequest { config: Some(config.clone()), runtime_handler: String::new() };
        let id = cri.runtime.run_pod_sandbox(req).await.unwrap().into_inner().pod_sandbox_id;
        Pod { cri, image, id, config }
    }

    pub fn create_request(&self, c: ContainerConfig) -> CreateContainerRequest {
        CreateContainerRequest {
            pod_sandbox_id: self.id.clone(),
            config: Some(c),
            sandbox_config: Some(self.config.clone()),
        }
    }

    pub async fn create(&mut self, c: ContainerConfig) -> Result<String, tonic::Status> {
        let req = self.create_request(c);
        Ok(self.cri.runtime.create_container(req).await?.into_inner().container_id)
    }

    /// Creates and starts; panics on failure.
    pub async fn run(&mut self, c: ContainerConfig) -> String {
        let id = self.create(c).await.unwrap();
        self.cri
            .runtime
            .start_container(StartContainerRequest { container_id: id.clone() })
            .await
            .unwrap();
        id
    }

    pub async fn status(&mut self, id: &str) -> ContainerStatus {
        let req = ContainerStatusRequest { container_id: id.into(), verbose: false };
        self.cri.runtime.container_status(req).await.unwrap().into_inner().status.unwrap()
    }

    /// The `info` map of a verbose ContainerStatus, its JSON parsed.
    pub async fn verbose_info(&mut self, id: &str) -> serde_json::Value {
        let req = ContainerStatusRequest { container_id: id.into(), verbose: true };
        let info = self.cri.runtime.container_status(req).await.unwrap().into_inner().info;
        serde_json::from_str(&info["info"]).unwrap()
    }

    /// The PID of a running container.
    pub async fn pid(&mut self, id: &str) -> u32 {
        self.verbose_info(id).await["pid"].as_u64().unwrap() as u32
    }

    /// Waits (up to 10 s) for the container to be Exited; panics with cricket's log if not.
    pub async fn wait_exited(&mut self, node: &Node, id: &str) -> ContainerStatus {
        for _ in 0..500 {
            let s = self.status(id).await;
            if s.state == ContainerState::ContainerExited as i32 {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("container {id} did not exit; cricket's log ends:\n{}", node.cricket_log_tail(40));
    }

    /// Runs `c` to its exit and returns its status and its log lines' text (both streams),
    /// waiting (up to 5 s) for at least `lines` lines, as the logger may lag the exit.
    pub async fn output_of(
        &mut self,
        node: &Node,
        c: ContainerConfig,
        lines: usize,
    ) -> (ContainerStatus, Vec<String>) {
        let log_file = node.ws.run("logs").join(&c.log_path);
        let id = self.run(c).await;
        let status = self.wait_exited(node, &id).await;
        let lines = crate::eventually(Duration::from_secs(5), || async {
            read_log_text(&log_file).filter(|l| l.len() >= lines)
        })
        .await;
        (status, lines.unwrap_or_else(|| read_log_text(&log_file).unwrap_or_default()))
    }

    /// Stops and removes the pod (and so its containers).
    pub async fn remove(mut self) {
        self.cri
            .runtime
            .stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id: self.id.clone() })
            .await
            .unwrap();
        self.cri
            .runtime
            .remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: self.id.clone() })
            .await
            .unwrap();
    }
}

/// The text of each line of a CRI log file, or `None` if it cannot be read yet.
pub fn read_log_text(path: &std::path::Path) -> Option<Vec<String>> {
    let log = std::fs::read_to_string(path).ok()?;
    Some(log.lines().filter_map(|l| l.splitn(4, ' ').nth(3)).map(str::to_string).collect())
}

/// A cgroup tree a test names as pods' `cgroup_parent`; removed when dropped, a failed test
/// included (after its pods are gone: a cgroup with processes stays).
pub struct TestCgroups(pub String);

impl Drop for TestCgroups {
    fn drop(&mut self) {
        remove_cgroups(&self.0);
    }
}

/// Removes the cgroup `rel` and what is below it, in every mounted hierarchy, once its
/// processes are gone.
pub fn remove_cgroups(rel: &str) {
    fn remove_tree(dir: &std::path::Path) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for sub in entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
                remove_tree(&sub.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
    let rel = rel.trim_start_matches('/');
    let roots = std::fs::read_dir("/sys/fs/cgroup")
        .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default();
    for root in roots.iter().chain([std::path::PathBuf::from("/sys/fs/cgroup")].iter()) {
        let dir = root.join(rel);
        if dir.is_dir() {
            remove_tree(&dir);
        }
    }
}
