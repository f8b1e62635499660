//! The shape every in-memory store shares: records by ID (found by full ID or unambiguous
//! prefix, as crictl allows), listed oldest first, and the names reserved for them.

use crate::locks::{MutexExt, RwLockExt};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

/// What a store keeps.
pub trait Record: Clone {
    fn id(&self) -> &str;
    fn created_at_ns(&self) -> i64;
}

pub struct Store<T> {
    items: RwLock<HashMap<String, T>>,
    names: Mutex<HashMap<String, String>>,
}

impl<T> Default for Store<T> {
    fn default() -> Self {
        Store { items: RwLock::default(), names: Mutex::default() }
    }
}

impl<T: Record> Store<T> {
    /// Reserves `key` for `id`; the current holder's ID if it is taken.
    pub fn reserve_name(&self, key: &str, id: &str) -> Result<(), String> {
        let mut names = self.names.locked();
        match names.get(key) {
            Some(holder) if holder != id => Err(holder.clone()),
            _ => {
                names.insert(key.to_string(), id.to_string());
                Ok(())
            }
        }
    }

    pub fn release_name(&self, key: &str, id: &str) {
        let mut names = self.names.locked();
        if names.get(key).map(String::as_str) == Some(id) {
            names.remove(key);
        }
    }

    pub fn insert(&self, item: T) {
        self.items.writing().insert(item.id().to_string(), item);
    }

    pub fn remove(&self, id: &str) -> Option<T> {
        self.items.writing().remove(id)
    }

    /// Whether a record has exactly this ID (no prefix matching).
    pub fn contains(&self, id: &str) -> bool {
        self.items.reading().contains_key(id)
    }

    /// Runs `f` on the record with exactly this ID, without copying it.
    pub fn read<R>(&self, id: &str, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.items.reading().get(id).map(f)
    }

    /// By full ID or unambiguous ID prefix.
    pub fn get(&self, id: &str) -> Option<T> {
        let all = self.items.reading();
        if let Some(s) = all.get(id) {
            return Some(s.clone());
        }
        if id.is_empty() {
            return None;
        }
        let mut found = all.values().filter(|s| s.id().starts_with(id));
        match (found.next(), found.next()) {
            (Some(only), None) => Some(only.clone()),
            _ => None,
        }
    }

    /// Runs `f` on the record with exactly this ID.
    pub fn modify<R>(&self, id: &str, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let mut all = self.items.writing();
        all.get_mut(id).map(f)
    }

    /// Every record, oldest first.
    pub fn list(&self) -> Vec<T> {
        self.select(|_| true)
    }

    /// Copies of the records `keep` selects, oldest first: only those are copied.
    pub fn select(&self, keep: impl Fn(&T) -> bool) -> Vec<T> {
        self.map(|r| keep(r).then(|| r.clone()))
    }

    /// What `f` makes of each record it takes, oldest first, read in place: lists and the
    /// stats sampler run on every record often, and copying a record copies its config.
    pub fn map<U>(&self, mut f: impl FnMut(&T) -> Option<U>) -> Vec<U> {
        let mut made: Vec<(i64, U)> = self
            .items
            .reading()
            .values()
            .filter_map(|r| Some((r.created_at_ns(), f(r)?)))
            .collect();
        made.sort_by_key(|(created, _)| *created);
        made.into_iter().map(|(_, u)| u).collect()
    }
}
