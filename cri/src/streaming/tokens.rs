//! The single-use tokens in streaming URLs: random (128 bits), valid for a minute, taken once,
//! and bounded in number so that callers who never connect cannot grow cricket without end.

use crate::locks::MutexExt;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a URL stays valid.
pub const TTL: Duration = Duration::from_secs(60);
/// How many URLs may be outstanding.
pub const MAX_OUTSTANDING: usize = 1000;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TokenError {
    #[error("{MAX_OUTSTANDING} streaming requests are outstanding; try again later")]
    Full,
    #[error("no randomness for a token: {0}")]
    Random(String),
}

pub struct Tokens<T> {
    entries: Mutex<HashMap<String, (Instant, T)>>,
    ttl: Duration,
}

impl<T> Default for Tokens<T> {
    fn default() -> Self {
        Tokens { entries: Mutex::default(), ttl: TTL }
    }
}

fn random_token() -> Result<String, TokenError> {
    crate::sys::random::hex(16).map_err(|e| TokenError::Random(e.to_string()))
}

impl<T> Tokens<T> {
    #[cfg(test)]
    fn with_ttl(ttl: Duration) -> Self {
        Tokens { entries: Mutex::default(), ttl }
    }

    /// Stores `item` under a new token.
    pub fn insert(&self, item: T) -> Result<String, TokenError> {
        let token = random_token()?;
        let mut entries = self.entries.locked();
        let now = Instant::now();
        entries.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
        if entries.len() >= MAX_OUTSTANDING {
            return Err(TokenError::Full);
        }
        entries.insert(token.clone(), (now, item));
        Ok(token)
    }

    /// The item of a valid token, which is used up by this.
    pub fn take(&self, token: &str) -> Option<T> {
        let mut entries = self.entries.locked();
        let (at, item) = entries.remove(token)?;
        (at.elapsed() < self.ttl).then_some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_random_single_use_and_expires() {
        let tokens = Tokens::default();
        let (a, b) = (tokens.insert(1).unwrap(), tokens.insert(2).unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32, "128 bits, hex");
        assert_eq!(tokens.take(&a), Some(1));
        assert_eq!(tokens.take(&a), None, "used up");
        assert_eq!(tokens.take("unknown"), None);
        let short = Tokens::with_ttl(Duration::from_millis(10));
        let t = short.insert(3).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(short.take(&t), None, "expired");
    }

    #[test]
    fn outstanding_tokens_are_bounded_and_expired_ones_make_room() {
        // Long enough that none expires while the table fills on a loaded machine (CI saw
        // 30 ms run out in a debug build).
        let ttl = Duration::from_secs(1);
        let tokens = Tokens::with_ttl(ttl);
        let filling = std::time::Instant::now();
        for i in 0..MAX_OUTSTANDING {
            tokens.insert(i).unwrap();
        }
        assert!(filling.elapsed() < ttl, "filling took {:?}", filling.elapsed());
        assert_eq!(tokens.insert(0), Err(TokenError::Full));
        std::thread::sleep(ttl + Duration::from_millis(50));
        assert!(tokens.insert(0).is_ok(), "expired tokens were dropped");
    }
}
