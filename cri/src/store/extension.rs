//! An object's immutable metadata as a containerd container extension: JSON under a type URL
//! of cricket's own, so recovery rebuilds the store from containerd alone.

use prost_types::Any;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub fn encode<M: Serialize>(type_url: &str, meta: &M) -> Any {
    // Metadata is plain structs of strings, numbers and maps: serializing cannot fail.
    Any { type_url: type_url.into(), value: serde_json::to_vec(meta).unwrap_or_default() }
}

/// The metadata, if `any` holds this type and decodes.
pub fn decode<M: DeserializeOwned>(type_url: &str, any: &Any) -> Option<M> {
    (any.type_url == type_url).then(|| serde_json::from_slice(&any.value).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn metadata_round_trips_under_its_own_type_only() {
        let meta = BTreeMap::from([("id".to_string(), "abc".to_string())]);
        let any = encode("cricket.dev/Test/v1", &meta);
        assert_eq!(decode::<BTreeMap<String, String>>("cricket.dev/Test/v1", &any), Some(meta));
        assert_eq!(decode::<BTreeMap<String, String>>("cricket.dev/Other/v1", &any), None);
    }
}
