//! The image store: one entry per image ID (config digest) with every name that points at it.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use crate::locks::RwLockExt;
use containerd_bridge::pull::{digest_name, normalize, tag_name};
use containerd_bridge::ImageDetails;

/// An image as the CRI sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageEntry {
    /// The config digest; `Image.id` and `image_ref` everywhere.
    pub id: String,
    pub repo_tags: BTreeSet<String>,
    pub repo_digests: BTreeSet<String>,
    /// containerd image record names pointing at this image.
    pub records: BTreeSet<String>,
    pub size: u64,
    /// From the config's `User`: a numeric user, or a name.
    pub uid: Option<i64>,
    pub username: String,
    pub pinned: bool,
    /// The image config JSON.
    pub config: Arc<Vec<u8>>,
}

impl ImageEntry {
    /// The tag a container of this image is shown by: the name its creator gave, when that
    /// is one of this image's tags (one image often has several), else its first tag.
    pub fn tag_for(&self, named: &str) -> Option<String> {
        let named = normalize(named).ok().and_then(|r| tag_name(&r));
        named
            .filter(|n| self.repo_tags.contains(n))
            .or_else(|| self.repo_tags.iter().next().cloned())
    }
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, ImageEntry>,
    /// Record name → image ID.
    by_name: HashMap<String, String>,
}

#[derive(Default)]
pub struct ImageStore {
    inner: RwLock<Inner>,
}

/// Splits an image config `User` (`uid`, `uid:gid`, `name`, `name:group`) into uid or name.
pub fn user_of(config: &[u8]) -> (Option<i64>, String) {
    let value: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    let user = value["config"]["User"].as_str().unwrap_or_default();
    let user = user.split(':').next().unwrap_or_default();
    match user.parse::<i64>() {
        _ if user.is_empty() => (None, String::new()),
        Ok(uid) => (Some(uid), String::new()),
        Err(_) => (None, user.to_string()),
    }
}

impl ImageStore {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.reading()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.writing()
    }

    /// Records that containerd's image record `name` points at the image `details`.
    pub fn add_record(&self, name: &str, details: &ImageDetails, pinned: bool) {
        let mut inner = self.write();
        if let Some(old) = inner.by_name.get(name).cloned() {
            if old != details.config_digest {
                remove_name(&mut inner, name);
            }
        }
        let (uid, username) = user_of(&details.config);
        let entry =
            inner.by_id.entry(details.config_digest.clone()).or_insert_with(|| ImageEntry {
                id: details.config_digest.clone(),
                repo_tags: BTreeSet::new(),
                repo_digests: BTreeSet::new(),
                records: BTreeSet::new(),
                size: details.size,
                uid,
                username,
                pinned: false,
                config: Arc::new(details.config.clone()),
            });
        entry.pinned |= pinned;
        entry.records.insert(name.to_string());
        if name.contains("@sha256:") {
            entry.repo_digests.insert(name.to_string());
        } else if !name.starts_with("sha256:") {
            entry.repo_tags.insert(name.to_string());
        }
        inner.by_name.insert(name.to_string(), details.config_digest.clone());
    }

    /// Forgets one record name (its image goes with its last name).
    pub fn remove_record(&self, name: &str) {
        remove_name(&mut self.write(), name);
    }

    /// Whether a record of this exact name is known.
    pub fn has_record(&self, name: &str) -> bool {
        self.read().by_name.contains_key(name)
    }

    /// Forgets an image and all its names.
    pub fn remove(&self, id: &str) -> Option<ImageEntry> {
        let mut inner = self.write();
        let entry = inner.by_id.remove(id)?;
        for name in &entry.records {
            inner.by_name.remove(name);
        }
        Some(entry)
    }

    /// Replaces the whole content (after a rebuild from containerd).
    pub fn replace_all(&self, other: ImageStore) {
        let other = std::mem::take(&mut *other.write());
        *self.write() = other;
    }

    /// Every record name the store knows.
    pub fn record_names(&self) -> Vec<String> {
        self.read().by_name.keys().cloned().collect()
    }

    pub fn list(&self) -> Vec<ImageEntry> {
        let mut all: Vec<ImageEntry> = self.read().by_id.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Finds an image by any reference: a record name, a tag or digest reference in any
    /// normalisable form, the image ID, or an unambiguous prefix of the ID.
    pub fn resolve(&self, reference: &str) -> Option<ImageEntry> {
        let inner = self.read();
        let by_name =
            |name: &str| inner.by_name.get(name).and_then(|id| inner.by_id.get(id)).cloned();
        if let Some(found) = by_name(reference) {
            return Some(found);
        }
        let hex = reference.trim_start_matches("sha256:");
        if hex.len() >= 3 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            let mut matches = inner
                .by_id
                .values()
                .filter(|e| e.id.trim_start_matches("sha256:").starts_with(hex));
            if let (Some(only), None) = (matches.next(), matches.next()) {
                return Some(only.clone());
            }
        }
        let normalized = normalize(reference).ok()?;
        let name = match normalized.digest() {
            Some(d) => digest_name(&normalized, d),
            None => tag_name(&normalized)?,
        };
        by_name(&name)
    }
}

