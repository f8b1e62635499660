//! Image references as the CRI receives them, normalised the Docker way
//! (`busybox` → `docker.io/library/busybox:latest`).

use oci_client::Reference;

use super::error::PullError;

/// Parses and normalises `input`.
pub fn normalize(input: &str) -> Result<Reference, PullError> {
    let invalid = |detail: String| PullError::InvalidReference { reference: input.to_string(), detail };
    if input.trim().is_empty() {
        return Err(invalid("empty".into()));
    }
    let reference: Reference = input.parse().map_err(|e| invalid(format!("{e}")))?;
    if reference.repository().chars().any(|c| c.is_ascii_uppercase()) {
        return Err(invalid("repository names must be lowercase".into()));
    }
    Ok(reference)
}

/// `registry/repository:tag`, when the reference names a tag and no digest.
pub fn tag_name(r: &Reference) -> Option<String> {
    match (r.tag(), r.digest()) {
        (Some(tag), None) => Some(format!("{}/{}:{tag}", r.registry(), r.repository())),
        _ => None,
    }
}

/// `registry/repository@digest`.
pub fn digest_name(r: &Reference, digest: &str) -> String {
    format!("{}/{}@{digest}", r.registry(), r.repository())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_become_docker_hub_names() {
        let r = normalize("busybox").unwrap();
        assert_eq!(tag_name(&r).unwrap(), "docker.io/library/busybox:latest");
        assert_eq!(digest_name(&r, "sha256:ab"), "docker.io/library/busybox@sha256:ab");
        let r = normalize("127.0.0.1:5000/e2e/bb:1").unwrap();
        assert_eq!(tag_name(&r).unwrap(), "127.0.0.1:5000/e2e/bb:1");
    }

    #[test]
    fn a_digest_reference_has_no_tag_name() {
        let d = format!("registry.k8s.io/pause@sha256:{}", "a".repeat(64));
        assert_eq!(tag_name(&normalize(&d).unwrap()), None);
    }

    #[test]
    fn malformed_references_are_named() {
        for bad in ["", "  ", "a b", "UPPER/case", "x:tag:more", "registry.k8s.io/pause@sha256:short"] {
            match normalize(bad) {
                Err(PullError::InvalidReference { reference, .. }) => assert_eq!(reference, bad),
                other => panic!("{bad:?} -> {other:?}"),
            }
        }
    }
}
