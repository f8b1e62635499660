//! A test client for cricket's WebSocket streaming transport: connects to an Exec URL with a
//! channel subprotocol, sends on channels, and collects everything until the server closes.

use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// Opens `url` (an `http://` streaming URL) offering `protocol`.
pub async fn connect(
    url: &str,
    protocol: &str,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    Ok(connect_offering(url, Some(protocol)).await?.0)
}

/// Opens `url` offering `protocol`, or no subprotocol at all; with the one the server chose
/// (empty when its answer names none).
pub async fn connect_offering(
    url: &str,
    protocol: Option<&str>,
) -> Result<(Ws, String), tokio_tungstenite::tungstenite::Error> {
    let ws_url = url.replacen("http://", "ws://", 1);
    let host = ws_url.trim_start_matches("ws://").split('/').next().unwrap().to_string();
    let mut request = ws_url.into_client_request()?;
    if let Some(protocol) = protocol {
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    }
    let tcp = tokio::net::TcpStream::connect(host)
        .await
        .map_err(tokio_tungstenite::tungstenite::Error::Io)?;
    let (ws, response) = tokio_tungstenite::client_async(request, tcp).await?;
    let chosen = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok((ws, chosen))
}

/// Sends `data` on `channel` in the base64 framing: the channel as an ASCII digit, then the
/// data in base64, as a text message.
pub async fn send_base64(ws: &mut Ws, channel: u8, data: &[u8]) {
    use base64::Engine;
    let text = format!(
        "{}{}",
        (b'0' + channel) as char,
        base64::engine::general_purpose::STANDARD.encode(data)
    );
    ws.send(Message::Text(text.into())).await.unwrap();
}

/// Everything received per channel until the server closes (base64 framing).
pub async fn collect_base64(ws: &mut Ws) -> std::collections::BTreeMap<u8, Vec<u8>> {
    use base64::Engine;
    let mut got = std::collections::BTreeMap::new();
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Text(text) = message {
            let Some((&first, rest)) = text.as_bytes().split_first() else {
                continue;
            };
            let data = base64::engine::general_purpose::STANDARD.decode(rest).expect("base64 data");
            got.entry(first - b'0').or_insert_with(Vec::new).extend_from_slice(&data);
        }
    }
    got
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
    let mut close = None;
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Binary(data) => {
                if let Some((channel, rest)) = data.split_first() {
                    got.entry(*channel).or_insert_with(Vec::new).extend_from_slice(rest);
                }
            }
            Message::Close(frame) => close = Some(frame.map(|f| u16::from(f.code))),
            _ => {}
        }
    }
    // kubelet's clients take anything but a normal closure (1000) for a failed session.
    assert_eq!(close, Some(Some(1000)), "the session ends with a normal close");
    got
}
