//! A test client for cricket's WebSocket streaming transport: connects to an Exec URL with a
//! channel subprotocol, sends on channels, and collects everything until the server closes.

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens `url` (an `http://` streaming URL) offering `protocol`.
pub async fn connect(url: &str, protocol: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let ws_url = url.replacen("http://", "ws://", 1);
    let host = ws_url.trim_start_matches("ws://").split('/').next().unwrap().to_string();
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let tcp = tokio::net::TcpStream::connect(host).await.map_err(tokio_tungstenite::tungstenite::Error::Io)?;
    Ok(tokio_tungstenite::client_async(request, tcp).await?.0)
}

/// Sends `data` on `channel` (binary framing).
pub async fn send(ws: &mut Ws, channel: u8, data: &[u8]) {
    let mut framed = vec![channel];
    framed.extend_from_slice(data);
    ws.send(Message::Binary(framed.into())).await.unwrap();
}

/// Everything received per channel until the server closes (binary framing).
pub async fn collect(ws: &mut Ws) -> std::collections::BTreeMap<u8, Vec<u8>> {
    let mut got = std::collections::BTreeMap::new();
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Binary(data) = message {
            if let Some((channel, rest)) = data.split_first() {
                got.entry(*channel).or_insert_with(Vec::new).extend_from_slice(rest);
            }
        }
    }
    got
}
