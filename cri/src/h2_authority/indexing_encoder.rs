//! An HPACK encoder that indexes like grpc-go's: every field not yet in its dynamic table is
//! sent as a literal with incremental indexing (names and values raw), repeats as dynamic
//! indexes, with eviction at the table size. It plays the client in tests of the rewriter.

use super::hpack::encode_integer as integer;

pub struct IndexingEncoder {
    table: Vec<(Vec<u8>, Vec<u8>)>, // newest first
    max: usize,
}

impl Default for IndexingEncoder {
    fn default() -> Self {
        IndexingEncoder { table: Vec::new(), max: 4096 }
    }
}

impl IndexingEncoder {
    fn size(&self) -> usize {
        self.table.iter().map(|(n, v)| n.len() + v.len() + 32).sum()
    }

    fn evict(&mut self) {
        while self.size() > self.max {
            self.table.pop();
        }
    }

    /// Emits a dynamic table size update; only valid at the start of a block.
    pub fn resize(&mut self, max: usize, out: &mut Vec<u8>) {
        self.max = max;
        integer(max, 5, 0x20, out);
        self.evict();
    }

    /// Appends the encoding of `fields` to `out`.
    pub fn encode(&mut self, fields: &[(&[u8], &[u8])], out: &mut Vec<u8>) {
        for (name, value) in fields {
            if let Some(i) = self.table.iter().position(|(n, v)| n == name && v == value) {
                integer(62 + i, 7, 0x80, out);
                continue;
            }
            out.push(0x40);
            integer(name.len(), 7, 0, out);
            out.extend_from_slice(name);
            integer(value.len(), 7, 0, out);
            out.extend_from_slice(value);
            self.table.insert(0, (name.to_vec(), value.to_vec()));
            self.evict();
        }
    }
}
