//! Running more processes in a running container: ExecSync here; Exec, Attach and
//! PortForward through the streaming server.

mod launch;
mod output;
mod process_spec;
pub(crate) mod process_tree;
mod sync;

pub use launch::{launch, ExecStreams, Launched};
pub(crate) use sync::exec_sync;
