//! Reading an exec's output FIFO: everything up to a cap is kept, the rest read and dropped
//! (so the process never blocks on a full pipe), until the writer closes.

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;

/// What an ExecSync reply may carry of both streams together: it must fit in one gRPC message
/// of the 16 MiB that kubelet's and crictl's CRI clients accept (a little is left for the
/// framing). Each stream is read up to this much, stdout keeps its share first.
pub const MAX_OUTPUT: usize = crate::server::MAX_MESSAGE - 4096;

/// Trims `stderr` so that both streams fit in [`MAX_OUTPUT`].
pub fn fit(stdout: &mut Vec<u8>, stderr: &mut Vec<u8>) {
    stdout.truncate(MAX_OUTPUT);
    stderr.truncate(MAX_OUTPUT - stdout.len());
}

/// Reads until end of file into `out`, keeping at most `cap` bytes.
pub async fn drain(mut rx: pipe::Receiver, out: &mut Vec<u8>, cap: usize) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match rx.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = cap.saturating_sub(out.len());
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_streams_together_fit_one_message() {
        let (mut out, mut err) = (vec![1u8; MAX_OUTPUT - 10], vec![2u8; 100]);
        fit(&mut out, &mut err);
        assert_eq!((out.len(), err.len()), (MAX_OUTPUT - 10, 10));
        let (mut out, mut err) = (vec![1u8; 5], vec![2u8; 7]);
        fit(&mut out, &mut err);
        assert_eq!((out.len(), err.len()), (5, 7));
    }
}
