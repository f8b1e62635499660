//! A one-node Kubernetes cluster whose kubelet uses cricket, for trying cricket without kind:
//! the e2e suite's cluster (etcd, API server, controller manager, scheduler, kubelet, cricket
//! and containerd in a network namespace of their own), kept up until Ctrl-C, then taken down
//! with everything it ran. `/run/cricket-cluster/kubectl` is kubectl pointed at it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use e2e::cluster::{Cluster, ClusterOptions};

fn main() {
    let cluster = Cluster::start(ClusterOptions::default());
    let dir = Path::new("/run/cricket-cluster");
    std::fs::create_dir_all(dir).expect("create /run/cricket-cluster");
    let kubectl = dir.join("kubectl");
    let netns = cluster.node.netns.clone().expect("the cluster has a network namespace");
    let script = format!(
        "#!/bin/sh\n# kubectl for the one-node cricket cluster, run in its network namespace.\nexec nsenter --net=/run/netns/{netns} {} --kubeconfig={} \"$@\"\n",
        e2e::kube::binary("kubectl").display(),
        cluster.kubeconfig.display()
    );
    std::fs::write(&kubectl, script).expect("write the kubectl wrapper");
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    println!("the cluster is up: node {} runs pods through cricket", e2e::cluster::NODE_NAME);
    println!("  kubectl:  {}", kubectl.display());
    println!(
        "  logs:     {}/*.log, cricket's in {}",
        cluster.dir.display(),
        cluster.node.cricket.as_ref().unwrap().log.display()
    );
    println!("  registry: {} inside the namespace {netns} (plain HTTP; push with `nsenter --net=/run/netns/{netns} skopeo copy ...`)", cluster.node.registry().host);
    println!("Ctrl-C takes it all down.");
    wait_for_interrupt();
    let _ = std::fs::remove_file(&kubectl);
    cluster.finish();
}

/// Blocks until SIGINT or SIGTERM arrives.
fn wait_for_interrupt() {
    // SAFETY: the set is initialised by sigemptyset before use, and blocking the two signals
    // in this (the only) thread lets sigwait take them instead of their default action.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let mut signal = 0;
        libc::sigwait(&set, &mut signal);
    }
}
