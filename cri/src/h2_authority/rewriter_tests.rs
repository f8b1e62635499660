use proptest::prelude::*;

use super::super::frames::*;
use super::super::hpack::encode_field;
use super::super::IndexingEncoder;
use super::*;

const ESCAPED: &[u8] = b"%2Frun%2Fcricket%2Fcricket.sock";

fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    FrameHeader { len: payload.len(), kind, flags, stream_id }.write(&mut out);
    out.extend_from_slice(payload);
    out
}

/// A header block as HEADERS + CONTINUATION frames cut at `cuts` (fractions of the block).
fn header_frames(
    stream_id: u32,
    block: &[u8],
    cuts: usize,
    padded: bool,
    priority: bool,
) -> Vec<u8> {
    let piece = (block.len() / (cuts + 1)).max(1);
    let chunks: Vec<&[u8]> = block.chunks(piece).collect();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let end_headers = if last { FLAG_END_HEADERS } else { 0 };
        if i == 0 {
            let mut payload = Vec::new();
            let mut flags = FLAG_END_STREAM | end_headers;
            if padded {
                flags |= FLAG_PADDED;
                payload.push(3);
            }
            if priority {
                flags |= FLAG_PRIORITY;
                payload.extend_from_slice(&[0, 0, 0, 1, 15]);
            }
            payload.extend_from_slice(chunk);
            if padded {
                payload.extend_from_slice(&[0, 0, 0]);
            }
            out.extend(frame(TYPE_HEADERS, flags, stream_id, &payload));
        } else {
            out.extend(frame(TYPE_CONTINUATION, end_headers, stream_id, chunk));
        }
    }
    out
}

fn request(authority: &[u8], extra: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut fields: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b":method".to_vec(), b"POST".to_vec()),
        (b":scheme".to_vec(), b"http".to_vec()),
        (b":path".to_vec(), b"/runtime.v1.RuntimeService/Version".to_vec()),
        (b":authority".to_vec(), authority.to_vec()),
        (b"content-type".to_vec(), b"application/grpc".to_vec()),
        (b"user-agent".to_vec(), b"grpc-go/1.59.0".to_vec()),
        (b"te".to_vec(), b"trailers".to_vec()),
    ];
    for i in 0..extra {
        fields.push((
            format!("x-churn-{}", i % 7).into_bytes(),
            format!("value-{extra}-{i}").into_bytes(),
        ));
    }
    fields
}

fn as_refs(fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<(&[u8], &[u8])> {
    fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())).collect()
}

/// What h2 sees: the frames of `out`, with every header block decoded by one long-lived
/// decoder (as h2 keeps one per connection).
#[derive(Debug, PartialEq)]
enum Seen {
    Headers { stream: u32, end_stream: bool, fields: Vec<(Vec<u8>, Vec<u8>)> },
    Other { kind: u8, payload: Vec<u8> },
}

fn server_view(out: &[u8]) -> Vec<Seen> {
    assert!(out.starts_with(PREFACE));
    let mut decoder = loona_hpack::Decoder::new();
    let mut rest = &out[PREFACE.len()..];
    let mut seen = Vec::new();
    let mut block: Option<(u32, bool, Vec<u8>)> = None;
    while !rest.is_empty() {
        let h = FrameHeader::parse(rest);
        assert!(h.len <= SAFE_FRAME_PAYLOAD);
        let payload = &rest[HEADER_LEN..HEADER_LEN + h.len];
        rest = &rest[HEADER_LEN + h.len..];
        match h.kind {
            TYPE_HEADERS => {
                let (pad, mut p) = if h.flags & FLAG_PADDED != 0 {
                    (usize::from(payload[0]), &payload[1..])
                } else {
                    (0, payload)
                };
                if h.flags & FLAG_PRIORITY != 0 {
                    p = &p[5..];
                }
                block = Some((
                    h.stream_id,
                    h.flags & FLAG_END_STREAM != 0,
                    p[..p.len() - pad].to_vec(),
                ));
            }
            TYPE_CONTINUATION => block.as_mut().unwrap().2.extend_from_slice(payload),
            kind => seen.push(Seen::Other { kind, payload: payload.to_vec() }),
        }
        if matches!(h.kind, TYPE_HEADERS | TYPE_CONTINUATION) && h.flags & FLAG_END_HEADERS != 0 {
            let (stream, end_stream, bytes) = block.take().unwrap();
            let fields = decoder.decode(&bytes).expect("output decodes");
            seen.push(Seen::Headers { stream, end_stream, fields });
        }
    }
    assert!(block.is_none(), "no header block left open");
    seen
}

