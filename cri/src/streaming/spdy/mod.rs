//! SPDY/3.1, as kubelet's and crictl's streaming clients speak it: frames,
//! header blocks with their zlib contexts, and a connection that turns frames into stream
//! events and writes replies in order.

mod conn;
mod dictionary;
mod frame;
mod headers;

pub use conn::{Connection, Event, Writer};
pub use dictionary::dictionary;
pub use headers::get as header;
