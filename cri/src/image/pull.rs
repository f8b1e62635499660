//! PullImage: one download per image however many ask at once, then the store learns the names.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::api::v1::{AuthConfig, PullImageRequest, PullImageResponse};
use base64::Engine;
use containerd_bridge::pull::{normalize, Credentials};
use containerd_bridge::ImageRecord;

use crate::context::Context;
use crate::error::{from_bridge, from_pull, Error};
use crate::labels;

pub(super) async fn pull_image(
    ctx: &Arc<Context>,
    req: PullImageRequest,
) -> Result<PullImageResponse, Error> {
    let reference = req.image.map(|i| i.image).unwrap_or_default();
    if reference.trim().is_empty() {
        return Err(Error::invalid("image.image", "the image reference is empty"));
    }
    let credentials = credentials(req.auth.as_ref())?;
    let normalized = normalize(&reference).map_err(|e| from_pull(&reference, e))?;
    // Pulls of one image with the same credentials share one download.
    let key = format!("{normalized}|{:x}", fingerprint(&credentials));
    let work_ctx = ctx.clone();
    let image_ref = ctx
        .pulls
        .run(key, async move { pull_and_record(&work_ctx, &reference, &credentials, false).await })
        .await?;
    Ok(PullImageResponse { image_ref })
}

/// Pulls `reference` into containerd and the image store; returns the image ID.
pub(crate) async fn pull_and_record(
    ctx: &Context,
    reference: &str,
    credentials: &Credentials,
    pinned: bool,
) -> Result<String, Error> {
    let mut record_labels = HashMap::from([(
        labels::IMAGE_MANAGED.to_string(),
        labels::IMAGE_MANAGED_VALUE.to_string(),
    )]);
    if pinned {
        record_labels
            .insert(labels::IMAGE_PINNED.to_string(), labels::IMAGE_PINNED_VALUE.to_string());
    }
    let started = std::time::Instant::now();
    let pulled = ctx.puller.pull(reference, credentials, &record_labels).await;
    // A pull frees megabytes of buffers at once; give them back rather than keep them.
    crate::sys::memory::release_free_memory();
    let pulled = pulled.map_err(|e| from_pull(reference, e))?;
    ctx.metrics.record_pull(pulled.downloaded_bytes, started.elapsed());
    let record = ImageRecord {
        name: pulled.names[0].clone(),
        target: pulled.target.clone(),
        labels: record_labels,
    };
    let details = ctx
        .containerd
        .image_details(&record)
        .await
        .map_err(|e| from_bridge("read the pulled image", e))?;
    for name in &pulled.names {
        ctx.images.add_record(name, &details, pinned || ctx.is_sandbox_image(name));
    }
    tracing::info!(image = %reference, id = %details.config_digest, "pulled");
    Ok(details.config_digest)
}

/// The registry credentials of a CRI `AuthConfig`.
pub(crate) fn credentials(auth: Option<&AuthConfig>) -> Result<Credentials, Error> {
    let Some(auth) = auth else { return Ok(Credentials::Anonymous) };
    if !auth.registry_token.is_empty() {
        return Ok(Credentials::Bearer(auth.registry_token.clone()));
    }
    if !auth.username.is_empty() || !auth.password.is_empty() {
        return Ok(Credentials::Basic {
            username: auth.username.clone(),
            password: auth.password.clone(),
        });
    }
    if !auth.auth.is_empty() {
        let bad = || Error::invalid("auth.auth", "not the base64 of \"username:password\"");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (username, password) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Credentials::Basic { username: username.into(), password: password.into() });
    }
    if !auth.identity_token.is_empty() {
        return Err(Error::Unimplemented(
            "auth.identity_token: identity (refresh) tokens are not supported; pass auth, username/password or registry_token".into(),
        ));
    }
    Ok(Credentials::Anonymous)
}

fn fingerprint(c: &Credentials) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> AuthConfig {
        AuthConfig::default()
    }

    #[test]
    fn each_kind_of_auth_config_becomes_credentials() {
        assert_eq!(credentials(None).unwrap(), Credentials::Anonymous);
        assert_eq!(credentials(Some(&auth())).unwrap(), Credentials::Anonymous);
        let basic = AuthConfig { username: "u".into(), password: "p".into(), ..auth() };
        assert_eq!(
            credentials(Some(&basic)).unwrap(),
            Credentials::Basic { username: "u".into(), password: "p".into() }
        );
        let encoded = AuthConfig { auth: "dTpwOnE=".into(), ..auth() }; // "u:p:q"
        assert_eq!(
            credentials(Some(&encoded)).unwrap(),
            Credentials::Basic { username: "u".into(), password: "p:q".into() }
        );
        let token = AuthConfig { registry_token: "t".into(), ..auth() };
        assert_eq!(credentials(Some(&token)).unwrap(), Credentials::Bearer("t".into()));
    }

    #[test]
    fn bad_auth_names_the_field() {
        let e = credentials(Some(&AuthConfig { auth: "***".into(), ..auth() })).unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().starts_with("auth.auth"));
        let e =
            credentials(Some(&AuthConfig { identity_token: "x".into(), ..auth() })).unwrap_err();
        assert!(e.message().starts_with("auth.identity_token"));
    }
}
