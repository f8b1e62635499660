//! Random identifiers and tokens from the kernel's generator (getrandom(2), through the
//! `getrandom` crate).

use std::fmt::Write;

/// `len` random bytes as `2 * len` lowercase hex digits.
pub fn hex(len: usize) -> std::io::Result<String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(format!("getrandom: {e}")))?;
    Ok(bytes.iter().fold(String::with_capacity(2 * len), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// A new pod, container or exec ID: 64 hex digits, like containerd's.
pub fn new_id() -> std::io::Result<String> {
    hex(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_64_hex_digits_and_differ() {
        let (a, b) = (new_id().unwrap(), new_id().unwrap());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn every_byte_is_filled() {
        // Over many draws, no position stays zero (a fill of only the first half would).
        let draws: Vec<String> = (0..64).map(|_| hex(32).unwrap()).collect();
        for pos in (0..64).step_by(2) {
            assert!(draws.iter().any(|d| &d[pos..pos + 2] != "00"), "byte {} never set", pos / 2);
        }
    }
}
