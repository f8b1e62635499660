//! The built-in pause image: cricket's own static pause program in a one-layer image, imported
//! into containerd at start so pods can run on a node with no registry at all.

use std::collections::HashMap;

use containerd_bridge::oci_image::{build_image, layer_tar, BuiltImage, Entry, ImageSpec};
use containerd_bridge::{Containerd, ImportOptions};

use crate::labels;

/// The static pause executable, built from pause/pause.rs by build.rs.
pub const PAUSE_BINARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pause"));

/// The image name the built-in pause image is recorded under.
pub fn image_name() -> String {
    format!("localhost/cricket/pause:{}", crate::VERSION)
}

/// The image, byte-for-byte the same on every call (fixed timestamps and ownership).
pub fn build() -> BuiltImage {
    let entries = [Entry::File { path: "pause".into(), mode: 0o755, data: PAUSE_BINARY.to_vec() }];
    let tar = layer_tar(&entries).expect("writing a tar into memory cannot fail");
    let spec = ImageSpec {
        entrypoint: vec!["/pause".into()],
        stop_signal: "SIGTERM".into(),
        ..Default::default()
    };
    build_image(&spec, vec![tar])
}

/// Imports the built-in pause image, pinned, unless containerd already has it unpacked.
pub async fn ensure(containerd: &Containerd) -> containerd_bridge::Result<()> {
    let image = build();
    let options = ImportOptions {
        name: image_name(),
        labels: HashMap::from([
            (labels::IMAGE_MANAGED.to_string(), labels::IMAGE_MANAGED_VALUE.to_string()),
            (labels::IMAGE_PINNED.to_string(), labels::IMAGE_PINNED_VALUE.to_string()),
        ]),
    };
    if containerd.image_is_current(&image, &options).await? {
        return Ok(());
    }
    containerd.import_image(&image, &options).await?;
    tracing::info!(image = %options.name, digest = %image.manifest.digest, "imported the built-in pause image");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_binary_is_a_static_executable() {
        let elf = PAUSE_BINARY;
        assert_eq!(&elf[..5], b"\x7fELF\x02", "a 64-bit ELF");
        let u16_at = |o: usize| usize::from(u16::from_le_bytes([elf[o], elf[o + 1]]));
        let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
        let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
        const PT_INTERP: u32 = 3;
        let has_interp = (0..phnum).any(|i| {
            let at = phoff + i * phentsize;
            u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == PT_INTERP
        });
        // No program interpreter: static, so the image needs no libc.
        assert!(!has_interp, "pause must be statically linked");
    }

    #[test]
    fn the_image_is_reproducible_and_starts_pause() {
        assert_eq!(build().manifest.digest, build().manifest.digest);
        let config: serde_json::Value = serde_json::from_slice(&build().config.data).unwrap();
        assert_eq!(config["config"]["Entrypoint"][0], "/pause");
    }
}