fn run(input: &[u8]) -> Result<Vec<u8>, RewriteError> {
    let mut rw = AuthorityRewriter::default();
    let mut out = Vec::new();
    rw.process(input, &mut out)?;
    Ok(out)
}

fn replaced(fields: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut fields = fields.to_vec();
    for (n, v) in &mut fields {
        if n == b":authority" && v == ESCAPED {
            *v = REPLACEMENT_AUTHORITY.to_vec();
        }
    }
    fields
}

#[test]
fn preface_and_non_header_frames_pass_through_byte_for_byte() {
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[0, 3, 0, 0, 0, 100])); // SETTINGS
    input.extend(frame(0x0, 0x1, 1, b"\0\0\0\0\x05hello")); // DATA
    input.extend(frame(0x8, 0, 0, &[0, 1, 0, 0])); // WINDOW_UPDATE
    assert_eq!(run(&input).unwrap(), input);
}

#[test]
fn empty_frames_do_not_stall_the_stream() {
    // An empty SETTINGS frame (as grpc-go and most clients send) then a request.
    let mut block = Vec::new();
    encode_field(b":authority", ESCAPED, &mut block);
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[]));
    input.extend(frame(0x4, 0x1, 0, &[]));
    input.extend(header_frames(1, &block, 0, false, false));
    let seen = server_view(&run(&input).unwrap());
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(matches!(&seen[2], Seen::Headers { stream: 1, .. }));
}

#[test]
fn escaped_authority_is_replaced_and_every_other_field_kept() {
    let fields = request(ESCAPED, 2);
    let mut block = Vec::new();
    for (n, v) in &fields {
        encode_field(n, v, &mut block);
    }
    let mut input = PREFACE.to_vec();
    input.extend(header_frames(1, &block, 0, false, false));
    let mut rw = AuthorityRewriter::default();
    let mut out = Vec::new();
    rw.process(&input, &mut out).unwrap();
    assert_eq!(rw.rewritten(), 1);
    assert_eq!(
        server_view(&out),
        vec![Seen::Headers { stream: 1, end_stream: true, fields: replaced(&fields) }]
    );
}

#[test]
fn blocks_pass_byte_for_byte_until_the_first_rewrite_then_are_reencoded() {
    let mut enc = IndexingEncoder::default();
    let mut input = PREFACE.to_vec();
    let mut want = Vec::new();
    // Valid, valid (padded, split), escaped, then valid ones that lean on the table.
    for (i, authority) in
        [&b"localhost:10250"[..], b"localhost", ESCAPED, b"localhost", b"localhost:10250"]
            .iter()
            .enumerate()
    {
        let fields = request(authority, i);
        let mut block = Vec::new();
        enc.encode(&as_refs(&fields), &mut block);
        input.extend(header_frames(2 * i as u32 + 1, &block, i % 2, i == 1, false));
        want.push(Seen::Headers {
            stream: 2 * i as u32 + 1,
            end_stream: true,
            fields: replaced(&fields),
        });
        if i == 1 {
            assert_eq!(run(&input).unwrap(), input, "no rewrite yet: the bytes are untouched");
        }
    }
    let out = run(&input).unwrap();
    assert_ne!(out, input);
    assert_eq!(server_view(&out), want, "the server's decoder stays in step across the switch");
}

#[test]
fn huffman_coded_fields_and_dynamic_references_follow_rfc_7541_c4() {
    // C.4.1 then C.4.2: the second request names :authority by dynamic index 62.
    let first = [
        0x82, 0x86, 0x84, 0x41, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90,
        0xf4, 0xff,
    ];
    let second = [0x82, 0x86, 0x84, 0xbe, 0x58, 0x86, 0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf];
    let mut input = PREFACE.to_vec();
    input.extend(header_frames(1, &first, 0, false, false));
    input.extend(header_frames(3, &second, 0, false, false));
    let seen = server_view(&run(&input).unwrap());
    let Seen::Headers { fields, .. } = &seen[1] else { panic!("{seen:?}") };
    assert_eq!(fields[3], (b":authority".to_vec(), b"www.example.com".to_vec()));
    assert_eq!(fields[4], (b"cache-control".to_vec(), b"no-cache".to_vec()));
}

#[test]
fn churning_dynamic_table_over_continuations_padding_and_priority() {
    let mut enc = IndexingEncoder::default();
    let mut input = PREFACE.to_vec();
    let mut want = Vec::new();
    for i in 0..60u32 {
        let fields = request(ESCAPED, (i as usize * 5) % 40);
        let mut block = Vec::new();
        if i % 17 == 5 {
            enc.resize(if i % 2 == 0 { 0 } else { 4096 }, &mut block);
        }
        enc.encode(&as_refs(&fields), &mut block);
        let stream = 2 * i + 1;
        input.extend(header_frames(stream, &block, (i % 4) as usize, i % 3 == 0, i % 5 == 0));
        input.extend(frame(0x0, 0x1, stream, b"\0\0\0\0\0"));
        want.push(Seen::Headers { stream, end_stream: true, fields: replaced(&fields) });
        want.push(Seen::Other { kind: 0x0, payload: b"\0\0\0\0\0".to_vec() });
    }
    assert_eq!(server_view(&run(&input).unwrap()), want);
}

