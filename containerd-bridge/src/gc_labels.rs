//! containerd's garbage-collection label contract: which labels keep which objects alive.

/// On a manifest blob: keeps its config blob.
pub const REF_CONFIG: &str = "containerd.io/gc.ref.content.config";

/// On a manifest blob: keeps its layer `n`.
pub fn ref_layer(n: usize) -> String {
    format!("containerd.io/gc.ref.content.l.{n}")
}

/// On an index blob: keeps its child manifest `n`.
pub fn ref_manifest(n: usize) -> String {
    format!("containerd.io/gc.ref.content.m.{n}")
}

/// On a config blob: keeps the unpacked snapshot of the image in `snapshotter`.
pub fn ref_snapshot(snapshotter: &str) -> String {
    format!("containerd.io/gc.ref.snapshot.{snapshotter}")
}

/// On a lease: when containerd may drop it if we die before deleting it.
pub const LEASE_EXPIRE: &str = "containerd.io/gc.expire";
