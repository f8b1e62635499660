//! The deploy manifests, parsed and held to the config contract: every socket they name is
//! the default `listen`, every RuntimeClass handler has a runtime table, the files they copy
//! exist, the default network is valid and its plugins installed, and systemd accepts the unit.

use std::path::{Path, PathBuf};
use std::process::Command;

use cricket::config::{load_str, Config};
use yaml_rust2::{Yaml, YamlLoader};

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(manifests().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn yaml(name: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn default_config() -> Config {
    load_str(&read("config.toml"), Path::new("manifests/config.toml")).unwrap()
}

fn endpoint() -> String {
    format!("unix://{}", default_config().listen.display())
}

#[test]
fn the_shipped_config_is_the_default_and_serves_the_documented_socket() {
    assert_eq!(default_config(), Config::default());
    assert_eq!(endpoint(), "unix:///run/cricket/cricket.sock");
    let crictl = &yaml("crictl.yaml")[0];
    assert_eq!(
        (crictl["runtime-endpoint"].as_str(), crictl["image-endpoint"].as_str()),
        (Some(endpoint().as_str()), Some(endpoint().as_str()))
    );
}

#[test]
fn the_kind_cluster_points_kubeadm_and_kubelet_at_cricket() {
    let cluster = &yaml("kind/cluster.yaml")[0];
    assert_eq!(
        (cluster["kind"].as_str(), cluster["apiVersion"].as_str()),
        (Some("Cluster"), Some("kind.x-k8s.io/v1alpha4"))
    );
    let patches: Vec<Yaml> = cluster["kubeadmConfigPatches"]
        .as_vec()
        .expect("kubeadmConfigPatches")
        .iter()
        .map(|p| {
            YamlLoader::load_from_str(p.as_str().expect("a patch is a YAML string"))
                .unwrap()
                .remove(0)
        })
        .collect();
    let of_kind = |kind: &str| {
        patches
            .iter()
            .find(|p| p["kind"].as_str() == Some(kind))
            .unwrap_or_else(|| panic!("a {kind} patch"))
    };
    for kind in ["InitConfiguration", "JoinConfiguration"] {
        assert_eq!(
            of_kind(kind)["nodeRegistration"]["criSocket"].as_str(),
            Some(endpoint().as_str()),
            "{kind}"
        );
    }
    assert_eq!(
        of_kind("KubeletConfiguration")["containerRuntimeEndpoint"].as_str(),
        Some(endpoint().as_str())
    );
    // containerd's own CRI plugin is off (TOML inside YAML).
    let containerd: toml::Table =
        cluster["containerdConfigPatches"][0].as_str().unwrap().parse().unwrap();
    let disabled = containerd["disabled_plugins"].as_array().unwrap();
    assert!(
        disabled.iter().any(|p| p.as_str() == Some("io.containerd.grpc.v1.cri")),
        "{disabled:?}"
    );
    assert!(cluster["nodes"]
        .as_vec()
        .unwrap()
        .iter()
        .any(|n| n["role"].as_str() == Some("control-plane")));
}

#[test]
fn the_kind_dockerfile_copies_files_that_exist_and_its_edit_applies() {
    let dockerfile = read("kind/Dockerfile");
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().skip(1).collect();
        let (sources, dest) = words.split_at(words.len() - 1);
        for s in sources.iter().filter(|s| !s.starts_with("kind/bin/")) {
            assert!(manifests().join(s).is_file(), "{s} (build context manifests/)");
        }
        assert!(dest[0].starts_with('/'), "{line}");
    }
    assert!(dockerfile.contains("COPY config.toml /etc/cricket/config.toml"));
    // The sed that switches kind nodes to the systemd cgroup driver must find its line.
    assert!(read("config.toml").lines().any(|l| l == "options = { SystemdCgroup = false }"));
    let unit = read("systemd/cricket.service");
    assert!(
        unit.contains("--config /etc/cricket/config.toml"),
        "the unit reads the file the image installs"
    );
    assert!(dockerfile.contains("systemctl enable cricket.service"));
}

#[test]
fn the_unit_names_the_socket_and_keeps_containers_across_restarts() {
    let unit = read("systemd/cricket.service");
    let kubelet_flag = unit
        .lines()
        .find_map(|l| l.strip_prefix("# kubelet: --container-runtime-endpoint="))
        .expect("the endpoint comment");
    assert_eq!(kubelet_flag, endpoint());
    let key = |k: &str| {
        unit.lines().filter_map(|l| l.strip_prefix(&format!("{k}="))).collect::<Vec<_>>().join(" ")
    };
    assert!(
        key("After").contains("containerd.service") && key("Wants").contains("containerd.service")
    );
    assert_eq!(
        (key("Restart").as_str(), key("KillMode").as_str(), key("Type").as_str()),
        ("always", "process", "notify")
    );
    assert!(key("LimitNOFILE").parse::<u64>().is_ok_and(|n| n >= 65536), "{}", key("LimitNOFILE"));
}

#[test]
fn every_runtime_class_handler_has_a_runtime_table() {
    // The default config comments out the tables whose shims are not installed; with those
    // lines uncommented it must hold a table for every handler.
    let text = read("config.toml");
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("[containerd.runtimes.")
                    || rest.starts_with("runtime_type =")
                    || rest.starts_with("options =") =>
            {
                rest
            }
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let all = load_str(&uncommented, Path::new("uncommented")).unwrap();
    let classes = yaml("runtimeclasses.yaml");
    assert_eq!(classes.len(), 3);
    let mut names = Vec::new();
    for class in &classes {
        assert_eq!(
            (class["apiVersion"].as_str(), class["kind"].as_str()),
            (Some("node.k8s.io/v1"), Some("RuntimeClass"))
        );
        let handler = class["handler"].as_str().expect("handler");
        let table = all.containerd.runtimes.get(handler).unwrap_or_else(|| {
            panic!(
                "no [containerd.runtimes.{handler}] for RuntimeClass {:?}",
                class["metadata"]["name"]
            )
        });
        names.push((
            class["metadata"]["name"].as_str().unwrap().to_string(),
            table.runtime_type.clone(),
        ));
    }
    let expected = [
        ("runc", "io.containerd.runc.v2"),
        ("kata", "io.containerd.kata.v2"),
        ("gvisor", "io.containerd.runsc.v1"),
    ];
    assert_eq!(names, expected.map(|(n, t)| (n.to_string(), t.to_string())));
    assert_eq!(
        default_config().containerd.runtimes.keys().collect::<Vec<_>>(),
        ["runc"],
        "only runc is on by default"
    );
}

#[test]
fn the_default_network_is_valid_and_its_plugins_are_installed() {
    let path = manifests().join("cni/10-cricket-bridge.conflist");
    let list = cni::NetworkConfigList::parse_list(
        &path,
        read("cni/10-cricket-bridge.conflist").as_bytes(),
    )
    .unwrap();
    assert_eq!(list.name, "cricket");
    for p in &list.plugins {
        assert!(
            Path::new("/usr/lib/cni").join(&p.plugin_type).is_file(),
            "plugin {}",
            p.plugin_type
        );
    }
    let ipam = &list.plugins[0].raw["ipam"]["type"];
    assert!(Path::new("/usr/lib/cni").join(ipam.as_str().unwrap()).is_file(), "{ipam}");
}

#[test]
fn setup_node_installs_files_that_exist() {
    let script = read("setup-node.sh");
    let mut named = 0;
    for part in script.split("\"$repo/manifests/").skip(1) {
        let file = &part[..part.find('"').unwrap()];
        // A file it installs, or a directory it builds in (the crictl module).
        assert!(manifests().join(file).exists(), "setup-node.sh uses {file}, which is missing");
        named += 1;
    }
    assert!(named >= 4, "{named}");
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let tmp = std::env::temp_dir().join(format!("cricket-unit-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    // verify checks that ExecStart's program exists: point it at the binary under test.
    let unit = read("systemd/cricket.service")
        .replace("/usr/local/bin/cricket", &e2e::workspace::cricket_binary().display().to_string());
    let file = tmp.join("cricket.service");
    std::fs::write(&file, unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .expect("systemd-analyze (package systemd)");
    std::fs::remove_dir_all(&tmp).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {:?}\n{stderr}",
        out.status
    );
}
