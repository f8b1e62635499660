//! CDI devices' edits applied to a container's spec: environment (a device's value wins),
//! device nodes with their cgroup rules, mounts, hooks and extra groups.

use oci_spec::runtime::{Hook, Hooks, LinuxDevice, Mount, Spec};

use super::SpecError;

/// The OCI hook points CDI edits may add to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookPoint {
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

/// One spec's or device's edits, their device nodes already looked up on the node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CdiEdits {
    pub env: Vec<String>,
    /// Each node with its cgroup access (some of `rwm`).
    pub devices: Vec<(LinuxDevice, String)>,
    pub mounts: Vec<Mount>,
    pub hooks: Vec<(HookPoint, Hook)>,
    pub additional_gids: Vec<u32>,
}

fn set_env(spec: &mut Spec, env: &[String]) {
    let process = super::process_of(spec);
    let mut all = process.env().clone().unwrap_or_default();
    for kv in env {
        let key = kv.split('=').next().unwrap_or_default();
        all.retain(|old| old.split('=').next() != Some(key));
        all.push(kv.clone());
    }
    process.set_env(Some(all));
}

/// `list` with `hook` at its end.
fn pushed(list: &Option<Vec<Hook>>, hook: &Hook) -> Option<Vec<Hook>> {
    let mut list = list.clone().unwrap_or_default();
    list.push(hook.clone());
    Some(list)
}

fn add_hooks(spec: &mut Spec, hooks: &[(HookPoint, Hook)]) {
    let mut all: Hooks = spec.hooks().clone().unwrap_or_default();
    for (point, hook) in hooks {
        let h = &mut all;
        let _ = match point {
            HookPoint::Prestart => h.set_prestart(pushed(h.prestart(), hook)),
            HookPoint::CreateRuntime => h.set_create_runtime(pushed(h.create_runtime(), hook)),
            HookPoint::CreateContainer => {
                h.set_create_container(pushed(h.create_container(), hook))
            }
            HookPoint::StartContainer => h.set_start_container(pushed(h.start_container(), hook)),
            HookPoint::Poststart => h.set_poststart(pushed(h.poststart(), hook)),
            HookPoint::Poststop => h.set_poststop(pushed(h.poststop(), hook)),
        };
    }
    spec.set_hooks(Some(all));
}

fn add_mounts(spec: &mut Spec, mounts: &[Mount]) {
    let mut all = spec.mounts().clone().unwrap_or_default();
    for m in mounts {
        all.retain(|old| old.destination() != m.destination());
        all.push(m.clone());
    }
    spec.set_mounts(Some(all));
}

/// Applies each edit in order, so a later device's value wins over an earlier one's.
pub fn apply(spec: &mut Spec, edits: &[CdiEdits]) -> Result<(), SpecError> {
    for e in edits {
        set_env(spec, &e.env);
        let nodes: Vec<LinuxDevice> = e.devices.iter().map(|(d, _)| d.clone()).collect();
        let rules = e
            .devices
            .iter()
            .filter(|(d, _)| d.major() != 0 || d.minor() != 0)
            .map(|(d, access)| super::devices::rule(d, access))
            .collect::<Result<Vec<_>, _>>()?;
        if !nodes.is_empty() {
            super::devices::add(spec, nodes, rules);
        }
        add_mounts(spec, &e.mounts);
        if !e.hooks.is_empty() {
            add_hooks(spec, &e.hooks);
        }
        if !e.additional_gids.is_empty() {
            let user = super::process_of(spec).user_mut();
            let mut gids = user.additional_gids().clone().unwrap_or_default();
            for g in &e.additional_gids {
                if !gids.contains(g) {
                    gids.push(*g);
                }
            }
            user.set_additional_gids(Some(gids));
        }
    }
    Ok(())
}
