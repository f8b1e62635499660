//! Attach to a running container's output: `cricket-logger` serves a unix socket on which every
//! connection gets the container's raw output from then on, framed as (channel u8: 1 stdout,
//! 2 stderr; length u32, big-endian; bytes). An attacher that falls behind by more than a
//! bounded queue is dropped; the container never waits for it. Any number at once. At the
//! output's end, [`Attachers::finish`] hands every attacher what is still queued for it
//! before the logger exits.

use crate::locks::MutexExt;
use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Frames an attacher may lag by before it is dropped.
const QUEUE: usize = 256;

/// How long one write to an attacher may block before the attacher is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// One attacher's queue: (channel, bytes).
type Queue = SyncSender<(u8, Vec<u8>)>;

#[derive(Default)]
pub struct Attachers {
    list: Mutex<Vec<Queue>>,
    /// The threads writing to attachers, joined by [`Attachers::finish`].
    writers: Mutex<Vec<JoinHandle<()>>>,
}

fn frame(channel: u8, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 5);
    f.push(channel);
    f.extend_from_slice(&(data.len() as u32).to_be_bytes());
    f.extend_from_slice(data);
    f
}

impl Attachers {
    /// Serves `path` (replacing a stale socket) from a thread of its own.
    pub fn listen(path: &Path) -> std::io::Result<Arc<Attachers>> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let attachers = Arc::new(Attachers::default());
        let me = attachers.clone();
        std::thread::Builder::new().name("attach".into()).spawn(move || {
            for conn in listener.incoming().flatten() {
                me.add(conn);
            }
        })?;
        Ok(attachers)
    }

    fn add(&self, mut conn: UnixStream) {
        let (tx, rx) = sync_channel::<(u8, Vec<u8>)>(QUEUE);
        let _ = conn.set_write_timeout(Some(WRITE_TIMEOUT));
        let spawned = std::thread::Builder::new().name("attacher".into()).spawn(move || {
            while let Ok((channel, data)) = rx.recv() {
                if conn.write_all(&frame(channel, &data)).is_err() {
                    return;
                }
            }
        });
        if let Ok(writer) = spawned {
            self.list.locked().push(tx);
            let mut writers = self.writers.locked();
            writers.retain(|w| !w.is_finished());
            writers.push(writer);
        }
    }

    /// Ends the output: every attacher gets what is queued for it, then its connection closes.
    /// Without this the logger's exit would cut off the container's last output.
    pub fn finish(&self) {
        self.list.locked().clear();
        let writers = std::mem::take(&mut *self.writers.locked());
        for w in writers {
            let _ = w.join();
        }
    }

    /// Hands `data` of `channel` to every attacher, dropping those that cannot keep up.
    pub fn send(&self, channel: u8, data: &[u8]) {
        let mut list = self.list.locked();
        if list.is_empty() {
            return;
        }
        list.retain(|tx| match tx.try_send((channel, data.to_vec())) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        });
    }
}

/// Reads one frame from an attach socket; `None` at its end.
pub async fn read_frame(conn: &mut (impl tokio::io::AsyncRead + Unpin)) -> Option<(u8, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 5];
    conn.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut data = vec![0u8; len];
    conn.read_exact(&mut data).await.ok()?;
    Some((head[0], data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn attachers_get_the_output_from_when_they_connect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attach.sock");
        let attachers = Attachers::listen(&path).unwrap();
        attachers.send(1, b"before anyone");
        let mut a = tokio::net::UnixStream::connect(&path).await.unwrap();
        let mut b = tokio::net::UnixStream::connect(&path).await.unwrap();
        // Wait until both are registered.
        while attachers.list.lock().unwrap().len() < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        attachers.send(1, b"out");
        attachers.send(2, b"err");
        for conn in [&mut a, &mut b] {
            assert_eq!(read_frame(conn).await, Some((1, b"out".to_vec())));
            assert_eq!(read_frame(conn).await, Some((2, b"err".to_vec())));
        }
    }

    #[test]
    fn finish_returns_once_what_is_queued_is_written_and_each_connection_ended() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attach.sock");
        let attachers = Attachers::listen(&path).unwrap();
        let mut a = UnixStream::connect(&path).unwrap();
        while attachers.list.lock().unwrap().is_empty() {
            std::thread::sleep(Duration::from_millis(5));
        }
        for i in 0..50u8 {
            attachers.send(1, &[i; 100]);
        }
        attachers.finish();
        // Nothing waits from here on: all of it is in the socket already, then its end.
        a.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        a.read_to_end(&mut got).expect("the output and the end of the connection are there");
        let want: Vec<u8> = (0..50u8).flat_map(|i| frame(1, &[i; 100])).collect();
        assert_eq!(got, want);
    }
}
