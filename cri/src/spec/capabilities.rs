//! The container's capabilities: containerd's defaults, then `ALL` and the named adds and
//! drops (with or without the `CAP_` prefix); an unknown name is refused.

use std::collections::HashSet;

use crate::api::v1::Capability as CriCapabilities;
use oci_spec::runtime::{Capability, Spec};

use super::defaults::{capabilities, DEFAULT_CAPABILITIES};
use super::process::all_capabilities;
use super::SpecError;

fn parse(name: &str, field: &str) -> Result<Capability, SpecError> {
    let bare = name.trim().to_ascii_uppercase();
    let bare = bare.strip_prefix("CAP_").unwrap_or(&bare);
    bare.parse().map_err(|_| SpecError::invalid(field, format!("{name:?} is not a capability")))
}

/// The effective set for `requested` (unprivileged containers).
pub fn capability_set(
    requested: Option<&CriCapabilities>,
) -> Result<HashSet<Capability>, SpecError> {
    let mut caps: HashSet<Capability> = DEFAULT_CAPABILITIES.into_iter().collect();
    let Some(r) = requested else { return Ok(caps) };
    let is_all = |n: &String| n.eq_ignore_ascii_case("ALL");
    if r.add_capabilities.iter().any(is_all) {
        caps = all_capabilities();
    }
    if r.drop_capabilities.iter().any(is_all) {
        caps.clear();
    }
    const F: &str = "config.linux.security_context.capabilities";
    for name in r.add_capabilities.iter().filter(|n| !is_all(n)) {
        caps.insert(parse(name, &format!("{F}.add_capabilities"))?);
    }
    for name in r.drop_capabilities.iter().filter(|n| !is_all(n)) {
        caps.remove(&parse(name, &format!("{F}.drop_capabilities"))?);
    }
    Ok(caps)
}

pub fn set_capabilities(
    spec: &mut Spec,
    requested: Option<&CriCapabilities>,
) -> Result<(), SpecError> {
    let caps = capabilities(capability_set(requested)?)?;
    super::process_of(spec).set_capabilities(Some(caps));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(add: &[&str], drop: &[&str]) -> CriCapabilities {
        CriCapabilities {
            add_capabilities: add.iter().map(|s| s.to_string()).collect(),
            drop_capabilities: drop.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn adds_drops_and_all() {
        assert_eq!(capability_set(None).unwrap().len(), 14);
        let s = capability_set(Some(&req(&["NET_ADMIN", "CAP_SYS_TIME"], &["chown"]))).unwrap();
        assert!(
            s.contains(&Capability::NetAdmin)
                && s.contains(&Capability::SysTime)
                && !s.contains(&Capability::Chown)
        );
        assert_eq!(capability_set(Some(&req(&["ALL"], &[]))).unwrap(), all_capabilities());
        assert_eq!(
            capability_set(Some(&req(&["NET_BIND_SERVICE"], &["ALL"]))).unwrap(),
            [Capability::NetBindService].into()
        );
        let err = capability_set(Some(&req(&["FLY"], &[]))).unwrap_err();
        assert!(err.to_string().contains("add_capabilities") && err.to_string().contains("FLY"));
    }
}
