//! Runtime handlers: the `[containerd.runtimes.<name>]` a pod names (empty: the default), and
//! the shim options its containers are created with.

use crate::error::Error;

use crate::config::RuntimeHandler;
use crate::context::Context;
use containerd_bridge::RuncOptions;

pub const RUNC_SHIM: &str = "io.containerd.runc.v2";

/// The handler configured for `name`; unknown is `InvalidArgument`.
pub fn handler<'a>(ctx: &'a Context, name: &str) -> Result<&'a RuntimeHandler, Error> {
    let key = if name.is_empty() { ctx.config.containerd.default_runtime.as_str() } else { name };
    ctx.config
        .containerd
        .runtimes
        .get(key)
        .ok_or_else(|| Error::invalid("runtime_handler", format!("{name:?} is not configured")))
}

/// Whether the handler is the runc shim running the `runc` on PATH: the one the node's own
/// checks (user namespaces, recursive read-only mounts) speak for.
pub fn runs_path_runc(handler: &RuntimeHandler) -> bool {
    handler.runtime_type == RUNC_SHIM && !handler.options.contains_key("BinaryName")
}

/// The shim options (runc's only; other shims read their own config).
pub fn runtime_options(ctx: &Context, handler: &RuntimeHandler) -> Option<prost_types::Any> {
    let option =
        |k: &str| handler.options.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    (handler.runtime_type == RUNC_SHIM).then(|| {
        RuncOptions {
            binary_name: option("BinaryName"),
            root: option("Root"),
            systemd_cgroup: ctx.config.systemd_cgroup(),
            ..Default::default()
        }
        .to_any()
    })
}
