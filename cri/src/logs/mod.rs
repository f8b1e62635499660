//! Container logs in the CRI format, written by `cricket-logger`, a small
//! process the runc shim starts per container through a `binary://` log URI. It lives beside
//! the container, not in cricket, so output never waits on cricket being up.

mod attach_socket;
mod cri_line;
mod logger_uri;

pub use attach_socket::{read_frame, Attachers};
pub use cri_line::{LineSplitter, MAX_LINE};
pub use logger_uri::{fifo_logger_args, logger_binary, logger_uri, reopen, LoggerArgs};
