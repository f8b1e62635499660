//! Serving gRPC clients that put the percent-encoded unix socket path in `:authority`.
//!
//! grpc-go (crictl and critest up to 1.29) and grpc-java send
//! `:authority: %2Frun%2Fcricket%2Fcricket.sock`; h2 answers such streams with
//! PROTOCOL_ERROR, and no h2, hyper or tonic option tolerates it. Instead of patching h2 we
//! rewrite the client's side of each accepted connection at the frame level: every header
//! block is HPACK-decoded (mirroring the client's dynamic table), an unparsable
//! `:authority` becomes `localhost`, and the block is re-encoded without touching the
//! dynamic table, so h2's own decoder table stays empty and can never drift. All other frames
//! pass through untouched, and the server's output is not looked at at all.

mod frames;
mod hpack;
mod indexing_encoder;
mod rewriter;
mod stream;

pub use indexing_encoder::IndexingEncoder;
pub use rewriter::{AuthorityRewriter, RewriteError};
pub use stream::AuthorityFixStream;

/// What an unusable `:authority` is replaced with.
pub const REPLACEMENT_AUTHORITY: &[u8] = b"localhost";

/// The largest header block accepted (h2 itself would refuse far larger ones anyway).
pub const MAX_HEADER_BLOCK: usize = 256 * 1024;

/// The HPACK dynamic table size h2 advertises (SETTINGS_HEADER_TABLE_SIZE default); a client
/// may not grow its encoder's table beyond it.
pub const MAX_TABLE_SIZE: usize = 4096;
