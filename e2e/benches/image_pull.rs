//! Pulling a 5-layer, ~40 MB image from a local docker-registry: cricket's PullImage against
//! `ctr images pull --plain-http` (containerd's own Go client), both unpacking into overlayfs,
//! each round on a fresh containerd so neither finds anything cached.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench image_pull

use std::time::{Duration, Instant};

use e2e::containerd::Containerd;
use e2e::cricket::{write_config, Cricket};
use e2e::image_builder::{build, random_layer, Compression, ImageOptions};
use e2e::registry::Registry;
use e2e::workspace::{cricket_release_binary, Workspace};

const ROUNDS: usize = 3;

fn cleanup(ws: &Workspace) {
    for dir in [&ws.run_dir, &ws.lib_dir] {
        e2e::leaks::unmount_below(&dir.display().to_string());
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// (pull time, RSS before, peak RSS, RSS 3 s after) in KiB.
async fn cricket_round(reference: &str, registry_host: &str) -> (Duration, [u64; 3]) {
    let ws = Workspace::new();
    let mut containerd = Containerd::start(&ws);
    let extra = format!("[images.registries.\"{registry_host}\"]\ninsecure = true\n");
    let config = write_config(&ws, &containerd.address, &extra);
    let mut cricket = Cricket::start(&ws, config);
    let mut cri = cricket.client().await;
    let ready = e2e::eventually(Duration::from_secs(20), || {
        let mut c = cri.clone();
        async move { c.runtime_ready().await.then_some(()) }
    });
    assert!(ready.await.is_some(), "cricket not ready");
    let before = status_kib(cricket.pid(), "VmRSS:");
    let t0 = Instant::now();
    cri.pull(reference, None).await.expect("cricket pull");
    let took = t0.elapsed();
    let peak = status_kib(cricket.pid(), "VmHWM:");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = status_kib(cricket.pid(), "VmRSS:");
    cricket.stop();
    containerd.stop();
    cleanup(&ws);
    (took, [before, peak, after])
}

fn ctr_round(reference: &str) -> Duration {
    let ws = Workspace::new();
    let mut containerd = Containerd::start(&ws);
    let t0 = Instant::now();
    let out = e2e::backend::command("ctr")
        .arg("--address")
        .arg(&containerd.address)
        .args(["--namespace", "k8s.io", "images", "pull", "--plain-http", reference])
        .output()
        .expect("run ctr");
    let took = t0.elapsed();
    assert!(out.status.success(), "ctr pull: {}", String::from_utf8_lossy(&out.stderr));
    containerd.stop();
    cleanup(&ws);
    took
}

fn main() {
    std::env::set_var("CRICKET_BIN", cricket_release_binary());
    let ws = Workspace::new();
    let registry = Registry::start(&ws, None, None);
    let layers: Vec<Vec<u8>> = (0..5).map(|i| random_layer(1000 + i, 8, 1 << 20)).collect();
    let image =
        build(&layers, &ImageOptions { compression: Compression::Gzip, ..Default::default() });
    let size: usize = image.layers.iter().map(|l| l.blob.data.len()).sum();
    let reference = registry.push(&image, "bench/big", "1");

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (mut ours, mut theirs, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        theirs.push(ctr_round(&reference));
        let (took, peak) = rt.block_on(cricket_round(&reference, &registry.host));
        ours.push(took);
        peaks.push(peak);
    }
    ours.sort();
    theirs.sort();
    let (a, b) = (ours[ROUNDS / 2], theirs[ROUNDS / 2]);
    println!("image_pull: 5 gzip layers, {:.1} MB compressed, local docker-registry, fresh containerd per pull, median of {ROUNDS}", size as f64 / 1e6);
    println!(
        "  cricket PullImage:            {:.0} ms   (all: {:?})",
        a.as_secs_f64() * 1e3,
        ours.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!(
        "  ctr images pull --plain-http: {:.0} ms   (all: {:?})",
        b.as_secs_f64() * 1e3,
        theirs.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!("  ratio cricket/ctr: {:.2}   (goal <= 1.0)", a.as_secs_f64() / b.as_secs_f64());
    let mib = |k: u64| k as f64 / 1024.0;
    let [before, peak, after] = peaks[ROUNDS - 1];
    println!(
        "  cricket RSS: {:.1} MiB before, {:.1} MiB peak, {:.1} MiB 3 s after the pull",
        mib(before),
        mib(peak),
        mib(after)
    );
    drop(registry);
    cleanup(&ws);
}
