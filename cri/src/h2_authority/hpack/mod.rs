//! Just enough HPACK (RFC 7541) for the rewriter: a decoder that mirrors the client's dynamic
//! table, and an encoder that never uses one.

mod decode;
mod encode;
mod primitives;
mod table;

pub use decode::{DecodeError, Decoder};
pub use encode::encode_field;
pub(crate) use primitives::encode_integer;
