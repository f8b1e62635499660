//! The static table (RFC 7541 Appendix A) and the dynamic table (§2.3, §4).

use std::collections::VecDeque;

use super::decode::DecodeError;

/// Index = position + 1.
pub const STATIC_TABLE: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// Every entry costs its name and value length plus 32 octets (§4.1).
const ENTRY_OVERHEAD: usize = 32;

/// The decoder's copy of the peer encoder's dynamic table, newest entry first.
pub struct DynamicTable {
    entries: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max: usize,
}

impl DynamicTable {
    pub fn new(max: usize) -> Self {
        DynamicTable { entries: VecDeque::new(), size: 0, max }
    }

    pub fn set_max(&mut self, max: usize) {
        self.max = max;
        self.evict_to(max);
    }

    /// Adds an entry, evicting the oldest ones to make room; one larger than the whole table
    /// empties it (§4.4).
    pub fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let cost = name.len() + value.len() + ENTRY_OVERHEAD;
        if cost > self.max {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max - cost);
        self.size += cost;
        self.entries.push_front((name, value));
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            let Some((n, v)) = self.entries.pop_back() else { break };
            self.size -= n.len() + v.len() + ENTRY_OVERHEAD;
        }
    }

    /// The field at HPACK index `index` (1-based over the static then the dynamic table).
    pub fn field(&self, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
        match index {
            0 => Err(DecodeError::BadIndex(0)),
            1..=61 => {
                let (n, v) = STATIC_TABLE[index - 1];
                Ok((n.as_bytes(), v.as_bytes()))
            }
            _ => self
                .entries
                .get(index - 62)
                .map(|(n, v)| (n.as_slice(), v.as_slice()))
                .ok_or(DecodeError::BadIndex(index)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_indexed_newest_first_and_evicted_oldest_first() {
        let mut t = DynamicTable::new(100);
        t.insert(b"a".to_vec(), b"1".to_vec()); // 34
        t.insert(b"b".to_vec(), b"2".to_vec()); // 68
        assert_eq!(t.field(62).unwrap(), (&b"b"[..], &b"2"[..]));
        assert_eq!(t.field(63).unwrap(), (&b"a"[..], &b"1"[..]));
        t.insert(b"c".to_vec(), b"3".to_vec()); // 102 > 100: "a" goes
        assert_eq!(t.field(63).unwrap().0, b"b");
        assert_eq!(t.field(64), Err(DecodeError::BadIndex(64)));
        t.insert(vec![b'x'; 80], vec![]); // larger than the table: empties it
        assert_eq!(t.field(62), Err(DecodeError::BadIndex(62)));
        assert_eq!(t.field(2).unwrap(), (&b":method"[..], &b"GET"[..]));
        assert_eq!(t.field(0), Err(DecodeError::BadIndex(0)));
    }
}
