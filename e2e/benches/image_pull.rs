//! Pulling a 5-layer, ~40 MB image from a local docker-registry: cricket's PullImage against
//! containerd's CRI plugin's PullImage and `ctr images pull --plain-http` (containerd's own Go
//! client), all unpacking into overlayfs, each round on a fresh containerd so none finds
//! anything cached, the three interleaved.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench image_pull

use std::time::{Duration, Instant};

use e2e::containerd::Containerd;
use e2e::containerd_cri::ContainerdCri;
use e2e::cri_client::CriClient;
use e2e::cricket::{write_config, Cricket};
use e2e::image_builder::{build, random_layer, Compression, ImageOptions};
use e2e::proc_usage::{cpu_of, status_kib};
use e2e::registry::Registry;
use e2e::workspace::{cricket_release_binary, Workspace};

const ROUNDS: usize = 7;

fn cleanup(ws: &Workspace) {
    for dir in [&ws.run_dir, &ws.lib_dir] {
        e2e::leaks::unmount_below(&dir.display().to_string());
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// (pull time, CPU of cricket and containerd during it, [RSS before, peak RSS, RSS 3 s after]
/// in KiB).
async fn cricket_round(reference: &str, registry_host: &str) -> (Duration, Duration, [u64; 3]) {
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
    let (c0, d0) = (cpu_of(cricket.pid()), cpu_of(containerd.pid()));
    let t0 = Instant::now();
    cri.pull(reference, None).await.expect("cricket pull");
    let took = t0.elapsed();
    let cpu = (cpu_of(cricket.pid()) - c0) + (cpu_of(containerd.pid()) - d0);
    let peak = status_kib(cricket.pid(), "VmHWM:");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = status_kib(cricket.pid(), "VmRSS:");
    cricket.stop();
    containerd.stop();
    cleanup(&ws);
    (took, cpu, [before, peak, after])
}

/// PullImage on containerd's own CRI plugin (the backend's containerd).
/// (pull time, containerd's CPU during it).
async fn containerd_cri_round(reference: &str, registry_host: &str) -> (Duration, Duration) {
    let ws = Workspace::new();
    // Its sandbox image is never used here: no pod starts.
    let containerd = ContainerdCri::start(&ws, registry_host, reference, "10.197.0.0/24");
    let mut cri = CriClient::connect(&containerd.address).await.expect("containerd's CRI");
    let d0 = cpu_of(containerd.pid());
    let t0 = Instant::now();
    cri.pull(reference, None).await.expect("containerd CRI pull");
    let took = t0.elapsed();
    let cpu = cpu_of(containerd.pid()) - d0;
    drop(containerd);
    cleanup(&ws);
    (took, cpu)
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
    let (mut ours, mut theirs, mut plugin, mut peaks) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut our_cpu, mut plugin_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        theirs.push(ctr_round(&reference));
        let (took, cpu) = rt.block_on(containerd_cri_round(&reference, &registry.host));
        plugin.push(took);
        plugin_cpu.push(cpu);
        let (took, cpu, peak) = rt.block_on(cricket_round(&reference, &registry.host));
        ours.push(took);
        our_cpu.push(cpu);
        peaks.push(peak);
    }
    our_cpu.sort();
    plugin_cpu.sort();
    ours.sort();
    theirs.sort();
    plugin.sort();
    let (a, b, c) = (ours[ROUNDS / 2], theirs[ROUNDS / 2], plugin[ROUNDS / 2]);
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
    println!(
        "  containerd's CRI PullImage:   {:.0} ms   (all: {:?})",
        c.as_secs_f64() * 1e3,
        plugin.iter().map(|d| d.as_millis()).collect::<Vec<_>>()
    );
    println!("  ratio cricket/ctr: {:.2}   (goal <= 1.0)", a.as_secs_f64() / b.as_secs_f64());
    println!(
        "  ratio cricket/containerd's CRI: {:.2}   (goal <= 0.8)",
        a.as_secs_f64() / c.as_secs_f64()
    );
    println!(
        "  CPU per pull (median): cricket + containerd {} ms, containerd's CRI {} ms",
        our_cpu[ROUNDS / 2].as_millis(),
        plugin_cpu[ROUNDS / 2].as_millis()
    );
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
