//! Compiles the pause program (pause/pause.rs) into a static executable that the cricket
//! binary embeds as its built-in pause image, and generates the CRI messages and services
//! from cricket's own schema in proto/.

use std::path::PathBuf;
use std::process::Command;

/// The schema's files; `runtime_service` and `image_service` import the rest.
const PROTOS: &[&str] = &[
    "proto/types.proto",
    "proto/container.proto",
    "proto/sandbox.proto",
    "proto/image.proto",
    "proto/stats.proto",
    "proto/runtime.proto",
    "proto/image_service.proto",
    "proto/runtime_service.proto",
];

fn main() {
    build_pause();
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("runtime_v1_descriptor.bin"))
        .type_attribute(".", "#[derive(serde::Serialize, serde::Deserialize)]")
        .compile_protos(PROTOS, &["proto/"])
        .expect("generate the CRI schema (protoc comes from protobuf-compiler)");
}

fn build_pause() {
    let source = "pause/pause.rs";
    println!("cargo:rerun-if-changed={source}");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("pause");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").expect("cargo sets TARGET");
    let status = Command::new(rustc)
        .args(["--edition", "2021", "--crate-name", "pause", "--target", &target])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
            "-C",
            "target-feature=+crt-static",
        ])
        .arg("-o")
        .arg(&out)
        .arg(source)
        .status()
        .expect("run rustc for the pause program");
    assert!(status.success(), "building the static pause program failed");
}
