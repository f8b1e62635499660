//! Pulls at once, as kubelet makes them with `serializeImagePulls: false`: 10 different
//! images (2 gzip layers of 4 MiB each) pulled together, and one image (5 layers, ~44 MB)
//! pulled by 20 callers together, on cricket and on containerd's CRI plugin, each round on a
//! fresh containerd so nothing is cached, the two interleaved. Wall time per burst.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench concurrent_pulls

use std::time::{Duration, Instant};

use e2e::containerd::Containerd;
use e2e::containerd_cri::ContainerdCri;
use e2e::cri_client::CriClient;
use e2e::cricket::{write_config, Cricket};
use e2e::image_builder::{build, random_layer, Compression, ImageOptions};
use e2e::registry::Registry;
use e2e::workspace::{cricket_release_binary, Workspace};

const ROUNDS: usize = 3;
const DIFFERENT: u64 = 10;
const CALLERS: usize = 20;

fn cleanup(ws: &Workspace) {
    for dir in [&ws.run_dir, &ws.lib_dir] {
        e2e::leaks::unmount_below(&dir.display().to_string());
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The time for every pull of `references` to finish, all asked at once.
async fn burst(cri: &CriClient, references: &[String]) -> Duration {
    let t0 = Instant::now();
    let pulls: Vec<_> = references
        .iter()
        .map(|r| {
            let (mut cri, r) = (cri.clone(), r.clone());
            tokio::spawn(async move { cri.pull(&r, None).await.expect("PullImage") })
        })
        .collect();
    for p in pulls {
        p.await.expect("a pull");
    }
    t0.elapsed()
}

async fn on_cricket(references: &[String], registry_host: &str) -> Duration {
    let ws = Workspace::new();
    let mut containerd = Containerd::start(&ws);
    let extra = format!("[images.registries.\"{registry_host}\"]\ninsecure = true\n");
    let mut cricket = Cricket::start(&ws, write_config(&ws, &containerd.address, &extra));
    let cri = cricket.client().await;
    let ready = e2e::eventually(Duration::from_secs(20), || {
        let mut c = cri.clone();
        async move { c.runtime_ready().await.then_some(()) }
    });
    assert!(ready.await.is_some(), "cricket not ready");
    let took = burst(&cri, references).await;
    cricket.stop();
    containerd.stop();
    cleanup(&ws);
    took
}

async fn on_containerd_cri(references: &[String], registry_host: &str) -> Duration {
    let ws = Workspace::new();
    // Its sandbox image is never used here: no pod starts.
    let containerd = ContainerdCri::start(&ws, registry_host, &references[0], "10.197.0.0/24");
    let cri = CriClient::connect(&containerd.address).await.expect("containerd's CRI");
    let took = burst(&cri, references).await;
    drop(containerd);
    cleanup(&ws);
    took
}

fn report(what: &str, ours: &mut [Duration], theirs: &mut [Duration]) {
    ours.sort();
    theirs.sort();
    let ms = |v: &[Duration]| v.iter().map(|d| d.as_millis()).collect::<Vec<_>>();
    let (a, b) = (ours[ROUNDS / 2], theirs[ROUNDS / 2]);
    println!("  {what}");
    println!("    cricket:          {:5} ms   (all: {:?})", a.as_millis(), ms(ours));
    println!("    containerd's CRI: {:5} ms   (all: {:?})", b.as_millis(), ms(theirs));
    println!("    ratio: {:.2}   (goal <= 1.0)", a.as_secs_f64() / b.as_secs_f64());
}

fn main() {
    std::env::set_var("CRICKET_BIN", cricket_release_binary());
    let ws = Workspace::new();
    let registry = Registry::start(&ws, None, None);
    let options = ImageOptions { compression: Compression::Gzip, ..Default::default() };
    let different: Vec<String> = (0..DIFFERENT)
        .map(|i| {
            let layers: Vec<Vec<u8>> =
                (0..2).map(|l| random_layer(2000 + i * 10 + l, 4, 1 << 20)).collect();
            registry.push(&build(&layers, &options), &format!("bench/small{i}"), "1")
        })
        .collect();
    let layers: Vec<Vec<u8>> = (0..5).map(|i| random_layer(1000 + i, 8, 1 << 20)).collect();
    let big = registry.push(&build(&layers, &options), "bench/big", "1");
    let same = vec![big; CALLERS];

    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (mut ours, mut theirs) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for _ in 0..ROUNDS {
        for (i, references) in [&different, &same].into_iter().enumerate() {
            theirs[i].push(rt.block_on(on_containerd_cri(references, &registry.host)));
            ours[i].push(rt.block_on(on_cricket(references, &registry.host)));
        }
    }
    println!(
        "concurrent_pulls: local docker-registry, fresh containerd per burst, median of {ROUNDS}"
    );
    let [ours_different, ours_same] = &mut ours;
    let [theirs_different, theirs_same] = &mut theirs;
    report("10 different images (2 x 4 MiB layers each) at once", ours_different, theirs_different);
    report("one 5-layer 44 MB image, 20 PullImage calls at once", ours_same, theirs_same);
    drop(registry);
    cleanup(&ws);
}
