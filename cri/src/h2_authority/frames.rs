//! HTTP/2 framing constants (RFC 9113 §4, §6) and the frame header codec.

pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const HEADER_LEN: usize = 9;

pub const TYPE_HEADERS: u8 = 0x1;
pub const TYPE_PUSH_PROMISE: u8 = 0x5;
pub const TYPE_CONTINUATION: u8 = 0x9;

pub const FLAG_END_STREAM: u8 = 0x1;
pub const FLAG_END_HEADERS: u8 = 0x4;
pub const FLAG_PADDED: u8 = 0x8;
pub const FLAG_PRIORITY: u8 = 0x20;

/// The smallest SETTINGS_MAX_FRAME_SIZE a peer may advertise, so always safe to send.
pub const SAFE_FRAME_PAYLOAD: usize = 16_384;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
}

impl FrameHeader {
    pub fn parse(b: &[u8]) -> FrameHeader {
        FrameHeader {
            len: (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]),
            kind: b[3],
            flags: b[4],
            stream_id: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }

    pub fn write(&self, out: &mut Vec<u8>) {
        let len = self.len as u32;
        out.extend_from_slice(&[
            (len >> 16) as u8,
            (len >> 8) as u8,
            len as u8,
            self.kind,
            self.flags,
        ]);
        out.extend_from_slice(&self.stream_id.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_ignores_the_reserved_bit() {
        let h = FrameHeader {
            len: 0x01_02_03,
            kind: TYPE_HEADERS,
            flags: FLAG_END_HEADERS,
            stream_id: 7,
        };
        let mut out = Vec::new();
        h.write(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(FrameHeader::parse(&out), h);
        out[5] |= 0x80;
        assert_eq!(FrameHeader::parse(&out).stream_id, 7);
    }
}
