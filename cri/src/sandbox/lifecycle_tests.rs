//! RunPodSandbox's rollback, StopPodSandbox's order and recovery's reconciliation, against the
//! fakes of `crate::testing`: what is asked of containerd, CNI and the pins, and what is left.

use crate::api::v1::{
    IdMapping, NamespaceMode, PodSandboxConfig, RemovePodSandboxRequest, StopPodSandboxRequest,
    UserNamespace,
};
use tonic::Code;

use crate::config::PauseMode;
use crate::store::sandboxes::SandboxState;
use crate::testing::{pod_config as pod, TestNode};

fn with_pause(node: TestNode) -> TestNode {
    let mut config = (*node.ctx.config).clone();
    config.containerd.runtimes.get_mut("runc").expect("runc").pause = PauseMode::Always;
    node.with_config(config)
}

async fn run(node: &TestNode, config: PodSandboxConfig) -> Result<String, crate::error::Error> {
    node.run_pod(config).await
}

async fn stop(node: &TestNode, id: &str) -> Result<(), crate::error::Error> {
    let req = StopPodSandboxRequest { pod_sandbox_id: id.into() };
    super::stop_pod_sandbox(&node.ctx, req).await.map(drop)
}

/// Nothing of any pod is left: containerd objects, attachments, pins, store, files.
fn assert_nothing_left(node: &TestNode) {
    assert_eq!(node.containerd.container_ids(), Vec::<String>::new(), "containerd records");
    assert_eq!(node.containerd.snapshots(), Vec::<String>::new(), "snapshots");
    assert_eq!(node.containerd.leases(), Vec::<String>::new(), "leases");
    assert_eq!(node.network.attached(), Vec::<String>::new(), "CNI attachments");
    assert_eq!(node.pins.files(), Vec::<String>::new(), "namespace pins");
    assert!(node.ctx.sandboxes.list().is_empty(), "sandbox store");
    let dirs = std::fs::read_dir(node.ctx.config.root_dir.join("sandboxes"));
    assert_eq!(dirs.map(|d| d.count()).unwrap_or(0), 0, "sandbox directories");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_without_a_pause_gets_pins_an_address_and_a_record() {
    let node = TestNode::new();
    let id = run(&node, pod("web")).await.expect("RunPodSandbox");
    let s = node.ctx.sandboxes.get(&id).expect("in the store");
    assert_eq!(
        (s.status.state, s.status.ips.clone()),
        (SandboxState::Ready, vec!["10.88.0.7".into()])
    );
    assert_eq!(node.pins.files(), vec![format!("netns/{id}"), format!("utsns/{id}")]);
    assert_eq!(node.containerd.container_ids(), vec![id.clone()]);
    assert!(node.containerd.task(&id).is_none(), "no pause task");
    assert!(node.journal.position("pins create") < node.journal.position("cni ADD"));
    let on_disk = super::persist::load_status(&node.ctx, &id).expect("a status file");
    assert_eq!(on_disk.state, SandboxState::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_names_the_field_and_touches_nothing() {
    let node = TestNode::new();
    let mut no_uid = pod("web");
    no_uid.metadata.as_mut().unwrap().uid.clear();
    let mut userns = pod("web");
    let options = userns.linux.as_mut().unwrap().security_context.as_mut().unwrap();
    options.namespace_options.as_mut().unwrap().userns_options =
        Some(UserNamespace { mode: NamespaceMode::Pod as i32, ..Default::default() });
    for (config, field) in [
        (no_uid, "config.metadata.uid"),
        (userns, "namespace_options.userns_options"),
        (PodSandboxConfig::default(), "config.metadata"),
    ] {
        let e = run(&node, config).await.expect_err("refused");
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains(field), "{:?} names {field}", e.message());
    }
    assert_eq!(node.journal.entries(), Vec::<String>::new(), "no side effect");
    assert_nothing_left(&node);
}

/// Status offers user namespaces on the handlers that run the `runc` on PATH only; a pod that
/// asks for one on another handler is refused before anything is made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_namespace_on_a_handler_that_cannot_make_one_is_refused() {
    let node = TestNode::new();
    let mut config = (*node.ctx.config).clone();
    let runtime = |runtime_type: &str, options: &str| crate::config::RuntimeHandler {
        runtime_type: runtime_type.into(),
        options: options.parse().expect("options"),
        pause: PauseMode::default(),
    };
    config.containerd.runtimes.insert("kata".into(), runtime("io.containerd.kata.v2", ""));
    let crun = runtime(super::RUNC_SHIM, "BinaryName = \"/usr/bin/crun\"");
    config.containerd.runtimes.insert("crun".into(), crun);
    let node = node.with_config(config);
    let mut userns = pod("web");
    let options = userns.linux.as_mut().unwrap().security_context.as_mut().unwrap();
    let map = vec![IdMapping { host_id: 65536, container_id: 0, length: 65536 }];
    options.namespace_options.as_mut().unwrap().userns_options =
        Some(UserNamespace { mode: NamespaceMode::Pod as i32, uids: map.clone(), gids: map });
    for handler in ["kata", "crun"] {
        let e = node.run_pod_on(handler, userns.clone()).await.expect_err("refused");
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains("runtime_handler"), "{:?}", e.message());
        assert!(e.message().contains("userns_options"), "{:?}", e.message());
    }
    assert_eq!(node.journal.entries(), Vec::<String>::new(), "no side effect");
    assert_nothing_left(&node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_cni_add_undoes_everything_and_frees_the_name() {
    let node = with_pause(TestNode::new());
    node.network.fail("ADD", 7);
    let e = run(&node, pod("web")).await.expect_err("ADD fails");
    assert_eq!(e.code(), Code::FailedPrecondition, "an invalid network config: {e:?}");
    assert!(e.message().contains("CNI ADD"), "{e:?}");
    assert_nothing_left(&node);
    assert!(node.containerd.task("x").is_none());

    node.network.heal("ADD");
    let id = run(&node, pod("web")).await.expect("the same name again, once ADD works");
    assert_eq!(node.ctx.sandboxes.get(&id).unwrap().status.state, SandboxState::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_that_cannot_start_detaches_the_network_before_unpinning() {
    let node = with_pause(TestNode::new());
    node.containerd.fail("start_task");
    let e = run(&node, pod("web")).await.expect_err("start fails");
    assert_eq!(e.code(), Code::Unavailable, "{e:?}");
    let id = node.journal.starting("cni DEL ").pop().expect("a DEL").replace("cni DEL ", "");
    assert!(
        node.journal.position("containerd delete_container") < node.journal.position("cni DEL")
    );
    assert!(node.journal.position("cni DEL") < node.journal.position("pins remove netns"));
    assert!(node.containerd.task(&id).is_none(), "the created task is deleted");
    assert_nothing_left(&node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_that_fails_keeps_the_pod_not_ready_and_a_retry_replaces_it() {
    let node = with_pause(TestNode::new());
    node.containerd.fail("start_task");
    node.network.fail("DEL", 11);
    run(&node, pod("web")).await.expect_err("start fails");
    let kept = node.ctx.sandboxes.list();
    assert_eq!(kept.len(), 1, "kept for kubelet to stop");
    assert_eq!(kept[0].status.state, SandboxState::NotReady);
    let old = kept[0].meta.id.clone();

    node.containerd.heal("start_task");
    node.network.heal("DEL");
    let new = run(&node, pod("web")).await.expect("the retry");
    assert_ne!(new, old);
    let ids: Vec<String> = node.ctx.sandboxes.list().into_iter().map(|s| s.meta.id).collect();
    assert_eq!(ids, vec![new.clone()], "the failed pod went");
    assert_eq!(node.network.attached(), vec![new.clone()]);
    assert_eq!(node.containerd.container_ids(), vec![new]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_ready_pod_answers_with_it() {
    let node = TestNode::new();
    let id = run(&node, pod("web")).await.expect("RunPodSandbox");
    let calls = node.journal.entries().len();
    assert_eq!(run(&node, pod("web")).await.expect("again"), id);
    assert_eq!(node.journal.entries().len(), calls, "nothing more done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_removes_the_task_and_network_before_the_pins_and_is_idempotent() {
    let node = with_pause(TestNode::new());
    let id = run(&node, pod("web")).await.expect("RunPodSandbox");
    let before = node.journal.entries().len();
    stop(&node, &id).await.expect("StopPodSandbox");
    let pins = node.journal.position("pins remove netns");
    assert!(pins > before);
    assert!(node.journal.position("containerd delete_task") < pins);
    assert!(node.journal.position("cni DEL") < pins);
    assert!(node.containerd.task(&id).is_none());
    assert_eq!(node.network.attached(), Vec::<String>::new());
    assert_eq!(node.ctx.sandboxes.get(&id).unwrap().status.state, SandboxState::NotReady);
    let on_disk = super::persist::load_status(&node.ctx, &id).expect("a status file");
    assert_eq!(on_disk.state, SandboxState::NotReady);

    stop(&node, &id).await.expect("a second stop");
    stop(&node, "0123456789abcdef").await.expect("an unknown pod is stopped");
    let req = RemovePodSandboxRequest { pod_sandbox_id: id.clone() };
    super::remove_pod_sandbox(&node.ctx, req).await.expect("RemovePodSandbox");
    assert_nothing_left(&node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_del_that_keeps_failing_fails_the_stop_and_keeps_the_pins() {
    let node = TestNode::new();
    let id = run(&node, pod("web")).await.expect("RunPodSandbox");
    node.network.fail("DEL", 11);
    let e = stop(&node, &id).await.expect_err("DEL fails");
    assert_eq!(e.code(), Code::Unavailable, "kubelet calls again: {e:?}");
    assert_eq!(node.journal.starting("cni DEL").len(), 4, "retried");
    assert!(node.journal.starting("pins remove").is_empty(), "the netns stays for the next DEL");
    node.network.heal("DEL");
    stop(&node, &id).await.expect("the next stop");
    assert_eq!(node.pins.files(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_reads_a_pod_whose_pause_died_as_not_ready() {
    let node = with_pause(TestNode::new());
    let (alive, dead) = (run(&node, pod("a")).await.unwrap(), run(&node, pod("b")).await.unwrap());
    node.containerd.lose_task(&dead);
    let node = node.restart();
    assert_eq!(super::recover(&node.ctx).await.expect("recover"), 2);
    let state = |id: &str| node.ctx.sandboxes.get(id).expect("recovered").status.state;
    assert_eq!((state(&alive), state(&dead)), (SandboxState::Ready, SandboxState::NotReady));
    let gc = node.journal.starting("cni GC testnet ");
    assert_eq!(gc.len(), 1, "{gc:?}");
    let mut valid: Vec<&str> = gc[0]["cni GC testnet ".len()..].split(',').collect();
    let mut both = vec![alive.as_str(), dead.as_str()];
    valid.sort();
    both.sort();
    assert_eq!(valid, both, "both pods still hold their addresses");
    let e = run(&node, pod("a")).await.expect("a retry after the restart");
    assert_eq!(e, alive, "the name is held by the recovered pod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_without_a_pause_reads_lost_pins_as_not_ready() {
    let node = TestNode::new();
    let id = run(&node, pod("a")).await.unwrap();
    node.pins.lose(&node.ctx.namespaces.pin_path(crate::adapters::namespace_pins::Kind::Net, &id));
    let node = node.restart();
    super::recover(&node.ctx).await.expect("recover");
    assert_eq!(node.ctx.sandboxes.get(&id).unwrap().status.state, SandboxState::NotReady);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_undoes_an_interrupted_run_and_releases_orphans() {
    let node = with_pause(TestNode::new());
    let id = run(&node, pod("a")).await.unwrap();
    // Killed before the status was written: the record and the attachment exist, no status.
    std::fs::remove_file(super::persist::dir(&node.ctx, &id).join("status.json")).unwrap();
    // Killed before the record was made: an attachment and a pin nobody claims.
    node.network.leave_attached("testnet", "feedface");
    let want = crate::adapters::namespace_pins::PodNamespaces {
        kinds: vec![crate::adapters::namespace_pins::Kind::Net],
        ..Default::default()
    };
    node.ctx.namespaces.create("feedface", &want).unwrap();
    let node = node.restart();
    assert_eq!(super::recover(&node.ctx).await.expect("recover"), 0);
    assert!(node.journal.starting("cni DEL ").contains(&"cni DEL feedface".to_string()));
    assert_eq!(node.journal.starting("cni GC"), vec!["cni GC testnet "], "no pod is valid");
    assert_nothing_left(&node);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_that_will_not_go_keeps_the_failed_pod_for_kubelet_to_finish() {
    let node = TestNode::new();
    node.network.fail("ADD", 5);
    node.pins.fail_removes(true);
    let e = run(&node, pod("web")).await.expect_err("ADD fails");
    assert_eq!(e.code(), Code::Internal, "an I/O failure of the plugin: {e:?}");
    let kept = node.ctx.sandboxes.list();
    assert_eq!(kept.len(), 1, "kept, so that kubelet's Stop and Remove finish the undo");
    assert_eq!(kept[0].status.state, SandboxState::NotReady);
    let id = kept[0].meta.id.clone();

    node.pins.fail_removes(false);
    stop(&node, &id).await.expect("StopPodSandbox");
    let req = RemovePodSandboxRequest { pod_sandbox_id: id };
    super::remove_pod_sandbox(&node.ctx, req).await.expect("RemovePodSandbox");
    assert_nothing_left(&node);
}
