//! A walk over the field representations of an HPACK block (RFC 7541 §6) that checks what the
//! decoder crate does not: a dynamic table size update may only open a block (§4.2).

use super::MAX_TABLE_SIZE;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("HPACK block is truncated")]
    Truncated,
    #[error("HPACK integer overflows")]
    Overflow,
    #[error("HPACK dynamic table size update after a header field")]
    SizeUpdateAfterField,
    #[error("HPACK dynamic table size update to {0} exceeds the allowed {MAX_TABLE_SIZE}")]
    SizeUpdateTooLarge(usize),
}

/// Checks the placement and values of size updates in `block`.
pub fn check_size_updates(block: &[u8]) -> Result<(), ScanError> {
    let mut pos = 0;
    let mut seen_field = false;
    while pos < block.len() {
        let first = block[pos];
        if first & 0x80 != 0 {
            // Indexed field.
            pos += integer(&block[pos..], 7)?.1;
            seen_field = true;
        } else if first & 0xe0 == 0x20 {
            let (size, used) = integer(&block[pos..], 5)?;
            if seen_field {
                return Err(ScanError::SizeUpdateAfterField);
            }
            if size > MAX_TABLE_SIZE {
                return Err(ScanError::SizeUpdateTooLarge(size));
            }
            pos += used;
        } else {
            // Literal field: with incremental indexing (6-bit index) or without/never (4-bit).
            let prefix = if first & 0x40 != 0 { 6 } else { 4 };
            let (name_index, used) = integer(&block[pos..], prefix)?;
            pos += used;
            if name_index == 0 {
                pos += string_len(&block[pos..])?;
            }
            pos += string_len(&block[pos..])?;
            seen_field = true;
        }
    }
    if pos > block.len() {
        return Err(ScanError::Truncated);
    }
    Ok(())
}

/// The total encoded length (prefix and bytes) of the string at the start of `b`.
fn string_len(b: &[u8]) -> Result<usize, ScanError> {
    let (len, used) = integer(b, 7)?;
    used.checked_add(len).filter(|end| *end <= b.len()).ok_or(ScanError::Truncated)
}

/// An HPACK integer with an `n`-bit prefix (§5.1): (value, bytes used).
pub fn integer(b: &[u8], n: u32) -> Result<(usize, usize), ScanError> {
    let first = *b.first().ok_or(ScanError::Truncated)?;
    let max = (1usize << n) - 1;
    let mut value = usize::from(first) & max;
    if value < max {
        return Ok((value, 1));
    }
    let mut shift = 0u32;
    for (i, byte) in b.iter().enumerate().skip(1) {
        if shift > 28 {
            return Err(ScanError::Overflow);
        }
        value = value.checked_add(usize::from(byte & 0x7f) << shift).ok_or(ScanError::Overflow)?;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(ScanError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_decode_as_in_rfc_7541_appendix_c1() {
        assert_eq!(integer(&[0b0000_1010], 5).unwrap(), (10, 1));
        assert_eq!(integer(&[0b0001_1111, 0b1001_1010, 0b0000_1010], 5).unwrap(), (1337, 3));
        assert_eq!(integer(&[42], 8).unwrap(), (42, 1));
        assert_eq!(integer(&[0x1f, 0x80], 5), Err(ScanError::Truncated));
        assert_eq!(integer(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 5), Err(ScanError::Overflow));
    }

    #[test]
    fn size_updates_are_allowed_only_first_and_within_the_limit() {
        // size update to 0, then :method GET (indexed 2)
        assert!(check_size_updates(&[0x20, 0x82]).is_ok());
        assert_eq!(check_size_updates(&[0x82, 0x20]), Err(ScanError::SizeUpdateAfterField));
        // 0x3f 0xe1 0x1f = 31 + 0x61 + (0x1f << 7) = 4096 ; one more is too large
        assert!(check_size_updates(&[0x3f, 0xe1, 0x1f, 0x82]).is_ok());
        assert_eq!(check_size_updates(&[0x3f, 0xe2, 0x1f, 0x82]), Err(ScanError::SizeUpdateTooLarge(4097)));
    }

    #[test]
    fn literals_are_walked_over_and_truncation_is_caught() {
        // literal without indexing, new name "a", value "b"
        assert!(check_size_updates(&[0x00, 0x01, b'a', 0x01, b'b']).is_ok());
        assert_eq!(check_size_updates(&[0x00, 0x01, b'a', 0x05, b'b']), Err(ScanError::Truncated));
        // literal with incremental indexing, indexed name 1 (:authority), value "x"
        assert!(check_size_updates(&[0x41, 0x01, b'x']).is_ok());
    }
}
