//! SPDY/3 header blocks: name/value pairs (u32 count, then u32-length-prefixed names and
//! values; a value may hold several, NUL-separated), compressed with zlib and the SPDY
//! dictionary. One compression context per direction for the whole connection, each block
//! ending on a sync flush: every received block must be inflated, in order, even if ignored.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::dictionary::dictionary;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HeaderError {
    #[error("header block does not inflate: {0}")]
    Inflate(String),
    #[error("header block malformed")]
    Malformed,
    #[error("header block larger than {0} bytes")]
    TooLarge(usize),
}

/// Inflated header blocks may not grow past this.
const MAX_INFLATED: usize = 256 * 1024;

pub type Headers = Vec<(String, String)>;

/// The first value of `name` (names are lower case on the wire).
pub fn get<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.split('\0').next().unwrap_or_default())
}

pub struct Inflater {
    z: Decompress,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater { z: Decompress::new(true) }
    }
}

impl Inflater {
    /// Inflates one block and parses its pairs.
    pub fn read(&mut self, block: &[u8]) -> Result<Headers, HeaderError> {
        let mut out = Vec::with_capacity(block.len() * 4 + 64);
        let mut input = block;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_INFLATED {
                    return Err(HeaderError::TooLarge(MAX_INFLATED));
                }
                out.reserve(out.len().max(256));
            }
            let before_in = self.z.total_in();
            match self.z.decompress_vec(input, &mut out, FlushDecompress::Sync) {
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(&dictionary())
                        .map_err(|e| HeaderError::Inflate(e.to_string()))?;
                }
                Err(e) => return Err(HeaderError::Inflate(e.to_string())),
            }
            input = &input[(self.z.total_in() - before_in) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        parse(&out)
    }
}

fn parse(mut b: &[u8]) -> Result<Headers, HeaderError> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], HeaderError> {
        if b.len() < n {
            return Err(HeaderError::Malformed);
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    fn number(b: &mut &[u8]) -> Result<usize, HeaderError> {
        let n = take(b, 4)?;
        Ok(u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
    }
    let count = number(&mut b)?;
    let mut headers = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let n = number(&mut b)?;
        let name = String::from_utf8_lossy(take(&mut b, n)?).to_ascii_lowercase();
        let n = number(&mut b)?;
        let value = String::from_utf8_lossy(take(&mut b, n)?).into_owned();
        headers.push((name, value));
    }
    Ok(headers)
}

pub struct Deflater {
    z: Compress,
}

impl Default for Deflater {
    fn default() -> Self {
        let mut z = Compress::new(Compression::default(), true);
        z.set_dictionary(&dictionary()).expect("a fresh deflate stream takes a dictionary");
        Deflater { z }
    }
}

impl Deflater {
    /// Encodes and compresses `headers` as one block.
    pub fn write(&mut self, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        for (name, value) in headers {
            for part in [name.as_bytes(), value.as_bytes()] {
                raw.extend_from_slice(&(part.len() as u32).to_be_bytes());
                raw.extend_from_slice(part);
            }
        }
        let mut out = Vec::with_capacity(raw.len() + 64);
        let mut input = &raw[..];
        loop {
            let before = self.z.total_in();
            let status = self
                .z
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .expect("deflate into a vector");
            input = &input[(self.z.total_in() - before) as usize..];
            // Done once all input is in and the flush fit (room left over).
            if input.is_empty() && out.len() < out.capacity() && status != Status::BufError {
                return out;
            }
            out.reserve(256);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_through_one_context_per_direction() {
        let (mut tx, mut rx) = (Deflater::default(), Inflater::default());
        for i in 0..3 {
            let value = format!("stdout{i}");
            let block = tx.write(&[("streamtype", &value), ("X-Multi", "a\0b")]);
            let headers = rx.read(&block).unwrap();
            assert_eq!(get(&headers, "streamtype"), Some(value.as_str()));
            assert_eq!(get(&headers, "x-multi"), Some("a"), "names lower case, first value");
        }
        assert_eq!(rx.read(&tx.write(&[])).unwrap(), Vec::new());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Inflater::default().read(b"\x00\x01garbage").is_err());
    }
}
