use super::frames::*;
use super::hpack::{encode_field, DecodeError, Decoder};
use super::{MAX_HEADER_BLOCK, MAX_TABLE_SIZE, REPLACEMENT_AUTHORITY};

/// Why a client's byte stream cannot be passed on; the connection is then closed.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error(
        "frame type {kind:#x} on stream {stream} inside the header block of stream {block_stream}"
    )]
    Interleaved { kind: u8, stream: u32, block_stream: u32 },
    #[error("CONTINUATION on stream {0} with no header block open")]
    StrayContinuation(u32),
    #[error("header block larger than {MAX_HEADER_BLOCK} bytes")]
    TooLarge,
    #[error("malformed HEADERS frame on stream {0} (padding or priority)")]
    Malformed(u32),
    #[error("PUSH_PROMISE sent by a client")]
    PushPromise,
    #[error(transparent)]
    Hpack(#[from] DecodeError),
}

enum Phase {
    /// Waiting for the 24-byte client connection preface.
    Preface,
    /// At a frame boundary.
    Frames,
    /// Copying the rest of a frame that is not a header frame.
    Passthrough(usize),
    /// Not HTTP/2 with prior knowledge: hand everything on and let the server say no.
    Transparent,
}

/// A header block being collected from HEADERS and CONTINUATION frames.
struct HeaderBlock {
    stream_id: u32,
    end_stream: bool,
    priority: Option<[u8; 5]>,
    fragment: Vec<u8>,
    /// The frames as received, to forward unchanged while nothing has been rewritten.
    frames: Vec<u8>,
}

/// Rewrites the client-to-server bytes of one HTTP/2 connection (sans-IO: bytes in, bytes out).
pub struct AuthorityRewriter {
    phase: Phase,
    pending: Vec<u8>,
    block: Option<HeaderBlock>,
    decoder: Decoder,
    rewritten: u64,
    /// Once a block has been re-encoded, the server's HPACK table no longer matches the
    /// client's, so every later block must be re-encoded too.
    diverged: bool,
}

impl Default for AuthorityRewriter {
    fn default() -> Self {
        let decoder = Decoder::new(MAX_TABLE_SIZE);
        AuthorityRewriter {
            phase: Phase::Preface,
            pending: Vec::new(),
            block: None,
            decoder,
            rewritten: 0,
            diverged: false,
        }
    }
}

impl AuthorityRewriter {
    /// How many `:authority` values have been replaced so far.
    pub fn rewritten(&self) -> u64 {
        self.rewritten
    }

    /// Consumes `input`, appending to `out` everything that can be passed on already.
    pub fn process(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), RewriteError> {
        let mut pending = std::mem::take(&mut self.pending);
        pending.extend_from_slice(input);
        let mut pos = 0;
        let result = self.drain(&pending, &mut pos, out);
        pending.drain(..pos);
        self.pending = pending;
        result
    }

