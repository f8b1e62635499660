//! An HPACK encoder that never touches the dynamic table: fields are emitted as static-table
//! indexes where name and value match exactly, otherwise as literals without indexing
//! (RFC 7541 §6.2.2), so the decoder's table on the other side stays empty for ever.

use super::primitives::encode_integer as integer;
use super::table::STATIC_TABLE;

/// Appends the encoding of one field to `out`.
pub fn encode_field(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    let exact = STATIC_TABLE
        .iter()
        .position(|(n, v)| !v.is_empty() && n.as_bytes() == name && v.as_bytes() == value);
    if let Some(i) = exact {
        integer(i + 1, 7, 0x80, out);
        return;
    }
    match STATIC_TABLE.iter().position(|(n, _)| n.as_bytes() == name) {
        Some(i) => integer(i + 1, 4, 0x00, out),
        None => {
            out.push(0x00);
            string(name, out);
        }
    }
    string(value, out);
}

/// A raw (not Huffman-coded) string literal.
fn string(s: &[u8], out: &mut Vec<u8>) {
    integer(s.len(), 7, 0x00, out);
    out.extend_from_slice(s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(block: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        // An independent decoder checks the encoding.
        loona_hpack::Decoder::new().decode(block).unwrap()
    }

    #[test]
    fn exact_static_matches_are_single_bytes() {
        let mut out = Vec::new();
        encode_field(b":method", b"POST", &mut out);
        encode_field(b":scheme", b"http", &mut out);
        assert_eq!(out, [0x83, 0x86]);
    }

    #[test]
    fn every_field_round_trips_through_a_decoder_with_an_empty_table() {
        let fields: Vec<(&[u8], &[u8])> = vec![
            (b":authority", b"localhost"),
            (b":path", b"/runtime.v1.RuntimeService/Version"),
            (b"content-type", b"application/grpc"),
            (b"x-custom", &[b'v'; 300]),
            (b"te", b"trailers"),
        ];
        let mut out = Vec::new();
        for (n, v) in &fields {
            encode_field(n, v, &mut out);
        }
        let mut decoder = loona_hpack::Decoder::new();
        let got = decoder.decode(&out).unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> =
            fields.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        assert_eq!(got, want);
        // Nothing was added to the decoder's dynamic table: the same bytes decode the same again.
        assert_eq!(decoder.decode(&out).unwrap(), want);
        assert_eq!(decode_all(&out), want);
    }
}
