use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceType, Spec};

use super::*;
use crate::api::v1::CdiDevice;

const VENDOR_JSON: &str = r#"{
  "cdiVersion": "0.6.0",
  "kind": "example.com/fake",
  "containerEdits": { "env": ["FAKE_VENDOR=1"] },
  "devices": [
    { "name": "dev0",
      "containerEdits": {
        "env": ["FAKE_DEVICE=dev0"],
        "deviceNodes": [{ "path": "/dev/fake0", "hostPath": "/dev/null", "permissions": "rw" }],
        "mounts": [{ "hostPath": "/etc/hostname", "containerPath": "/fake/hostname", "options": ["ro"] }],
        "hooks": [{ "hookName": "createContainer", "path": "/usr/bin/true", "args": ["true", "x"] }]
      } },
    { "name": "dev1", "containerEdits": { "env": ["FAKE_DEVICE=dev1"], "additionalGids": [44] } }
  ]
}"#;

const VENDOR_YAML: &str = "
cdiVersion: 0.6.0
kind: example.com/yaml
devices:
  - name: gpu:0
    containerEdits:
      env: [\"YAML_DEVICE=gpu0\"]
      deviceNodes:
        - path: /dev/yaml0
          type: c
          major: 1
          minor: 5
";

fn request(name: &str) -> Request {
    Request { field: "config.CDI_devices[0].name".into(), name: name.into() }
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

#[test]
fn requests_come_from_the_field_then_the_annotations_each_name_once() {
    let mut config = crate::testing::container_config("c");
    config.cdi_devices =
        vec![CdiDevice { name: "a.com/x=1".into() }, CdiDevice { name: "a.com/x=2".into() }];
    config.annotations = HashMap::from([
        ("cdi.k8s.io/plugin".to_string(), "a.com/x=2, b.com/y=3".to_string()),
        ("other".to_string(), "c.com/z=4".to_string()),
    ]);
    let got = requested(&config);
    let names: Vec<&str> = got.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a.com/x=1", "a.com/x=2", "b.com/y=3"]);
    assert_eq!(got[1].field, "config.CDI_devices[1].name");
    assert_eq!(got[2].field, "config.annotations[\"cdi.k8s.io/plugin\"]");
}

#[test]
fn qualified_names_follow_the_cdi_rules() {
    for good in ["example.com/fake=dev0", "nvidia.com/gpu=0", "a/b=gpu:0.1", "v-1.io/c_2=x"] {
        assert!(names::parse_qualified(good).is_ok(), "{good}");
    }
    for bad in [
        "nvidia.com/gpu",
        "gpu=0",
        "1a.com/b=c",
        "a.com/b.c=d",
        "a.com/b=",
        "a.com/b=-x",
        "a.com/=x",
    ] {
        assert!(names::parse_qualified(bad).is_err(), "{bad}");
    }
}

#[test]
fn json_and_yaml_specs_parse_and_bad_ones_say_what_is_wrong() {
    let spec = spec_file::parse(Path::new("v.json"), VENDOR_JSON).unwrap();
    assert_eq!(spec.devices.len(), 2);
    let yaml = spec_file::parse(Path::new("v.yaml"), VENDOR_YAML).unwrap();
    assert_eq!(yaml.devices[0].container_edits.device_nodes[0].major, Some(1));
    let bad_hook = VENDOR_JSON.replace("createContainer", "beforeLunch");
    assert!(spec_file::parse(Path::new("v.json"), &bad_hook).unwrap_err().contains("beforeLunch"));
    let no_kind = r#"{"cdiVersion": "0.6.0", "devices": []}"#;
    assert!(spec_file::parse(Path::new("v.json"), no_kind).unwrap_err().contains("kind"));
    let relative = VENDOR_JSON.replace("\"/fake/hostname\"", "\"fake\"");
    assert!(spec_file::parse(Path::new("v.json"), &relative).unwrap_err().contains("\"fake\""));
}

#[test]
fn a_device_resolves_with_its_specs_edits_once_and_its_node_read_from_the_host() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vendor.json", VENDOR_JSON);
    write(dir.path(), "yaml.yaml", VENDOR_YAML);
    let registry = Registry::new(vec![dir.path().into()]);
    let edits = registry
        .resolve(&[
            request("example.com/fake=dev0"),
            request("example.com/fake=dev1"),
            request("example.com/yaml=gpu:0"),
        ])
        .unwrap();
    // fake's own edits, dev0, dev1, yaml's own (empty) edits, gpu:0.
    assert_eq!(edits.len(), 5);
    assert_eq!(edits[0].env, ["FAKE_VENDOR=1"]);
    let (node, access) = &edits[1].devices[0];
    assert_eq!(
        (node.typ(), node.major(), node.minor()),
        (LinuxDeviceType::C, 1, 3),
        "/dev/null's numbers"
    );
    assert_eq!(access, "rw");
    assert_eq!(edits[2].additional_gids, [44]);
    assert_eq!((edits[4].devices[0].0.major(), edits[4].devices[0].0.minor()), (1, 5));
}

#[test]
fn an_unknown_device_names_itself_its_field_and_the_specs_that_do_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "broken.yaml", "cdiVersion: [");
    let registry = Registry::new(vec![dir.path().into()]);
    let err = registry.resolve(&[request("example.com/fake=dev9")]).unwrap_err();
    let text = err.to_string();
    for part in
        ["config.CDI_devices[0].name", "example.com/fake=dev9", "broken.yaml", "does not parse"]
    {
        assert!(text.contains(part), "{part} in {text}");
    }
    let status: crate::error::Error = err.into();
    assert!(matches!(status, crate::error::Error::FailedPrecondition(_)));
    let bad: crate::error::Error = registry.resolve(&[request("no-kind")]).unwrap_err().into();
    assert!(matches!(bad, crate::error::Error::InvalidArgument { .. }), "{bad:?}");
}

