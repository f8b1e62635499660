//! Cutting a stream into CRI log records: `<RFC3339Nano> <stream> <P|F> <content>\n`, with a
//! line longer than 16 KiB cut into `P` pieces and a final `F`.

use std::time::SystemTime;

/// The longest content of one record.
pub const MAX_LINE: usize = 16 * 1024;

/// Buffers one stream's bytes until a newline (or `MAX_LINE` bytes) completes a record.
pub struct LineSplitter {
    stream: &'static str,
    pending: Vec<u8>,
}

impl LineSplitter {
    pub fn new(stream: &'static str) -> LineSplitter {
        LineSplitter { stream, pending: Vec::new() }
    }

    fn record(&self, out: &mut Vec<u8>, now: SystemTime, tag: &str, content: &[u8]) {
        out.extend_from_slice(humantime::format_rfc3339_nanos(now).to_string().as_bytes());
        out.extend_from_slice(format!(" {} {tag} ", self.stream).as_bytes());
        out.extend_from_slice(content);
        out.push(b'\n');
    }

    /// Appends to `out` every record `data` completes.
    pub fn feed(&mut self, data: &[u8], now: SystemTime, out: &mut Vec<u8>) {
        self.pending.extend_from_slice(data);
        let mut start = 0;
        loop {
            let rest = &self.pending[start..];
            let window = &rest[..rest.len().min(MAX_LINE)];
            if let Some(nl) = window.iter().position(|b| *b == b'\n') {
                self.record(out, now, "F", &rest[..nl]);
                start += nl + 1;
            } else if rest.len() >= MAX_LINE {
                self.record(out, now, "P", &rest[..MAX_LINE]);
                start += MAX_LINE;
            } else {
                break;
            }
        }
        self.pending.drain(..start);
    }

    /// At end of stream: content left without a newline is written as `P`.
    pub fn finish(&mut self, now: SystemTime, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.record(out, now, "P", &rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::new("stdout");
        let mut out = Vec::new();
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(1_500_000_001);
        for c in chunks {
            s.feed(c, now, &mut out);
        }
        s.finish(now, &mut out);
        String::from_utf8(out).unwrap().lines().map(String::from).collect()
    }

    #[test]
    fn lines_across_chunks_become_full_records() {
        assert_eq!(
            records(&[b"hel", b"lo\nwor", b"ld\n\n"]),
            [
                "1970-01-01T00:00:01.500000001Z stdout F hello",
                "1970-01-01T00:00:01.500000001Z stdout F world",
                "1970-01-01T00:00:01.500000001Z stdout F "
            ]
        );
    }

    #[test]
    fn a_40000_char_line_is_two_partials_and_a_final() {
        let mut line = vec![b'x'; 40_000];
        line.push(b'\n');
        let r = records(&[&line[..7000], &line[7000..]]);
        let tags: Vec<(&str, usize)> = r
            .iter()
            .map(|l| (l.split(' ').nth(2).unwrap(), l.splitn(4, ' ').nth(3).unwrap().len()))
            .collect();
        assert_eq!(tags, [("P", MAX_LINE), ("P", MAX_LINE), ("F", 40_000 - 2 * MAX_LINE)]);
    }

    #[test]
    fn output_left_without_a_newline_is_partial() {
        assert_eq!(
            records(&[b"a\nno newline"]).last().unwrap(),
            "1970-01-01T00:00:01.500000001Z stdout P no newline"
        );
        assert!(records(&[]).is_empty());
    }
}
