use std::path::Path;

use serde::Deserialize;

use crate::error::{CniError, Result};

/// A network configuration list (CNI spec, section 1): a named chain of plugins.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfigList {
    pub name: String,
    pub cni_version: String,
    pub disable_check: bool,
    pub plugins: Vec<PluginConfig>,
    /// The list as read, for handing each plugin its own part unchanged.
    pub raw: serde_json::Value,
}

/// One plugin of a list: its `type` (the binary's name) and its whole JSON object.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    pub plugin_type: String,
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListShape {
    name: String,
    #[serde(default)]
    cni_version: String,
    #[serde(default)]
    disable_check: bool,
    plugins: Vec<PluginShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PluginShape {
    #[serde(rename = "type")]
    plugin_type: String,
    #[serde(default)]
    cni_version: String,
    #[serde(default)]
    name: String,
}

impl NetworkConfigList {
    /// Parses a `.conflist` document.
    pub fn parse_list(path: &Path, bytes: &[u8]) -> Result<Self> {
        let raw: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| parse_err(path, e))?;
        Self::from_value(path, raw)
    }

    /// The list an ADD ran with, as the result cache keeps it.
    pub fn from_cache(entry: &crate::CachedAttachment) -> Result<Self> {
        let origin = format!("the result cache's copy of network {:?}", entry.network_name);
        Self::from_value(Path::new(&origin), entry.config.clone())
    }

    fn from_value(path: &Path, raw: serde_json::Value) -> Result<Self> {
        let shape: ListShape =
            serde_json::from_value(raw.clone()).map_err(|e| parse_err(path, e))?;
        if shape.plugins.is_empty() {
            return Err(CniError::Parse {
                path: path.into(),
                detail: "\"plugins\" is empty".into(),
            });
        }
        let plugins = raw["plugins"]
            .as_array()
            .map(|list| list.iter().zip(&shape.plugins).map(|(raw, p)| plugin(p, raw)).collect())
            .unwrap_or_default();
        Ok(NetworkConfigList {
            name: shape.name,
            cni_version: shape.cni_version,
            disable_check: shape.disable_check,
            plugins,
            raw,
        })
    }

    /// Parses a single-plugin `.conf`/`.json` document into a list of one.
    pub fn parse_single(path: &Path, bytes: &[u8]) -> Result<Self> {
        let raw: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| parse_err(path, e))?;
        let shape: PluginShape =
            serde_json::from_value(raw.clone()).map_err(|e| parse_err(path, e))?;
        if shape.name.is_empty() {
            return Err(CniError::Parse {
                path: path.into(),
                detail: "\"name\" is missing".into(),
            });
        }
        let list = serde_json::json!({ "name": shape.name, "cniVersion": shape.cni_version, "plugins": [raw] });
        Ok(NetworkConfigList {
            name: shape.name.clone(),
            cni_version: shape.cni_version.clone(),
            disable_check: false,
            plugins: vec![plugin(&shape, &raw)],
            raw: list,
        })
    }
}

fn plugin(shape: &PluginShape, raw: &serde_json::Value) -> PluginConfig {
    PluginConfig { plugin_type: shape.plugin_type.clone(), raw: raw.clone() }
}

fn parse_err(path: &Path, e: serde_json::Error) -> CniError {
    CniError::Parse { path: path.into(), detail: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_bridge_list() {
        let doc = br#"{"cniVersion":"1.0.0","name":"pods","plugins":[{"type":"bridge","bridge":"cni0"},{"type":"portmap","capabilities":{"portMappings":true}}]}"#;
        let list = NetworkConfigList::parse_list(Path::new("x.conflist"), doc).unwrap();
        assert_eq!(list.name, "pods");
        assert_eq!(list.cni_version, "1.0.0");
        let types: Vec<&str> = list.plugins.iter().map(|p| p.plugin_type.as_str()).collect();
        assert_eq!(types, ["bridge", "portmap"]);
        assert_eq!(list.plugins[0].raw["bridge"], "cni0");
    }

    #[test]
    fn rejects_a_list_without_plugins_or_name() {
        let empty = br#"{"cniVersion":"1.0.0","name":"pods","plugins":[]}"#;
        assert!(NetworkConfigList::parse_list(Path::new("x"), empty).is_err());
        let nameless = br#"{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}"#;
        let err = NetworkConfigList::parse_list(Path::new("x"), nameless).unwrap_err().to_string();
        assert!(err.contains("name"), "{err}");
    }

    #[test]
    fn single_plugin_conf_becomes_a_list_of_one() {
        let doc = br#"{"cniVersion":"0.4.0","name":"net","type":"bridge"}"#;
        let list = NetworkConfigList::parse_single(Path::new("x.conf"), doc).unwrap();
        assert_eq!(list.plugins.len(), 1);
        assert_eq!(list.raw["plugins"][0]["type"], "bridge");
    }
}
