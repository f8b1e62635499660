//! Pinned pod namespaces (cricket::adapters::namespace_pins) on the real kernel.

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use cricket::adapters::namespace_pins::{Kind, LinuxPinner, NamespacePinner, PodNamespaces};
use e2e::leaks::find_leaks;
use e2e::process::run;
use e2e::workspace::Workspace;

fn in_netns(pin: &std::path::Path, args: &[&str]) -> (bool, String) {
    let (ok, out, err) =
        run(Command::new("nsenter").arg(format!("--net={}", pin.display())).args(args));
    (ok, if ok { out } else { err })
}

#[test]
fn a_pinned_namespace_is_new_has_lo_up_and_goes_away_completely() {
    let ws = Workspace::new();
    let netns = LinuxPinner::new(ws.run("pins"));
    let pin = netns.create_netns("pod-a").unwrap();
    let host = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert_ne!(std::fs::metadata(&pin).unwrap().ino(), host, "a namespace of its own");
    assert_ne!(
        std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino(),
        std::fs::metadata(&pin).unwrap().ino(),
        "this thread stayed home"
    );
    let (ok, links) = in_netns(&pin, &["ip", "-o", "link"]);
    assert!(ok, "{links}");
    assert_eq!(links.lines().count(), 1, "only lo: {links}");
    assert!(links.contains("lo:") && links.contains(",UP"), "{links}");

    netns.remove(&pin).unwrap();
    assert!(!pin.exists());
    assert!(find_leaks(&[format!("cricket-e2e-{}", ws.id)]).is_empty(), "no mount left");
    netns.remove(&pin).expect("removing twice is fine");
    assert!(netns.create_netns("bad/name").is_err());
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}

#[test]
fn twenty_namespaces_at_once_are_distinct() {
    let ws = Workspace::new();
    let netns = std::sync::Arc::new(LinuxPinner::new(ws.run("pins")));
    let pins: Vec<_> = (0..20)
        .map(|i| {
            let netns = netns.clone();
            std::thread::spawn(move || netns.create_netns(&format!("pod-{i}")).unwrap())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut inodes: Vec<u64> = pins.iter().map(|p| std::fs::metadata(p).unwrap().ino()).collect();
    inodes.sort();
    inodes.dedup();
    assert_eq!(inodes.len(), 20);
    for pin in &pins {
        netns.remove(pin).unwrap();
    }
    assert!(find_leaks(&[format!("cricket-e2e-{}", ws.id)]).is_empty());
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}

fn nsenter(flags: &[String], args: &[&str]) -> String {
    let (ok, out, err) = run(Command::new("nsenter").args(flags).args(args));
    assert!(ok, "nsenter {flags:?} {args:?}: {err}");
    out.trim().to_string()
}

#[test]
fn ipc_and_uts_pins_carry_the_hostname_and_sysctls_of_a_pod_without_pause() {
    let ws = Workspace::new();
    let pinner = LinuxPinner::new(ws.run("pins"));
    let want = PodNamespaces {
        kinds: vec![Kind::Net, Kind::Ipc, Kind::Uts],
        hostname: Some("pinned-host".into()),
        sysctls: vec![
            ("kernel.shmmni".into(), "1234".into()),
            ("net.ipv4.ip_unprivileged_port_start".into(), "81".into()),
        ],
        ..Default::default()
    };
    let pins = pinner.create("pod-b", &want).unwrap();
    assert_eq!(pins, [Kind::Net, Kind::Ipc, Kind::Uts].map(|k| pinner.pin_path(k, "pod-b")));
    assert!(pins.iter().all(|p| pinner.is_pinned(p)));
    let [net, ipc, uts] = [0, 1, 2].map(|i| pins[i].display().to_string());
    assert_eq!(nsenter(&[format!("--uts={uts}")], &["hostname"]), "pinned-host");
    assert_eq!(nsenter(&[format!("--ipc={ipc}")], &["cat", "/proc/sys/kernel/shmmni"]), "1234");
    assert_eq!(
        nsenter(
            &[format!("--net={net}")],
            &["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]
        ),
        "81"
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/shmmni").unwrap();
    assert_ne!(host.trim(), "1234", "the node's IPC namespace is untouched");

    for pin in &pins {
        pinner.remove(pin).unwrap();
        assert!(!pinner.is_pinned(pin) && !pin.exists());
    }
    let bad = PodNamespaces { sysctls: vec![("net.no.such.sysctl".into(), "1".into())], ..want };
    let err = pinner.create("pod-c", &bad).unwrap_err();
    assert!(err.to_string().contains("net.no.such.sysctl"), "{err}");
    assert!(
        !pinner.pin_path(Kind::Net, "pod-c").exists()
            && !pinner.pin_path(Kind::Uts, "pod-c").exists(),
        "a failed create leaves no pin"
    );
    assert!(find_leaks(&[format!("cricket-e2e-{}", ws.id)]).is_empty(), "no mount left");
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}

#[test]
fn a_user_namespace_pin_maps_its_ids_and_owns_the_pods_other_namespaces() {
    use cricket::sys::userns::IdRange;
    let ws = Workspace::new();
    let pinner = LinuxPinner::new(ws.run("pins"));
    let range = IdRange { container_id: 0, host_id: 65536 * 300, length: 65536 };
    let want = PodNamespaces {
        kinds: vec![Kind::User, Kind::Net, Kind::Ipc, Kind::Uts],
        hostname: Some("userns-host".into()),
        sysctls: vec![("net.ipv4.ip_unprivileged_port_start".into(), "81".into())],
        id_mappings: Some((vec![range], vec![range])),
    };
    let pins = pinner.create("pod-u", &want).unwrap();
    assert!(pins.iter().all(|p| pinner.is_pinned(p)));
    let [user, net, _, uts] = [0, 1, 2, 3].map(|i| pins[i].display().to_string());
    let map = nsenter(&[format!("--user={user}")], &["cat", "/proc/self/uid_map"]);
    assert_eq!(map.split_whitespace().collect::<Vec<_>>(), ["0", "19660800", "65536"]);
    assert_eq!(nsenter(&[format!("--uts={uts}")], &["hostname"]), "userns-host");
    // Root of the pod's user namespace may change the network namespace's sysctls only if
    // that user namespace owns it.
    let sysctl = "/proc/sys/net/ipv4/ip_unprivileged_port_start";
    let write = format!("echo 82 > {sysctl} && cat {sysctl}");
    let flags = [format!("--user={user}"), format!("--net={net}")];
    assert_eq!(nsenter(&flags, &["sh", "-c", &write]), "82");
    for pin in pins.iter().rev() {
        pinner.remove(pin).unwrap();
        assert!(!pinner.is_pinned(pin) && !pin.exists());
    }
    assert!(find_leaks(&[format!("cricket-e2e-{}", ws.id)]).is_empty(), "no mount left");
    let _ = std::fs::remove_dir_all(&ws.run_dir);
    let _ = std::fs::remove_dir_all(&ws.lib_dir);
}
