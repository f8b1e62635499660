//! A test-only SPDY/3.1 client, small and separate from cricket's server code (only the
//! protocol's dictionary is shared, and a test checks it against Debian's spdystream): it
//! sends and reads single frames, so tests can check what the Go peer does not show (PING
//! echoes, nothing sent before the client speaks, SYN_REPLY before DATA, FIN and GOAWAY).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

/// A frame as the server sent it.
#[derive(Debug, PartialEq)]
pub enum Frame {
    SynReply { id: u32 },
    Data { id: u32, data: Vec<u8>, fin: bool },
    Ping { id: u32 },
    WindowUpdate { id: u32, delta: u32 },
    GoAway,
    Other(u16),
}

pub struct Client {
    tcp: TcpStream,
    deflate: Compress,
    inflate: Decompress,
}

impl Client {
    /// Opens `url` and upgrades it to SPDY/3.1 with `protocol` as X-Stream-Protocol-Version.
    pub fn connect(url: &str, protocol: &str) -> std::io::Result<Client> {
        let rest = url.strip_prefix("http://").expect("http URL");
        let (host, path) = rest.split_once('/').unwrap();
        let mut tcp = TcpStream::connect(host)?;
        write!(tcp, "POST /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: {protocol}\r\n\r\n")?;
        // The answer byte by byte, so that nothing after it is read by mistake.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tcp.read_exact(&mut byte)?;
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head);
        if !text.starts_with("HTTP/1.1 101") {
            return Err(std::io::Error::other(format!("no upgrade: {text}")));
        }
        let mut deflate = Compress::new(Compression::default(), true);
        deflate.set_dictionary(&cricket::streaming::spdy_dictionary()).unwrap();
        Ok(Client { tcp, deflate, inflate: Decompress::new(true) })
    }

    /// Whether the server sent anything within `wait`.
    pub fn anything_within(&mut self, wait: Duration) -> bool {
        self.tcp.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 1];
        let got = matches!(self.tcp.peek(&mut b), Ok(n) if n > 0);
        self.tcp.set_read_timeout(None).unwrap();
        got
    }

    fn control(&mut self, kind: u16, flags: u8, body: &[u8]) {
        let mut f = vec![0x80, 0x03];
        f.extend_from_slice(&kind.to_be_bytes());
        f.extend_from_slice(&((u32::from(flags) << 24) | body.len() as u32).to_be_bytes());
        f.extend_from_slice(body);
        self.tcp.write_all(&f).unwrap();
    }

    pub fn syn_stream(&mut self, id: u32, headers: &[(&str, &str)]) {
        let mut raw = (headers.len() as u32).to_be_bytes().to_vec();
        for (n, v) in headers {
            for s in [n, v] {
                raw.extend_from_slice(&(s.len() as u32).to_be_bytes());
                raw.extend_from_slice(s.as_bytes());
            }
        }
        let mut block = Vec::with_capacity(raw.len() + 128);
        self.deflate.compress_vec(&raw, &mut block, FlushCompress::Sync).unwrap();
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&block);
        self.control(1, 0, &body);
    }

    pub fn data(&mut self, id: u32, data: &[u8], fin: bool) {
        let mut f = id.to_be_bytes().to_vec();
        f.extend_from_slice(&((u32::from(fin as u8) << 24) | data.len() as u32).to_be_bytes());
        f.extend_from_slice(data);
        self.tcp.write_all(&f).unwrap();
    }

    pub fn ping(&mut self, id: u32) {
        self.control(6, 0, &id.to_be_bytes());
    }

    /// The next frame (header blocks inflated to keep the context, then dropped).
    pub fn read(&mut self) -> std::io::Result<Frame> {
        let mut head = [0u8; 8];
        self.tcp.read_exact(&mut head)?;
        let len = u32::from_be_bytes([0, head[5], head[6], head[7]]) as usize;
        let mut body = vec![0u8; len];
        self.tcp.read_exact(&mut body)?;
        let word = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if word & 0x8000_0000 == 0 {
            return Ok(Frame::Data { id: word, data: body, fin: head[4] & 1 != 0 });
        }
        let id = || u32::from_be_bytes([body[0], body[1], body[2], body[3]]) & 0x7fff_ffff;
        Ok(match (word & 0xffff) as u16 {
            2 => {
                let mut out = Vec::with_capacity(4096);
                let before = self.inflate.total_in();
                if let Err(e) =
                    self.inflate.decompress_vec(&body[4..], &mut out, FlushDecompress::Sync)
                {
                    assert!(e.needs_dictionary().is_some(), "header block: {e}");
                    self.inflate.set_dictionary(&cricket::streaming::spdy_dictionary()).unwrap();
                    let used = (self.inflate.total_in() - before) as usize;
                    self.inflate
                        .decompress_vec(&body[4 + used..], &mut out, FlushDecompress::Sync)
                        .unwrap();
                }
                Frame::SynReply { id: id() }
            }
            6 => Frame::Ping { id: id() },
            9 => Frame::WindowUpdate {
                id: id(),
                delta: u32::from_be_bytes([body[4], body[5], body[6], body[7]]),
            },
            7 => Frame::GoAway,
            other => Frame::Other(other),
        })
    }
}
