//! Connecting to `localhost:<port>` inside a pod's network namespace, for port-forward: on a
//! dedicated OS thread that enters the namespace (a namespace belongs to a thread, so no
//! runtime thread may be moved), IPv4 first, then IPv6. A socket keeps the namespace it was
//! made in, so the connection is used from any thread afterwards.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn connect_local(port: u16) -> std::io::Result<TcpStream> {
    let v4 =
        TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), CONNECT_TIMEOUT);
    v4.or_else(|e4| {
        TcpStream::connect_timeout(&SocketAddr::from((Ipv6Addr::LOCALHOST, port)), CONNECT_TIMEOUT)
            .map_err(|_| e4)
    })
}

fn enter(netns: &Path) -> std::io::Result<()> {
    crate::sys::namespace::enter_net(netns)
}

/// Connects to `localhost:port` in the namespace pinned at `netns` (empty: the node's own,
/// for host-network pods).
pub async fn dial(netns: &str, port: u16) -> std::io::Result<tokio::net::TcpStream> {
    let netns = PathBuf::from(netns);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("cricket-dial".into()).spawn(move || {
        let result = if netns.as_os_str().is_empty() {
            connect_local(port)
        } else {
            enter(&netns).and_then(|()| connect_local(port))
        };
        let _ = tx.send(result);
    })?;
    let stream = rx.await.map_err(|_| std::io::Error::other("the dialing thread died"))??;
    stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(stream)
}
