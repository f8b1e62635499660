//! cricket's start-up and idle footprint against a real containerd.
//!
//! Prints the time from exec to a socket that accepts connections (containerd up, pause image
//! already imported, as on every start but the first), the idle RSS once the daemon settles,
//! and the peak RSS of a first start that imports the built-in pause image.
//! Run: cargo build --release --bins && cargo bench -p e2e --bench daemon_startup

use std::process::Command;
use std::time::{Duration, Instant};

use e2e::containerd::Containerd;
use e2e::cricket::write_config;
use e2e::proc_usage::status_kib;
use e2e::process::{wait_for_socket, Daemon};
use e2e::workspace::{cricket_release_binary, Workspace};

const RUNS: usize = 20;

fn start(ws: &Workspace, config: &std::path::Path) -> (Daemon, Duration) {
    let socket = ws.run("cricket.sock");
    let mut cmd = Command::new(cricket_release_binary());
    cmd.arg("serve").arg("--config").arg(config).env("RUST_LOG", "warn");
    let t0 = Instant::now();
    let daemon = Daemon::spawn("cricket", cmd, &ws.run("cricket.log"));
    assert!(wait_for_socket(&socket, Duration::from_secs(10)), "cricket did not start");
    (daemon, t0.elapsed())
}

fn main() {
    let ws = Workspace::new();
    let mut containerd = Containerd::start(&ws);
    let config = write_config(&ws, &containerd.address, "");

    // First start: imports the pause image.
    let (mut first, _) = start(&ws, &config);
    let imported = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        let (_, out, _) = containerd.ctr("k8s.io", &["images", "check"]);
        out.lines().any(|l| l.contains("localhost/cricket/pause") && l.trim_end().ends_with("true"))
    });
    assert!(imported, "pause image was not imported");
    let first_peak = status_kib(first.pid(), "VmHWM:");
    first.stop(Duration::from_secs(10));

    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..RUNS {
        let (mut d, t) = start(&ws, &config);
        times.push(t);
        d.stop(Duration::from_secs(10));
    }
    times.sort();
    let (mut idle, _) = start(&ws, &config);
    std::thread::sleep(Duration::from_secs(3));
    let rss = status_kib(idle.pid(), "VmRSS:");
    let threads = std::fs::read_to_string(format!("/proc/{}/status", idle.pid()))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .map(|l| l.to_string())
        .unwrap_or_default();
    idle.stop(Duration::from_secs(10));
    containerd.stop();

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("daemon_startup: exec -> ready socket over {RUNS} starts (containerd up, pause image present)");
    println!(
        "  min {:.1} ms   median {:.1} ms   max {:.1} ms   (goal <= 100 ms)",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1])
    );
    println!(
        "idle RSS after 3 s: {:.1} MiB ({rss} KiB)   {threads}   (goal <= 10 MiB)",
        rss as f64 / 1024.0
    );
    println!(
        "peak RSS of a first start that imports the pause image: {:.1} MiB",
        first_peak as f64 / 1024.0
    );
    for dir in [&ws.run_dir, &ws.lib_dir] {
        e2e::leaks::unmount_below(&dir.display().to_string());
        let _ = std::fs::remove_dir_all(dir);
    }
}
