//! An HPACK decoder (RFC 7541 §3, §6) that mirrors the peer encoder's dynamic table and hands
//! each field to a callback without keeping it.

use super::primitives::{decode_integer, decode_string};
use super::table::DynamicTable;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("HPACK block is truncated")]
    Truncated,
    #[error("HPACK integer overflows")]
    Overflow,
    #[error("HPACK index {0} is not in the tables")]
    BadIndex(usize),
    #[error("HPACK Huffman string is malformed")]
    Huffman,
    #[error("HPACK dynamic table size update after a header field")]
    SizeUpdateAfterField,
    #[error("HPACK dynamic table size update to {0} exceeds the allowed {1}")]
    SizeUpdateTooLarge(usize, usize),
}

pub struct Decoder {
    table: DynamicTable,
    /// The largest table the peer may ask for (our SETTINGS_HEADER_TABLE_SIZE).
    max_allowed: usize,
    name: Vec<u8>,
    value: Vec<u8>,
}

impl Decoder {
    pub fn new(max_allowed: usize) -> Self {
        Decoder {
            table: DynamicTable::new(max_allowed),
            max_allowed,
            name: Vec::new(),
            value: Vec::new(),
        }
    }

    /// Decodes one complete header block, calling `emit(name, value)` for each field in order.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut emit: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), DecodeError> {
        let mut pos = 0;
        let mut seen_field = false;
        while pos < block.len() {
            let rest = &block[pos..];
            let first = rest[0];
            if first & 0x80 != 0 {
                let (index, used) = decode_integer(rest, 7)?;
                let (name, value) = self.table.field(index)?;
                emit(name, value);
                pos += used;
                seen_field = true;
            } else if first & 0xe0 == 0x20 {
                // A table size update may only open a block (§4.2).
                if seen_field {
                    return Err(DecodeError::SizeUpdateAfterField);
                }
                let (size, used) = decode_integer(rest, 5)?;
                if size > self.max_allowed {
                    return Err(DecodeError::SizeUpdateTooLarge(size, self.max_allowed));
                }
                self.table.set_max(size);
                pos += used;
            } else {
                pos += self.literal(rest, &mut emit)?;
                seen_field = true;
            }
        }
        Ok(())
    }

    /// A literal field (§6.2): with incremental indexing (6-bit index), or without indexing or
    /// never indexed (4-bit index); index 0 means the name follows as a string.
    fn literal(
        &mut self,
        b: &[u8],
        emit: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<usize, DecodeError> {
        let indexing = b[0] & 0x40 != 0;
        let (index, mut pos) = decode_integer(b, if indexing { 6 } else { 4 })?;
        if index == 0 {
            pos += decode_string(&b[pos..], &mut self.name)?;
        } else {
            let (name, _) = self.table.field(index)?;
            self.name.clear();
            self.name.extend_from_slice(name);
        }
        pos += decode_string(&b[pos..], &mut self.value)?;
        emit(&self.name, &self.value);
        if indexing {
            self.table.insert(std::mem::take(&mut self.name), std::mem::take(&mut self.value));
        }
        Ok(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    fn decode_all(d: &mut Decoder, block: &[u8]) -> Result<Fields, DecodeError> {
        let mut fields = Vec::new();
        d.decode(block, |n, v| fields.push((n.to_vec(), v.to_vec())))?;
        Ok(fields)
    }

    fn f(n: &str, v: &str) -> (Vec<u8>, Vec<u8>) {
        (n.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    #[test]
    fn rfc_7541_c4_requests_with_huffman_and_the_dynamic_table() {
        let mut d = Decoder::new(4096);
        let c41 = [
            0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab,
            0x90, 0xf4, 0xff,
        ];
        let base = vec![
            f(":method", "GET"),
            f(":scheme", "http"),
            f(":path", "/"),
            f(":authority", "www.example.com"),
        ];
        assert_eq!(decode_all(&mut d, &c41).unwrap(), base);
        let c42 = [0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf];
        let mut second = base.clone();
        second.push(f("cache-control", "no-cache"));
        assert_eq!(decode_all(&mut d, &c42).unwrap(), second);
        let c43 = [
            0x82, 0x87, 0x85, 0xbf, 0x40, 0x88, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f,
            0x89, 0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf,
        ];
        let third = vec![
            f(":method", "GET"),
            f(":scheme", "https"),
            f(":path", "/index.html"),
            f(":authority", "www.example.com"),
            f("custom-key", "custom-value"),
        ];
        assert_eq!(decode_all(&mut d, &c43).unwrap(), third);
    }

    #[test]
    fn size_updates_only_first_and_within_the_limit() {
        let mut d = Decoder::new(4096);
        assert!(decode_all(&mut d, &[0x20, 0x82]).is_ok());
        assert_eq!(decode_all(&mut d, &[0x82, 0x20]), Err(DecodeError::SizeUpdateAfterField));
        assert!(decode_all(&mut d, &[0x3f, 0xe1, 0x1f, 0x82]).is_ok()); // 4096
        assert_eq!(
            decode_all(&mut d, &[0x3f, 0xe2, 0x1f, 0x82]),
            Err(DecodeError::SizeUpdateTooLarge(4097, 4096))
        );
    }

    #[test]
    fn a_shrunk_table_forgets_what_no_longer_fits() {
        let mut d = Decoder::new(4096);
        decode_all(&mut d, &[0x40, 0x01, b'a', 0x01, b'1']).unwrap(); // a: 1 indexed at 62
        assert_eq!(decode_all(&mut d, &[0xbe]).unwrap(), vec![f("a", "1")]);
        assert_eq!(decode_all(&mut d, &[0x20, 0xbe]), Err(DecodeError::BadIndex(62)));
    }

    proptest::proptest! {
        /// Whatever a real encoder (loona-hpack's, indexing new names, evicting) produces, this
        /// decoder reads the same fields as loona's own decoder, block after block.
        #[test]
        fn agrees_with_an_independent_decoder(
            blocks in proptest::collection::vec(
                proptest::collection::vec(("[a-z][a-z0-9-]{0,12}", "[ -~]{0,300}"), 1..12), 1..20)
        ) {
            let mut encoder = loona_hpack::Encoder::new();
            let mut reference = loona_hpack::Decoder::new();
            let mut ours = Decoder::new(4096);
            for fields in blocks {
                let block = encoder.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
                let want = reference.decode(&block).unwrap();
                proptest::prop_assert_eq!(decode_all(&mut ours, &block).unwrap(), want);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(block in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode_all(&mut Decoder::new(4096), &block);
        }
    }

    #[test]
    fn malformed_blocks_are_errors_not_panics() {
        let mut d = Decoder::new(4096);
        assert_eq!(decode_all(&mut d, &[0xff, 0x00]), Err(DecodeError::BadIndex(127)));
        assert_eq!(decode_all(&mut d, &[0x80]), Err(DecodeError::BadIndex(0)));
        assert_eq!(decode_all(&mut d, &[0x00, 0x05, b'a']), Err(DecodeError::Truncated));
        // Padding longer than 7 bits, and an EOS symbol inside the string.
        assert_eq!(decode_all(&mut d, &[0x00, 0x82, 0xff, 0xff, 0x00]), Err(DecodeError::Huffman));
        assert_eq!(
            decode_all(&mut d, &[0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]),
            Err(DecodeError::Huffman)
        );
    }
}
