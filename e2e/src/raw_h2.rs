//! A deliberately primitive HTTP/2 gRPC client over a unix socket that behaves like grpc-go's
//! unix dialer: it can send any `:authority` (the escaped socket path included), index header
//! fields in the HPACK dynamic table and split header blocks over CONTINUATION frames.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use cricket::h2_authority::IndexingEncoder;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

pub struct RawH2 {
    sock: UnixStream,
    encoder: IndexingEncoder,
    decoder: loona_hpack::Decoder<'static>,
    next_stream: u32,
}

/// What came back on one stream.
#[derive(Debug, Default)]
pub struct Reply {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first gRPC message of the body (after its 5-byte prefix).
    pub fn grpc_message(&self) -> &[u8] {
        self.body.get(5..).unwrap_or_default()
    }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

impl RawH2 {
    pub fn connect(path: &Path) -> std::io::Result<RawH2> {
        let mut sock = UnixStream::connect(path)?;
        sock.set_read_timeout(Some(Duration::from_secs(10)))?;
        sock.write_all(PREFACE)?;
        sock.write_all(&frame(SETTINGS, 0, 0, &[]))?;
        Ok(RawH2 {
            sock,
            encoder: IndexingEncoder::default(),
            decoder: loona_hpack::Decoder::new(),
            next_stream: 1,
        })
    }

    /// One unary gRPC call with `extra` metadata; the header block is cut into `pieces` frames.
    pub fn unary(
        &mut self,
        path: &str,
        authority: &str,
        extra: &[(&str, &str)],
        message: &[u8],
        pieces: usize,
    ) -> std::io::Result<Reply> {
        let stream = self.next_stream;
        self.next_stream += 2;
        let mut fields: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", path.as_bytes()),
            (b":authority", authority.as_bytes()),
            (b"content-type", b"application/grpc"),
            (b"user-agent", b"grpc-go/1.59.0"),
            (b"te", b"trailers"),
        ];
        fields.extend(extra.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
        let mut block = Vec::new();
        self.encoder.encode(&fields, &mut block);
        let size = block.len().div_ceil(pieces.max(1)).max(1);
        let chunks: Vec<&[u8]> = block.chunks(size).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let flags = if i + 1 == chunks.len() { END_HEADERS } else { 0 };
            let kind = if i == 0 { HEADERS } else { CONTINUATION };
            self.sock.write_all(&frame(kind, flags, stream, chunk))?;
        }
        let mut body = vec![0u8];
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(message);
        self.sock.write_all(&frame(DATA, END_STREAM, stream, &body))?;
        self.read_reply(stream)
    }

    fn read_frame(&mut self) -> std::io::Result<(u8, u8, u32, Vec<u8>)> {
        let mut head = [0u8; 9];
        self.sock.read_exact(&mut head)?;
        let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        self.sock.read_exact(&mut payload)?;
        Ok((head[3], head[4], stream, payload))
    }

    fn read_reply(&mut self, stream: u32) -> std::io::Result<Reply> {
        let mut reply = Reply::default();
        let mut block = Vec::new();
        let mut ended = false;
        loop {
            let (kind, flags, id, payload) = self.read_frame()?;
            match kind {
                SETTINGS if flags & ACK == 0 => {
                    self.sock.write_all(&frame(SETTINGS, ACK, 0, &[]))?
                }
                PING if flags & ACK == 0 => self.sock.write_all(&frame(PING, ACK, 0, &payload))?,
                GOAWAY | RST_STREAM => {
                    return Err(std::io::Error::other(format!(
                        "server sent frame type {kind} (payload {payload:?})"
                    )))
                }
                HEADERS | CONTINUATION if id == stream => {
                    block.extend_from_slice(&payload);
                    if flags & END_HEADERS != 0 {
                        let fields = self
                            .decoder
                            .decode(&block)
                            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
                        block.clear();
                        reply.headers.extend(fields.into_iter().map(|(n, v)| {
                            (
                                String::from_utf8_lossy(&n).into_owned(),
                                String::from_utf8_lossy(&v).into_owned(),
                            )
                        }));
                    }
                }
                DATA if id == stream => reply.body.extend_from_slice(&payload),
                _ => {}
            }
            ended |= id == stream && flags & END_STREAM != 0 && matches!(kind, HEADERS | DATA);
            if ended && block.is_empty() {
                return Ok(reply);
            }
        }
    }
}
