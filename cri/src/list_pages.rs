//! The streaming lists of CRI 1.36 (StreamPodSandboxes, StreamContainers, StreamImages and
//! the stats and metrics ones): the same matches as the unary list, turned into messages a
//! page at a time as the client reads them. A page holds at most [`PAGE_ITEMS`] items or
//! about [`PAGE_BYTES`] encoded, and one page is built while the client holds the previous,
//! so a list of any length costs about two pages of memory instead of the whole answer.

use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

/// Items in a page, at most.
pub const PAGE_ITEMS: usize = 100;
/// Encoded bytes after which a page is sent even if it has room for more items.
pub const PAGE_BYTES: usize = 1 << 20;

/// What a streaming list RPC answers with.
pub type PageStream<R> = Pin<Box<dyn futures::Stream<Item = Result<R, Status>> + Send>>;

/// Streams `matches` as pages: each item becomes a message through `convert` when its page
/// is built, and `wrap` makes the response of a page. An empty list is a stream of no pages.
pub fn pages<S, T, R>(
    matches: Vec<S>,
    convert: impl Fn(&S) -> Option<T> + Send + 'static,
    wrap: impl Fn(Vec<T>) -> R + Send + 'static,
) -> PageStream<R>
where
    S: Send + 'static,
    T: prost::Message + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut page = Vec::new();
        let mut bytes = 0;
        for source in matches {
            let Some(item) = convert(&source) else { continue };
            bytes += item.encoded_len();
            page.push(item);
            if page.len() >= PAGE_ITEMS || bytes >= PAGE_BYTES {
                bytes = 0;
                if tx.send(Ok(wrap(std::mem::take(&mut page)))).await.is_err() {
                    return; // The client went away.
                }
            }
        }
        if !page.is_empty() {
            let _ = tx.send(Ok(wrap(page))).await;
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn items_arrive_in_order_in_bounded_pages() {
        let collect = |n: u64| async move {
            let stream = pages((0..n).collect(), |i| (i % 7 != 3).then_some(*i), |v| v);
            stream.map(|p| p.unwrap()).collect::<Vec<_>>().await
        };
        let got = collect(250).await;
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![100, 100, 14]);
        let flat: Vec<u64> = got.concat();
        assert_eq!(flat, (0..250).filter(|i| i % 7 != 3).collect::<Vec<_>>());
        assert!(collect(0).await.is_empty());
        // Large items: the byte bound closes a page before the item bound.
        let big = pages(vec![0u8; 5], |_| Some(vec![1u8; 400 << 10]), |v| v.len());
        let sizes: Vec<usize> = big.map(|p| p.unwrap()).collect().await;
        assert_eq!(sizes, vec![3, 2]);
    }
}
