//! SPDY/3.1 frames on the wire: an 8-byte head (control bit, version and type, or a stream ID;
//! flags; 24-bit length) and a body. Header blocks stay compressed here (`headers` inflates
//! and deflates them, in order, per direction).

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub const FLAG_FIN: u8 = 0x01;
const VERSION: u16 = 3;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// Frames larger than this are refused (a header block or a data chunk; clients send 32 KiB).
pub const MAX_FRAME: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    SynStream {
        stream_id: u32,
        flags: u8,
        header_block: Bytes,
    },
    SynReply {
        stream_id: u32,
        flags: u8,
        header_block: Bytes,
    },
    Headers {
        stream_id: u32,
        flags: u8,
        header_block: Bytes,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Settings,
    Ping {
        id: u32,
    },
    GoAway {
        last_stream_id: u32,
        status: u32,
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    Data {
        stream_id: u32,
        flags: u8,
        data: Bytes,
    },
    /// A control frame type SPDY/3.1 does not define: ignored.
    Unknown,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FrameError {
    #[error("frame of {0} bytes is larger than allowed")]
    TooLarge(usize),
    #[error("SPDY version {0}, not 3")]
    Version(u16),
    #[error("{0} frame too short")]
    Short(&'static str),
}

/// Takes one whole frame off the front of `buf`; `Ok(None)` if more bytes are needed.
pub fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let length = u32::from_be_bytes([0, buf[5], buf[6], buf[7]]) as usize;
    if length > MAX_FRAME {
        return Err(FrameError::TooLarge(length));
    }
    if buf.len() < 8 + length {
        return Ok(None);
    }
    let mut head = buf.split_to(8);
    let mut body = buf.split_to(length).freeze();
    let word = head.get_u32();
    let flags = head[0];
    if word & 0x8000_0000 == 0 {
        return Ok(Some(Frame::Data { stream_id: word & 0x7fff_ffff, flags, data: body }));
    }
    let version = ((word >> 16) & 0x7fff) as u16;
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    let need = |n: usize, what: &'static str| {
        if length < n {
            Err(FrameError::Short(what))
        } else {
            Ok(())
        }
    };
    Ok(Some(match (word & 0xffff) as u16 {
        SYN_STREAM => {
            need(10, "SYN_STREAM")?;
            let stream_id = body.get_u32() & 0x7fff_ffff;
            body.advance(6); // associated stream, priority, slot
            Frame::SynStream { stream_id, flags, header_block: body }
        }
        SYN_REPLY => {
            need(4, "SYN_REPLY")?;
            Frame::SynReply { stream_id: body.get_u32() & 0x7fff_ffff, flags, header_block: body }
        }
        HEADERS => {
            need(4, "HEADERS")?;
            Frame::Headers { stream_id: body.get_u32() & 0x7fff_ffff, flags, header_block: body }
        }
        RST_STREAM => {
            need(8, "RST_STREAM")?;
            Frame::RstStream { stream_id: body.get_u32() & 0x7fff_ffff, status: body.get_u32() }
        }
        SETTINGS => Frame::Settings,
        PING => {
            need(4, "PING")?;
            Frame::Ping { id: body.get_u32() }
        }
        GOAWAY => {
            need(8, "GOAWAY")?;
            Frame::GoAway { last_stream_id: body.get_u32() & 0x7fff_ffff, status: body.get_u32() }
        }
        WINDOW_UPDATE => {
            need(8, "WINDOW_UPDATE")?;
            Frame::WindowUpdate {
                stream_id: body.get_u32() & 0x7fff_ffff,
                delta: body.get_u32() & 0x7fff_ffff,
            }
        }
        _ => Frame::Unknown,
    }))
}

fn control(out: &mut BytesMut, kind: u16, flags: u8, body: &[u8]) {
    out.put_u32(0x8000_0000 | (u32::from(VERSION) << 16) | u32::from(kind));
    out.put_u32((u32::from(flags) << 24) | body.len() as u32);
    out.put_slice(body);
}

/// Appends the wire form of `frame` to `out`.
pub fn encode(frame: &Frame, out: &mut BytesMut) {
    let mut body = BytesMut::new();
    match frame {
        Frame::SynStream { stream_id, flags, header_block } => {
            body.put_u32(*stream_id);
            body.put_u32(0);
            body.put_u16(0);
            body.put_slice(header_block);
            control(out, SYN_STREAM, *flags, &body);
        }
        Frame::SynReply { stream_id, flags, header_block }
        | Frame::Headers { stream_id, flags, header_block } => {
            body.put_u32(*stream_id);
            body.put_slice(header_block);
            let kind = if matches!(frame, Frame::SynReply { .. }) { SYN_REPLY } else { HEADERS };
            control(out, kind, *flags, &body);
        }
        Frame::RstStream { stream_id, status } => {
            body.put_u32(*stream_id);
            body.put_u32(*status);
            control(out, RST_STREAM, 0, &body);
        }
        Frame::Settings => control(out, SETTINGS, 0, &0u32.to_be_bytes()),
        Frame::Ping { id } => control(out, PING, 0, &id.to_be_bytes()),
        Frame::GoAway { last_stream_id, status } => {
            body.put_u32(*last_stream_id);
            body.put_u32(*status);
            control(out, GOAWAY, 0, &body);
        }
        Frame::WindowUpdate { stream_id, delta } => {
            body.put_u32(*stream_id);
            body.put_u32(*delta);
            control(out, WINDOW_UPDATE, 0, &body);
        }
        Frame::Data { stream_id, flags, data } => {
            out.put_u32(*stream_id & 0x7fff_ffff);
            out.put_u32((u32::from(*flags) << 24) | data.len() as u32);
            out.put_slice(data);
        }
        Frame::Unknown => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_partial_input_waits() {
        let frames = [
            Frame::SynStream { stream_id: 1, flags: 0, header_block: Bytes::from_static(b"hb") },
            Frame::SynReply {
                stream_id: 3,
                flags: FLAG_FIN,
                header_block: Bytes::from_static(b"x"),
            },
            Frame::Data { stream_id: 5, flags: FLAG_FIN, data: Bytes::from_static(b"hello") },
            Frame::Ping { id: 7 },
            Frame::GoAway { last_stream_id: 9, status: 0 },
            Frame::RstStream { stream_id: 1, status: 5 },
            Frame::WindowUpdate { stream_id: 1, delta: 100 },
        ];
        let mut wire = BytesMut::new();
        for f in &frames {
            encode(f, &mut wire);
        }
        let mut partial = wire.split_to(5);
        assert_eq!(decode(&mut partial).unwrap(), None);
        partial.unsplit(wire);
        for f in &frames {
            assert_eq!(&decode(&mut partial).unwrap().unwrap(), f);
        }
        assert!(partial.is_empty());
    }

    #[test]
    fn wrong_versions_and_huge_frames_are_errors() {
        let mut v2 = BytesMut::from(&[0x80, 0x02, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1][..]);
        assert_eq!(decode(&mut v2), Err(FrameError::Version(2)));
        let mut huge = BytesMut::from(&[0, 0, 0, 1, 0, 0xff, 0xff, 0xff][..]);
        assert!(matches!(decode(&mut huge), Err(FrameError::TooLarge(_))));
        let mut short = BytesMut::from(&[0x80, 0x03, 0, 6, 0, 0, 0, 2, 0, 0][..]);
        assert_eq!(decode(&mut short), Err(FrameError::Short("PING")));
    }
}
