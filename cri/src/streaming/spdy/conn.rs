//! A server-side SPDY/3.1 connection. The reading side turns frames into stream events,
//! answering each SYN_STREAM with its SYN_REPLY at once (data on an unreplied stream is lost
//! to the Go client) and each PING with its echo. The writing side is one task that owns the
//! outgoing zlib context, so frames go out in the order they were queued. Nothing is written
//! before the client's first frame: the server only ever answers.
//!
//! Flow control: each DATA frame received is answered with a WINDOW_UPDATE for its size, so a
//! client that keeps to its window is never stalled; cricket does not wait on the client's
//! window when sending, as the Go peer neither sends nor honours WINDOW_UPDATE. Backpressure
//! comes from the bounded queues and the socket, and no data is ever dropped.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;

use super::frame::{decode, encode, Frame, FLAG_FIN};
use super::headers::{Deflater, Headers, Inflater};

/// What the client did.
#[derive(Debug)]
pub enum Event {
    /// A new stream (already replied to).
    Stream {
        id: u32,
        headers: Headers,
        fin: bool,
    },
    Data {
        id: u32,
        data: Bytes,
        fin: bool,
    },
    Reset {
        id: u32,
    },
}

enum Out {
    Reply(u32),
    Window { id: u32, delta: u32 },
    Data { id: u32, data: Bytes, fin: bool },
    Ping(u32),
    GoAway,
}

/// Queues frames for the connection's writer task; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Out>,
}

impl Writer {
    /// Sends `data` on stream `id` (in frames the client accepts), with FIN if `fin`.
    pub async fn data(&self, id: u32, data: Bytes, fin: bool) -> bool {
        self.tx.send(Out::Data { id, data, fin }).await.is_ok()
    }

    /// Ends the connection: GOAWAY, then the socket is shut.
    pub async fn go_away(&self) {
        let _ = self.tx.send(Out::GoAway).await;
    }
}

pub struct Connection<S> {
    reader: ReadHalf<S>,
    buf: BytesMut,
    inflater: Inflater,
    writer: Writer,
}

/// Largest DATA frame written.
const CHUNK: usize = 32 * 1024;

impl<S: AsyncRead + AsyncWrite + Send + 'static> Connection<S> {
    /// Starts the writer task over `io`.
    pub fn new(io: S) -> (Connection<S>, Writer) {
        let (reader, write_half) = tokio::io::split(io);
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(write_loop(write_half, rx));
        let writer = Writer { tx };
        (
            Connection {
                reader,
                buf: BytesMut::with_capacity(64 * 1024),
                inflater: Inflater::default(),
                writer: writer.clone(),
            },
            writer,
        )
    }

    async fn frame(&mut self) -> std::io::Result<Option<Frame>> {
        loop {
            if let Some(frame) = decode(&mut self.buf).map_err(std::io::Error::other)? {
                return Ok(Some(frame));
            }
            if self.reader.read_buf(&mut self.buf).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// The events, read on a task of their own: a caller may then wait on them alongside
    /// other things without ever cutting a frame in half.
    pub fn events(mut self) -> mpsc::Receiver<Event> {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Ok(Some(e)) = self.next().await {
                if tx.send(e).await.is_err() {
                    return;
                }
            }
        });
        rx
    }

    /// The next event; `Ok(None)` when the client went away (GOAWAY or end of file).
    pub async fn next(&mut self) -> std::io::Result<Option<Event>> {
        loop {
            let Some(frame) = self.frame().await? else { return Ok(None) };
            match frame {
                Frame::SynStream { stream_id, flags, header_block } => {
                    let headers =
                        self.inflater.read(&header_block).map_err(std::io::Error::other)?;
                    let _ = self.writer.tx.send(Out::Reply(stream_id)).await;
                    return Ok(Some(Event::Stream {
                        id: stream_id,
                        headers,
                        fin: flags & FLAG_FIN != 0,
                    }));
                }
                // Inflated only to keep the shared context in step.
                Frame::SynReply { header_block, .. } | Frame::Headers { header_block, .. } => {
                    self.inflater.read(&header_block).map_err(std::io::Error::other)?;
                }
                Frame::Data { stream_id, flags, data } => {
                    if !data.is_empty() {
                        let _ = self
                            .writer
                            .tx
                            .send(Out::Window { id: stream_id, delta: data.len() as u32 })
                            .await;
                    }
                    return Ok(Some(Event::Data {
                        id: stream_id,
                        data,
                        fin: flags & FLAG_FIN != 0,
                    }));
                }
                Frame::RstStream { stream_id, .. } => {
                    return Ok(Some(Event::Reset { id: stream_id }))
                }
                Frame::Ping { id } => {
                    let _ = self.writer.tx.send(Out::Ping(id)).await;
                }
                Frame::GoAway { .. } => return Ok(None),
                Frame::Settings | Frame::WindowUpdate { .. } | Frame::Unknown => {}
            }
        }
    }
}

async fn write_loop<S: AsyncWrite>(mut w: WriteHalf<S>, mut rx: mpsc::Receiver<Out>) {
    let mut deflater = Deflater::default();
    let mut out = BytesMut::new();
    let mut last_stream = 0;
    while let Some(item) = rx.recv().await {
        let mut end = false;
        match item {
            Out::Reply(id) => {
                last_stream = last_stream.max(id);
                encode(
                    &Frame::SynReply {
                        stream_id: id,
                        flags: 0,
                        header_block: deflater.write(&[]).into(),
                    },
                    &mut out,
                );
            }
            Out::Data { id, data, fin } => {
                let mut rest = data;
                loop {
                    let chunk = rest.split_to(rest.len().min(CHUNK));
                    let last = rest.is_empty();
                    encode(
                        &Frame::Data {
                            stream_id: id,
                            flags: if last && fin { FLAG_FIN } else { 0 },
                            data: chunk,
                        },
                        &mut out,
                    );
                    if last {
                        break;
                    }
                }
            }
            Out::Ping(id) => encode(&Frame::Ping { id }, &mut out),
            Out::Window { id, delta } => {
                encode(&Frame::WindowUpdate { stream_id: id, delta }, &mut out)
            }
            Out::GoAway => {
                encode(&Frame::GoAway { last_stream_id: last_stream, status: 0 }, &mut out);
                end = true;
            }
        }
        if w.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
        if end {
            let _ = w.shutdown().await;
            return;
        }
    }
}
