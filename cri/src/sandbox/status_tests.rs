//! PodSandboxStatus and ListPodSandbox over pods made through the fakes.

use std::collections::HashMap;

use crate::api::v1::{
    ListPodSandboxRequest, PodSandboxFilter, PodSandboxState, PodSandboxStateValue,
    PodSandboxStatusRequest, StopPodSandboxRequest,
};
use tonic::Code;

use crate::testing::{pod_config, TestNode};

async fn status(
    node: &TestNode,
    id: &str,
    verbose: bool,
) -> crate::api::v1::PodSandboxStatusResponse {
    let req = PodSandboxStatusRequest { pod_sandbox_id: id.into(), verbose };
    super::pod_sandbox_status(&node.ctx, req).await.expect("PodSandboxStatus")
}

fn listed(node: &TestNode, filter: PodSandboxFilter) -> Vec<String> {
    let req = ListPodSandboxRequest { filter: Some(filter) };
    let mut ids: Vec<String> =
        super::list_pod_sandbox(&node.ctx, req).items.into_iter().map(|p| p.id).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_pod_reports_its_address_and_a_stopped_one_reads_not_ready() {
    let node = TestNode::new();
    let id = node.run_pod(pod_config("web")).await.expect("RunPodSandbox");
    let s = status(&node, &id, true).await;
    let st = s.status.clone().expect("a status");
    assert_eq!(st.state, PodSandboxState::SandboxReady as i32);
    assert_eq!(st.network.expect("a network status").ip, "10.88.0.7");
    let info: serde_json::Value = serde_json::from_str(&s.info["info"]).expect("verbose JSON");
    assert_eq!(info["network"], "testnet");
    assert_eq!(info["pause"], false);
    assert!(info["runtimeSpec"]["linux"].is_object(), "the recorded spec: {info}");

    let stop = StopPodSandboxRequest { pod_sandbox_id: id.clone() };
    crate::sandbox::stop_pod_sandbox(&node.ctx, stop).await.expect("StopPodSandbox");
    let st = status(&node, &id, false).await.status.expect("a status");
    assert_eq!(st.state, PodSandboxState::SandboxNotready as i32);

    let req = PodSandboxStatusRequest { pod_sandbox_id: "0123".into(), verbose: false };
    let e = super::pod_sandbox_status(&node.ctx, req).await.expect_err("unknown");
    assert_eq!(e.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_id_prefix_state_and_labels() {
    let node = TestNode::new();
    let mut labelled = pod_config("a");
    labelled.labels = HashMap::from([("app".to_string(), "web".to_string())]);
    let a = node.run_pod(labelled).await.expect("pod a");
    let b = node.run_pod(pod_config("b")).await.expect("pod b");
    let stop = StopPodSandboxRequest { pod_sandbox_id: b.clone() };
    crate::sandbox::stop_pod_sandbox(&node.ctx, stop).await.expect("StopPodSandbox");

    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(listed(&node, PodSandboxFilter::default()), both);
    let by_id = PodSandboxFilter { id: a[..12].to_string(), ..Default::default() };
    assert_eq!(listed(&node, by_id), vec![a.clone()], "an ID prefix");
    let ready = PodSandboxStateValue { state: PodSandboxState::SandboxReady as i32 };
    let by_state = PodSandboxFilter { state: Some(ready), ..Default::default() };
    assert_eq!(listed(&node, by_state), vec![a.clone()]);
    let selector = HashMap::from([("app".to_string(), "web".to_string())]);
    let by_label = PodSandboxFilter { label_selector: selector, ..Default::default() };
    assert_eq!(listed(&node, by_label), [a]);
    let other = HashMap::from([("app".to_string(), "db".to_string())]);
    let none = PodSandboxFilter { label_selector: other, ..Default::default() };
    assert_eq!(listed(&node, none), Vec::<String>::new());
}