    fn drain(
        &mut self,
        buf: &[u8],
        pos: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<(), RewriteError> {
        loop {
            let avail = &buf[*pos..];
            match self.phase {
                Phase::Transparent => {
                    out.extend_from_slice(avail);
                    *pos = buf.len();
                    return Ok(());
                }
                Phase::Preface => {
                    let n = avail.len().min(PREFACE.len());
                    if avail[..n] != PREFACE[..n] {
                        self.phase = Phase::Transparent;
                        continue;
                    }
                    if n < PREFACE.len() {
                        return Ok(());
                    }
                    out.extend_from_slice(PREFACE);
                    *pos += PREFACE.len();
                    self.phase = Phase::Frames;
                }
                Phase::Passthrough(remaining) => {
                    let n = remaining.min(avail.len());
                    if n == 0 && remaining > 0 {
                        return Ok(());
                    }
                    out.extend_from_slice(&avail[..n]);
                    *pos += n;
                    self.phase = if n == remaining {
                        Phase::Frames
                    } else {
                        Phase::Passthrough(remaining - n)
                    };
                }
                Phase::Frames => {
                    if avail.len() < HEADER_LEN {
                        return Ok(());
                    }
                    let header = FrameHeader::parse(avail);
                    if !self.frame(header, avail, pos, out)? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Handles the frame starting at `avail`; false when more input is needed first.
    fn frame(
        &mut self,
        h: FrameHeader,
        avail: &[u8],
        pos: &mut usize,
        out: &mut Vec<u8>,
    ) -> Result<bool, RewriteError> {
        if let Some(block) = &self.block {
            if h.kind != TYPE_CONTINUATION || h.stream_id != block.stream_id {
                return Err(RewriteError::Interleaved {
                    kind: h.kind,
                    stream: h.stream_id,
                    block_stream: block.stream_id,
                });
            }
        }
        match h.kind {
            TYPE_HEADERS | TYPE_CONTINUATION => {
                // A HEADERS frame may carry up to 255 bytes of padding and 5 of priority on top.
                if h.len > MAX_HEADER_BLOCK + 261 {
                    return Err(RewriteError::TooLarge);
                }
                if avail.len() < HEADER_LEN + h.len {
                    return Ok(false);
                }
                *pos += HEADER_LEN + h.len;
                self.header_frame(h, &avail[HEADER_LEN..HEADER_LEN + h.len], out)?;
            }
            TYPE_PUSH_PROMISE => return Err(RewriteError::PushPromise),
            _ => {
                out.extend_from_slice(&avail[..HEADER_LEN]);
                *pos += HEADER_LEN;
                self.phase = Phase::Passthrough(h.len);
            }
        }
        Ok(true)
    }

    fn header_frame(
        &mut self,
        h: FrameHeader,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RewriteError> {
        if h.kind == TYPE_HEADERS {
            self.block = Some(open_block(h, payload)?);
        } else {
            let block = self.block.as_mut().ok_or(RewriteError::StrayContinuation(h.stream_id))?;
            block.fragment.extend_from_slice(payload);
        }
        let block = self.block.as_mut().expect("a block is open here");
        h.write(&mut block.frames);
        block.frames.extend_from_slice(payload);
        if block.fragment.len() > MAX_HEADER_BLOCK {
            return Err(RewriteError::TooLarge);
        }
        if h.flags & FLAG_END_HEADERS != 0 {
            let block = self.block.take().expect("a block is open here");
            self.finish(block, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, block: HeaderBlock, out: &mut Vec<u8>) -> Result<(), RewriteError> {
        let mut encoded = Vec::with_capacity(block.fragment.len() + 32);
        let mut replaced = 0;
        self.decoder.decode(&block.fragment, |name, value| {
            if name == b":authority" && http::uri::Authority::try_from(value).is_err() {
                replaced += 1;
                encode_field(name, REPLACEMENT_AUTHORITY, &mut encoded);
            } else {
                encode_field(name, value, &mut encoded);
            }
        })?;
        self.rewritten += replaced;
        if replaced == 0 && !self.diverged {
            // Nothing to change and the tables still agree: the client's own bytes are cheaper
            // for the server to decode than our literals.
            out.extend_from_slice(&block.frames);
        } else {
            self.diverged = true;
            write_header_frames(&block, &encoded, out);
        }
        Ok(())
    }
}

fn open_block(h: FrameHeader, payload: &[u8]) -> Result<HeaderBlock, RewriteError> {
    let malformed = RewriteError::Malformed(h.stream_id);
    let mut p = payload;
    let mut pad = 0;
    if h.flags & FLAG_PADDED != 0 {
        let (&n, rest) = p.split_first().ok_or(RewriteError::Malformed(h.stream_id))?;
        pad = usize::from(n);
        p = rest;
    }
    let mut priority = None;
    if h.flags & FLAG_PRIORITY != 0 {
        let fields: [u8; 5] = p
            .get(..5)
            .and_then(|s| s.try_into().ok())
            .ok_or(RewriteError::Malformed(h.stream_id))?;
        priority = Some(fields);
        p = &p[5..];
    }
    if pad > p.len() {
        return Err(malformed);
    }
    Ok(HeaderBlock {
        stream_id: h.stream_id,
        end_stream: h.flags & FLAG_END_STREAM != 0,
        priority,
        fragment: p[..p.len() - pad].to_vec(),
        frames: Vec::with_capacity(HEADER_LEN + payload.len()),
    })
}

/// Emits `encoded` as one HEADERS frame and as many CONTINUATION frames as it needs.
fn write_header_frames(block: &HeaderBlock, encoded: &[u8], out: &mut Vec<u8>) {
    let prio_len = block.priority.map_or(0, |_| 5);
    let first = encoded.len().min(SAFE_FRAME_PAYLOAD - prio_len);
    let mut flags = 0;
    if block.end_stream {
        flags |= FLAG_END_STREAM;
    }
    if block.priority.is_some() {
        flags |= FLAG_PRIORITY;
    }
    if first == encoded.len() {
        flags |= FLAG_END_HEADERS;
    }
    FrameHeader { len: prio_len + first, kind: TYPE_HEADERS, flags, stream_id: block.stream_id }
        .write(out);
    if let Some(p) = block.priority {
        out.extend_from_slice(&p);
    }
    out.extend_from_slice(&encoded[..first]);
    let mut rest = &encoded[first..];
    while !rest.is_empty() {
        let n = rest.len().min(SAFE_FRAME_PAYLOAD);
        let flags = if n == rest.len() { FLAG_END_HEADERS } else { 0 };
        FrameHeader { len: n, kind: TYPE_CONTINUATION, flags, stream_id: block.stream_id }
            .write(out);
        out.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
    }
}

#[cfg(test)]
#[path = "rewriter_tests.rs"]
mod tests;
