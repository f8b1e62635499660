//! One CDI spec file: its schema (the fields cricket reads), parsed from JSON or YAML and
//! checked, so that a bad file is reported by what is wrong in it.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

use super::names::{check_kind, check_name};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecFile {
    pub cdi_version: String,
    pub kind: String,
    #[serde(default)]
    pub devices: Vec<DeviceEntry>,
    /// Edits every device of this spec brings along.
    #[serde(default)]
    pub container_edits: ContainerEdits,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceEntry {
    pub name: String,
    #[serde(default)]
    pub container_edits: ContainerEdits,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerEdits {
    pub env: Vec<String>,
    pub device_nodes: Vec<DeviceNode>,
    pub hooks: Vec<Hook>,
    pub mounts: Vec<Mount>,
    pub additional_gids: Vec<u32>,
    /// Edits of CDI that cricket does not apply; a device that carries them is refused.
    pub intel_rdt: Option<Value>,
    pub net_devices: Vec<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceNode {
    pub path: String,
    pub host_path: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub file_mode: Option<u32>,
    pub permissions: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub host_path: String,
    pub container_path: String,
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub hook_name: String,
    pub path: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    pub timeout: Option<i64>,
}

/// The OCI hook points a CDI hook may name.
const HOOK_NAMES: &[&str] =
    &["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

/// Whether `path` is a spec file by its name; other files in the directories are not read.
pub fn is_spec_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "yaml" | "yml"))
}

/// The spec in `text`, read as JSON or YAML by `path`'s extension, and checked.
pub fn parse(path: &Path, text: &str) -> Result<SpecFile, String> {
    let spec: SpecFile = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
        let doc = docs.into_iter().next().ok_or("empty YAML document")?;
        serde_json::from_value(yaml_to_json(doc)?).map_err(|e| e.to_string())?
    };
    check(&spec)?;
    Ok(spec)
}

/// YAML's data model onto JSON's, which the schema types deserialize from.
fn yaml_to_json(y: Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(r) => {
            r.parse::<f64>().map(Value::from).map_err(|_| format!("bad number {r:?}"))?
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Array(a) => Value::Array(a.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Yaml::Hash(h) => {
            let mut map = serde_json::Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Integer(i) => i.to_string(),
                    other => return Err(format!("a mapping key that is not text: {other:?}")),
                };
                map.insert(key, yaml_to_json(v)?);
            }
            Value::Object(map)
        }
        Yaml::Alias(_) | Yaml::BadValue => return Err("YAML aliases are not supported".into()),
    })
}

fn check(spec: &SpecFile) -> Result<(), String> {
    if spec.cdi_version.is_empty() {
        return Err("cdiVersion is missing".into());
    }
    check_kind(&spec.kind)?;
    check_edits(&spec.container_edits).map_err(|e| format!("containerEdits: {e}"))?;
    for (i, d) in spec.devices.iter().enumerate() {
        check_name(&d.name).map_err(|e| format!("devices[{i}]: {e}"))?;
        check_edits(&d.container_edits).map_err(|e| format!("devices[{i}] {:?}: {e}", d.name))?;
    }
    Ok(())
}

fn check_edits(e: &ContainerEdits) -> Result<(), String> {
    let absolute = |what: &str, p: &str| {
        if p.starts_with('/') {
            Ok(())
        } else {
            Err(format!("{what} {p:?} is not an absolute path"))
        }
    };
    if let Some(bad) = e.env.iter().find(|kv| !kv.contains('=')) {
        return Err(format!("env {bad:?} is not KEY=VALUE"));
    }
    for n in &e.device_nodes {
        absolute("deviceNodes path", &n.path)?;
        if let Some(kind) = n.kind.as_deref().filter(|k| !matches!(*k, "b" | "c" | "u" | "p")) {
            return Err(format!("deviceNodes {:?}: type {kind:?} is not b, c, u or p", n.path));
        }
    }
    for m in &e.mounts {
        absolute("mounts containerPath", &m.container_path)?;
    }
    for h in &e.hooks {
        if !HOOK_NAMES.contains(&h.hook_name.as_str()) {
            return Err(format!(
                "hook {:?}: hookName {:?} is not an OCI hook",
                h.path, h.hook_name
            ));
        }
        absolute("hooks path", &h.path)?;
    }
    Ok(())
}