fn remove_name(inner: &mut Inner, name: &str) {
    let Some(id) = inner.by_name.remove(name) else { return };
    let Some(entry) = inner.by_id.get_mut(&id) else { return };
    entry.records.remove(name);
    entry.repo_tags.remove(name);
    entry.repo_digests.remove(name);
    if entry.records.is_empty() {
        inner.by_id.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(id: &str, user: &str) -> ImageDetails {
        ImageDetails {
            manifest_digest: "sha256:m".into(),
            config_digest: id.into(),
            config: format!(r#"{{"config":{{"User":"{user}"}}}}"#).into_bytes(),
            size: 42,
            layers: vec![],
        }
    }

    const ID: &str = "sha256:3b8e95950dea4fad9df08dbae1f8246720ca0e52afd1a21a00c7883e0e53f70c";

    #[test]
    fn any_reference_finds_the_image() {
        let store = ImageStore::default();
        store.add_record("docker.io/library/busybox:latest", &details(ID, ""), false);
        store.add_record("docker.io/library/busybox@sha256:aa", &details(ID, ""), false);
        for r in [
            "busybox",
            "busybox:latest",
            "docker.io/library/busybox:latest",
            ID,
            "3b8e95950dea",
            "sha256:3b8e9",
        ] {
            assert_eq!(store.resolve(r).map(|e| e.id), Some(ID.to_string()), "{r}");
        }
        assert!(store.resolve("busybox:2").is_none());
        let e = store.resolve("busybox").unwrap();
        assert_eq!(e.repo_tags.iter().collect::<Vec<_>>(), ["docker.io/library/busybox:latest"]);
        assert_eq!(
            e.repo_digests.iter().collect::<Vec<_>>(),
            ["docker.io/library/busybox@sha256:aa"]
        );
    }

    #[test]
    fn two_tags_of_one_image_are_one_entry_and_retagging_moves_a_name() {
        let store = ImageStore::default();
        store.add_record("r/a:1", &details(ID, ""), false);
        store.add_record("r/a:2", &details(ID, ""), false);
        assert_eq!(store.list().len(), 1);
        store.add_record("r/a:2", &details("sha256:other", ""), false);
        assert_eq!(store.list().len(), 2);
        assert_eq!(store.resolve("r/a:1").unwrap().repo_tags.len(), 1);
        assert!(store.remove(ID).is_some());
        assert!(store.resolve("r/a:1").is_none());
        assert_eq!(store.resolve("r/a:2").unwrap().id, "sha256:other");
    }

    #[test]
    fn a_container_is_shown_by_the_tag_it_was_created_by() {
        let store = ImageStore::default();
        store.add_record("registry.example/a:1", &details(ID, ""), false);
        store.add_record("registry.example/a:2", &details(ID, ""), false);
        store.add_record("registry.example/a@sha256:aa", &details(ID, ""), false);
        let e = store.resolve(ID).unwrap();
        assert_eq!(e.tag_for("registry.example/a:2").as_deref(), Some("registry.example/a:2"));
        // An ID, a digest or a name the image no longer has: its first tag.
        for named in [ID, "registry.example/a@sha256:aa", "registry.example/a:3", ""] {
            assert_eq!(e.tag_for(named).as_deref(), Some("registry.example/a:1"), "{named}");
        }
        let untagged = ImageStore::default();
        untagged.add_record("registry.example/a@sha256:aa", &details(ID, ""), false);
        assert_eq!(untagged.resolve(ID).unwrap().tag_for("registry.example/a:1"), None);
    }

    #[test]
    fn an_ambiguous_id_prefix_finds_nothing() {
        let store = ImageStore::default();
        store.add_record("a", &details("sha256:abc1", ""), false);
        store.add_record("b", &details("sha256:abc2", ""), false);
        assert!(store.resolve("abc").is_none());
        assert_eq!(store.resolve("abc2").unwrap().id, "sha256:abc2");
    }

    #[test]
    fn users_become_uid_or_name() {
        assert_eq!(user_of(br#"{"config":{"User":"1000:1000"}}"#), (Some(1000), String::new()));
        assert_eq!(user_of(br#"{"config":{"User":"nobody"}}"#), (None, "nobody".to_string()));
        assert_eq!(user_of(br#"{"config":{}}"#), (None, String::new()));
        assert_eq!(user_of(b"junk"), (None, String::new()));
    }
}