#[test]
fn a_block_larger_than_one_frame_is_split_into_continuations() {
    let big = vec![b'v'; 40_000];
    let fields = vec![(b":authority".to_vec(), ESCAPED.to_vec()), (b"x-big".to_vec(), big)];
    let mut block = Vec::new();
    IndexingEncoder::default().encode(&as_refs(&fields), &mut block);
    let mut input = PREFACE.to_vec();
    input.extend(header_frames(1, &block, 5, false, true));
    assert_eq!(
        server_view(&run(&input).unwrap()),
        vec![Seen::Headers { stream: 1, end_stream: true, fields: replaced(&fields) }]
    );
}

#[test]
fn protocol_violations_are_refused() {
    let mut block = Vec::new();
    encode_field(b":authority", ESCAPED, &mut block);
    let open = frame(TYPE_HEADERS, 0, 1, &block);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        ([open.clone(), frame(0x0, 0, 1, b"x")].concat(), "inside the header block"),
        (
            [open.clone(), frame(TYPE_CONTINUATION, FLAG_END_HEADERS, 3, b"")].concat(),
            "inside the header block",
        ),
        (frame(TYPE_CONTINUATION, FLAG_END_HEADERS, 1, &block), "no header block open"),
        (frame(TYPE_PUSH_PROMISE, 0, 1, &[0, 0, 0, 2]), "PUSH_PROMISE"),
        (frame(TYPE_HEADERS, FLAG_END_HEADERS | FLAG_PADDED, 1, &[9, 0x82]), "malformed"),
        (frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &[0x82, 0x20]), "after a header field"),
        (frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &[0x3f, 0xe2, 0x1f, 0x82]), "exceeds"),
        (frame(TYPE_HEADERS, FLAG_END_HEADERS, 1, &[0xff, 0x00]), "not in the tables"),
    ];
    for (frames, why) in cases {
        let input = [PREFACE.as_slice(), &frames].concat();
        let err = run(&input).unwrap_err().to_string();
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn an_endless_header_block_is_cut_off() {
    let mut input = PREFACE.to_vec();
    input.extend(frame(TYPE_HEADERS, 0, 1, &[0x82]));
    let piece = vec![0u8; 16_384];
    let mut rw = AuthorityRewriter::default();
    let mut out = Vec::new();
    rw.process(&input, &mut out).unwrap();
    let mut failed = false;
    for _ in 0..20 {
        if rw.process(&frame(TYPE_CONTINUATION, 0, 1, &piece), &mut out).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "a header block over {MAX_HEADER_BLOCK} bytes must be refused");
}

#[test]
fn something_that_is_not_http2_is_passed_on_untouched() {
    let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(run(input).unwrap(), input);
}

fn churn_input() -> Vec<u8> {
    let mut enc = IndexingEncoder::default();
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[]));
    for i in 0..8u32 {
        let mut block = Vec::new();
        enc.encode(&as_refs(&request(ESCAPED, i as usize * 3)), &mut block);
        input.extend(header_frames(2 * i + 1, &block, (i % 3) as usize, i % 2 == 0, false));
        input.extend(frame(0x0, 0x1, 2 * i + 1, &[0, 0, 0, 0, 1, 42]));
    }
    input
}

proptest! {
    /// However the socket chops the input, the output is the same bytes.
    #[test]
    fn output_does_not_depend_on_how_input_is_split(cuts in proptest::collection::vec(1usize..400, 0..40)) {
        let input = churn_input();
        let whole = run(&input).unwrap();
        let mut rw = AuthorityRewriter::default();
        let mut out = Vec::new();
        let mut rest = input.as_slice();
        for cut in cuts {
            let n = cut.min(rest.len());
            rw.process(&rest[..n], &mut out).unwrap();
            rest = &rest[n..];
        }
        rw.process(rest, &mut out).unwrap();
        prop_assert_eq!(out, whole);
    }

    /// Arbitrary bytes after the preface never panic; they are either passed on or refused.
    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut rw = AuthorityRewriter::default();
        let mut out = Vec::new();
        let _ = rw.process(PREFACE, &mut out);
        let _ = rw.process(&bytes, &mut out);
    }
}