#[test]
fn a_later_directory_wins_and_two_files_of_one_directory_conflict() {
    let (low, high) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(low.path(), "a.json", VENDOR_JSON);
    write(high.path(), "a.json", &VENDOR_JSON.replace("FAKE_DEVICE=dev1", "FAKE_DEVICE=override"));
    let registry = Registry::new(vec![low.path().into(), high.path().into()]);
    let edits = registry.resolve(&[request("example.com/fake=dev1")]).unwrap();
    assert_eq!(edits[1].env, ["FAKE_DEVICE=override"]);
    write(high.path(), "b.json", VENDOR_JSON);
    let err = registry.resolve(&[request("example.com/fake=dev1")]).unwrap_err().to_string();
    assert!(err.contains("a.json") && err.contains("b.json"), "{err}");
}

#[test]
fn a_spec_written_after_start_applies_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::new(vec![dir.path().into(), "/nonexistent/cdi".into()]);
    assert!(registry.resolve(&[request("example.com/fake=dev1")]).is_err());
    write(dir.path(), "vendor.json", VENDOR_JSON);
    assert!(registry.resolve(&[request("example.com/fake=dev1")]).is_ok());
    std::fs::remove_file(dir.path().join("vendor.json")).unwrap();
    assert!(registry.resolve(&[request("example.com/fake=dev1")]).is_err());
}

#[test]
fn edits_cricket_cannot_apply_refuse_the_device_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let rdt = VENDOR_JSON.replace("\"additionalGids\": [44]", "\"intelRdt\": {\"closID\": \"x\"}");
    write(dir.path(), "vendor.json", &rdt);
    let registry = Registry::new(vec![dir.path().into()]);
    let err = registry.resolve(&[request("example.com/fake=dev1")]).unwrap_err().to_string();
    assert!(err.contains("intelRdt") && err.contains("example.com/fake=dev1"), "{err}");
}

#[test]
fn applied_edits_reach_env_devices_mounts_hooks_and_groups() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "vendor.json", VENDOR_JSON);
    let registry = Registry::new(vec![dir.path().into()]);
    let edits = registry
        .resolve(&[request("example.com/fake=dev0"), request("example.com/fake=dev1")])
        .unwrap();
    let mut spec = Spec::default();
    crate::spec::apply_cdi_edits(&mut spec, &edits).unwrap();
    let env = spec.process().as_ref().unwrap().env().clone().unwrap();
    assert!(env.contains(&"FAKE_VENDOR=1".to_string()));
    assert!(env.contains(&"FAKE_DEVICE=dev1".to_string()), "the later device's value wins");
    assert!(!env.contains(&"FAKE_DEVICE=dev0".to_string()));
    let linux = spec.linux().clone().unwrap();
    assert!(linux.devices().clone().unwrap().iter().any(|d| d.path() == Path::new("/dev/fake0")));
    let rules = linux.resources().clone().unwrap().devices().clone().unwrap();
    assert!(rules.iter().any(|r| r.major() == Some(1)
        && r.minor() == Some(3)
        && r.access().as_deref() == Some("rw")));
    let mount = spec
        .mounts()
        .clone()
        .unwrap()
        .into_iter()
        .find(|m| m.destination() == Path::new("/fake/hostname"))
        .unwrap();
    assert_eq!(mount.typ().as_deref(), Some("bind"));
    assert_eq!(mount.options().clone().unwrap(), ["ro", "bind"]);
    let hooks = spec.hooks().clone().unwrap().create_container().clone().unwrap();
    assert_eq!(hooks[0].path(), Path::new("/usr/bin/true"));
    let gids = spec.process().as_ref().unwrap().user().additional_gids().clone().unwrap();
    assert_eq!(gids, [44]);
}
