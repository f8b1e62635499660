//! HPACK integers (§5.1) and string literals (§5.2).

use super::decode::DecodeError;

/// Decodes an integer with an `n`-bit prefix at the start of `b`: (value, bytes used).
pub fn decode_integer(b: &[u8], n: u32) -> Result<(usize, usize), DecodeError> {
    let first = *b.first().ok_or(DecodeError::Truncated)?;
    let max = (1usize << n) - 1;
    let mut value = usize::from(first) & max;
    if value < max {
        return Ok((value, 1));
    }
    let mut shift = 0u32;
    for (i, byte) in b.iter().enumerate().skip(1) {
        if shift > 28 {
            return Err(DecodeError::Overflow);
        }
        value =
            value.checked_add(usize::from(byte & 0x7f) << shift).ok_or(DecodeError::Overflow)?;
        shift += 7;
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err(DecodeError::Truncated)
}

/// Appends an integer with an `n`-bit prefix whose upper bits are `pattern`.
pub fn encode_integer(value: usize, n: u32, pattern: u8, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(pattern | value as u8);
        return;
    }
    out.push(pattern | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push((rest as u8 & 0x7f) | 0x80);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Decodes the string literal at the start of `b` into `out` (replacing its contents), raw or
/// Huffman-coded; returns the bytes used.
pub fn decode_string(b: &[u8], out: &mut Vec<u8>) -> Result<usize, DecodeError> {
    let huffman = b.first().ok_or(DecodeError::Truncated)? & 0x80 != 0;
    let (len, used) = decode_integer(b, 7)?;
    let end = used.checked_add(len).filter(|end| *end <= b.len()).ok_or(DecodeError::Truncated)?;
    let bytes = &b[used..end];
    out.clear();
    if huffman {
        // httlib-huffman refuses EOS and over-long padding but lets zero-bit padding pass;
        // such a (malformed) client string is then forwarded as decoded, which is harmless.
        httlib_huffman::decode(bytes, out, httlib_huffman::DecoderSpeed::FourBits)
            .map_err(|_| DecodeError::Huffman)?;
    } else {
        out.extend_from_slice(bytes);
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_rfc_7541_appendix_c1() {
        assert_eq!(decode_integer(&[0b0000_1010], 5).unwrap(), (10, 1));
        assert_eq!(decode_integer(&[0b0001_1111, 0b1001_1010, 0b0000_1010], 5).unwrap(), (1337, 3));
        assert_eq!(decode_integer(&[42], 8).unwrap(), (42, 1));
        assert_eq!(decode_integer(&[0x1f, 0x80], 5), Err(DecodeError::Truncated));
        assert_eq!(
            decode_integer(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 5),
            Err(DecodeError::Overflow)
        );
        let mut out = Vec::new();
        encode_integer(1337, 5, 0, &mut out);
        assert_eq!(out, [0x1f, 0x9a, 0x0a]);
    }

    #[test]
    fn strings_raw_and_huffman_rfc_7541_c4_1() {
        let mut out = Vec::new();
        // "www.example.com", Huffman-coded
        let coded = [0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff];
        assert_eq!(decode_string(&coded, &mut out).unwrap(), coded.len());
        assert_eq!(out, b"www.example.com");
        assert_eq!(decode_string(&[0x03, b'a', b'b', b'c', 0xff], &mut out).unwrap(), 4);
        assert_eq!(out, b"abc");
        assert_eq!(decode_string(&[0x05, b'a'], &mut out), Err(DecodeError::Truncated));
    }
}
