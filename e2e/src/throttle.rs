//! A TCP proxy on 127.0.0.1 that slows the upstream's answers down, so that a test can catch
//! an image pull in the middle.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts the proxy to `upstream` (host:port), passing at most `bytes_per_second` downstream;
/// returns its `127.0.0.1:<port>`. It lives as long as the test's runtime.
pub async fn start(upstream: String, bytes_per_second: usize) -> String {
    start_with(upstream, bytes_per_second, usize::MAX).await
}

/// Like [`start`], but each connection goes silent (open, sending nothing) after
/// `stall_after` bytes of the answer.
pub async fn start_with(upstream: String, bytes_per_second: usize, stall_after: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    relay(client, server, bytes_per_second, stall_after).await;
                }
            });
        }
    });
    address
}

async fn relay(client: TcpStream, server: TcpStream, bytes_per_second: usize, stall_after: usize) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    // Ten slices a second, each at most a tenth of the rate.
    let slice = (bytes_per_second / 10).max(1);
    let mut buf = vec![0u8; slice];
    let mut sent = 0usize;
    loop {
        let room = stall_after.saturating_sub(sent).min(slice);
        if room == 0 {
            // Silent but open, like a registry that hangs mid-blob.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            break;
        }
        match server_read.read(&mut buf[..room]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                sent += n;
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    up.abort();
}
