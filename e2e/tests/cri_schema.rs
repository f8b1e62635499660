//! cricket's CRI schema against the published ones, compared field by field from compiled
//! descriptors: identical to `k8s.io/cri-api` v0.37 (Kubernetes 1.37, from the Go module
//! proxy), and a wire-compatible superset of the 1.32 schema the `k8s-cri` crate carries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use prost::Message;
use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FileDescriptorSet};

/// Every message field, enum value and RPC of a schema, by a path such as
/// `M ContainerConfig.stop_signal` or `E Signal.SIGNAL_SIGTERM`.
fn flatten(set: &FileDescriptorSet) -> BTreeMap<String, String> {
    fn message(m: &DescriptorProto, scope: &str, out: &mut BTreeMap<String, String>) {
        let name = format!("{scope}{}", m.name());
        out.insert(format!("M {name}"), String::new());
        for f in &m.field {
            let shape =
                format!("{} {:?} {:?} {}", f.number(), f.r#type(), f.label(), f.type_name());
            out.insert(format!("M {name}.{}", f.name()), shape);
        }
        for e in &m.enum_type {
            for v in &e.value {
                out.insert(format!("E {name}.{}.{}", e.name(), v.name()), v.number().to_string());
            }
        }
        for n in &m.nested_type {
            message(n, &format!("{name}."), out);
        }
    }
    let mut out = BTreeMap::new();
    for file in &set.file {
        for m in &file.message_type {
            message(m, "", &mut out);
        }
        for e in &file.enum_type {
            for v in &e.value {
                out.insert(format!("E {}.{}", e.name(), v.name()), v.number().to_string());
            }
        }
        for s in &file.service {
            for m in &s.method {
                let shape = format!(
                    "{} -> {}{}",
                    m.input_type(),
                    if m.server_streaming() { "stream " } else { "" },
                    m.output_type()
                );
                out.insert(format!("S {}.{}", s.name(), m.name()), shape);
            }
        }
    }
    out
}

/// The descriptors protoc makes of `proto` (an upstream file; `[debug_redact = true]`, which
/// this protoc does not know and which changes nothing on the wire, is left out).
fn compile(proto: &Path) -> FileDescriptorSet {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(proto).unwrap();
    let input = dir.path().join("api.proto");
    std::fs::write(&input, text.replace(" [debug_redact = true]", "")).unwrap();
    let out = dir.path().join("set.bin");
    let status = Command::new("protoc")
        .arg(format!("-I{}", dir.path().display()))
        .arg(format!("--descriptor_set_out={}", out.display()))
        .arg(&input)
        .status()
        .expect("run protoc");
    assert!(status.success(), "protoc {}", proto.display());
    FileDescriptorSet::decode(&*std::fs::read(out).unwrap()).unwrap()
}

fn ours() -> BTreeMap<String, String> {
    flatten(&FileDescriptorSet::decode(cricket::api::FILE_DESCRIPTOR_SET).unwrap())
}

/// `k8s.io/cri-api`'s api.proto at `version`, from the Go module proxy.
fn cri_api_proto(version: &str) -> PathBuf {
    let out = Command::new("go")
        .args(["mod", "download", "-json", &format!("k8s.io/cri-api@{version}")])
        .env("GOFLAGS", "-mod=mod")
        .output()
        .expect("run go");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    PathBuf::from(info["Dir"].as_str().unwrap()).join("pkg/apis/runtime/v1/api.proto")
}

/// The `k8s-cri` crate's v1.proto (a dev-dependency of cri, so in cargo's registry).
fn k8s_cri_proto() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform"])
        .arg(format!("{}-unknown-linux-gnu", std::env::consts::ARCH))
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let package = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "k8s-cri")
        .expect("k8s-cri in the workspace's dependencies");
    Path::new(package["manifest_path"].as_str().unwrap()).parent().unwrap().join("proto/v1.proto")
}

#[test]
fn the_schema_is_that_of_cri_api_v0_37() {
    let upstream = flatten(&compile(&cri_api_proto("v0.37.2")));
    let ours = ours();
    let differences: Vec<_> = upstream
        .keys()
        .chain(ours.keys())
        .filter(|k| upstream.get(*k) != ours.get(*k))
        .map(|k| format!("{k}: upstream {:?}, cricket {:?}", upstream.get(k), ours.get(k)))
        .collect();
    assert!(differences.is_empty(), "{differences:#?}");
    assert!(ours.len() > 800, "{} entries", ours.len());
    assert_eq!(ours["M KeyValue.value"], format!("2 {:?} Optional ", Type::Bytes));
    assert_eq!(ours["E Signal.SIGNAL_SIGUSR1"], "29");
}

#[test]
fn every_field_of_the_1_32_schema_keeps_its_number_and_wire_type() {
    let old = flatten(&compile(&k8s_cri_proto()));
    let ours = ours();
    // Strings became bytes in 1.37: the same wire type (length-delimited).
    let wire =
        |shape: &str| shape.replace(&format!("{:?}", Type::Bytes), &format!("{:?}", Type::String));
    let broken: Vec<_> = old
        .iter()
        .filter(|(k, shape)| ours.get(*k).map(|s| wire(s)) != Some(wire(shape)))
        .map(|(k, shape)| format!("{k}: 1.32 {shape:?}, cricket {:?}", ours.get(k)))
        .collect();
    assert!(broken.is_empty(), "{broken:#?}");
    let added: Vec<_> = ours.keys().filter(|k| !old.contains_key(*k)).collect();
    for key in [
        "M ContainerConfig.stop_signal",
        "M Mount.image_sub_path",
        "S RuntimeService.StreamContainers",
    ] {
        assert!(added.iter().any(|k| *k == key), "{key} is new since 1.32");
    }
}
