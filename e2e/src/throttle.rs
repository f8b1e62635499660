//! A TCP proxy on 127.0.0.1 that slows the upstream's answers down, so that a test can catch
//! an image pull in the middle.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Starts the proxy to `upstream` (host:port), passing at most `bytes_per_second` downstream;
/// returns its `127.0.0.1:<port>`. It lives as long as the test's runtime.
pub async fn start(upstream: String, bytes_per_second: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    relay(client, server, bytes_per_second).await;
                }
            });
        }
    });
    address
}

async fn relay(client: TcpStream, server: TcpStream, bytes_per_second: usize) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    // Ten slices a second, each at most a tenth of the rate.
    let slice = (bytes_per_second / 10).max(1);
    let mut buf = vec![0u8; slice];
    loop {
        match server_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if client_write.write_all(&buf[..n]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    up.abort();
}
