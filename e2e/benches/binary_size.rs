//! Prints the size of the release binaries (LTO, stripped; see the workspace's release
//! profile). Build them first: `cargo build --release --bins`.

fn main() {
    let cricket = e2e::workspace::cricket_release_binary();
    let logger = cricket.with_file_name("cricket-logger");
    println!("binary size (release profile: opt-level s, fat LTO, one codegen unit, stripped)");
    for bin in [&cricket, &logger] {
        let bytes = std::fs::metadata(bin)
            .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release --bins)", bin.display()))
            .len();
        println!(
            "  {:<16} {:>10} bytes  {:6.2} MiB",
            bin.file_name().unwrap().to_string_lossy(),
            bytes,
            bytes as f64 / (1024.0 * 1024.0)
        );
    }
}
