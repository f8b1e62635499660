//! Image references as the CRI receives them, normalised the Docker way
//! (`busybox` → `docker.io/library/busybox:latest`).
//!
//! Parsed here by hand after the distribution grammar, not with `Reference::from_str`: that
//! one compiles a Unicode-aware regex which stays resident at about 5 MiB, a third of what
//! cricket needs in all (measured with heaptrack).

use oci_client::Reference;

use super::error::PullError;

const DOCKER_HUB: &str = "docker.io";
const NAME_MAX: usize = 255;

/// `[a-z0-9]+` joined by `.`, `_`, `__` or any run of `-`.
fn path_component(c: &str) -> bool {
    let mut rest = c;
    loop {
        let end = rest
            .find(|ch: char| !(ch.is_ascii_lowercase() || ch.is_ascii_digit()))
            .unwrap_or(rest.len());
        if end == 0 {
            return false;
        }
        rest = &rest[end..];
        if rest.is_empty() {
            return true;
        }
        let sep = rest
            .find(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
            .unwrap_or(rest.len());
        let separator = &rest[..sep];
        if !(separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-'))
        {
            return false;
        }
        rest = &rest[sep..];
    }
}

/// `host[:port]`, each host label alphanumeric with inner dashes.
fn domain(d: &str) -> bool {
    let (host, port) = d.split_once(':').unwrap_or((d, ""));
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    host.split('.').all(label)
        && (d.find(':').is_none() || (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())))
}

fn tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    t.len() <= 128
        && t.bytes().next().is_some_and(word)
        && t.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

fn digest(d: &str) -> Result<(), String> {
    let (algorithm, hex) = d.split_once(':').ok_or("a digest is algorithm:hex")?;
    let want = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        other => return Err(format!("unsupported digest algorithm {other:?}")),
    };
    if hex.len() != want || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("a {algorithm} digest has {want} hex digits"));
    }
    Ok(())
}

/// Parses and normalises `input`.
pub fn normalize(input: &str) -> Result<Reference, PullError> {
    let invalid = |detail: &str| PullError::InvalidReference {
        reference: input.to_string(),
        detail: detail.to_string(),
    };
    if input.trim().is_empty() {
        return Err(invalid("empty"));
    }
    let (rest, digest_part) = match input.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (input, None),
    };
    if let Some(d) = digest_part {
        digest(d).map_err(|e| invalid(&e))?;
    }
    let (name, tag_part) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if tag_part.is_some_and(|t| !tag(t)) {
        return Err(invalid("a tag is up to 128 of [A-Za-z0-9_.-], not starting with . or -"));
    }
    let (mut registry, mut repository) = match name.split_once('/') {
        Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
            if !domain(first) {
                return Err(invalid("malformed registry host"));
            }
            (first.to_string(), path.to_string())
        }
        _ => (DOCKER_HUB.to_string(), name.to_string()),
    };
    if registry == "index.docker.io" {
        registry = DOCKER_HUB.to_string();
    }
    if !repository.split('/').all(path_component) {
        return Err(invalid(
            "repository path components are lowercase [a-z0-9] joined by . _ __ or -",
        ));
    }
    if registry == DOCKER_HUB && !repository.contains('/') {
        repository = format!("library/{repository}");
    }
    if repository.len() > NAME_MAX {
        return Err(invalid("the repository name is longer than 255"));
    }
    Ok(match (tag_part, digest_part) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t.into(), d.into())
        }
        (None, Some(d)) => Reference::with_digest(registry, repository, d.into()),
        (t, None) => Reference::with_tag(registry, repository, t.unwrap_or("latest").into()),
    })
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
    fn the_distribution_grammar_and_dockers_normalisation() {
        let d = format!("sha256:{}", "a".repeat(64));
        let cases = [
            ("busybox:1.36", "docker.io/library/busybox:1.36"),
            ("index.docker.io/user/app", "docker.io/user/app:latest"),
            ("localhost/app", "localhost/app:latest"),
            ("localhost:5000/a/b-c__d.e:v1_2.3-x", "localhost:5000/a/b-c__d.e:v1_2.3-x"),
            (
                "my-registry.example.com:443/team/app:tag",
                "my-registry.example.com:443/team/app:tag",
            ),
        ];
        for (input, whole) in cases {
            assert_eq!(normalize(input).unwrap().whole(), whole, "{input}");
        }
        let both = normalize(&format!("quay.io/a/b:1@{d}")).unwrap();
        assert_eq!((both.tag(), both.digest()), (Some("1"), Some(d.as_str())));
        let only = normalize(&format!("b@{d}")).unwrap();
        assert_eq!(
            (only.registry(), only.repository(), only.tag()),
            ("docker.io", "library/b", None)
        );
    }

    #[test]
    fn agrees_with_the_regex_parser_of_oci_spec() {
        let d = "a".repeat(64);
        let corpus = [
            "a__b",
            "a___b",
            "a--b",
            "a.-b",
            "a..b",
            "a_b.c-d",
            "Ab/c",
            "EXAMPLE.com/x",
            "ex-.com/x",
            "1.2.3.4:5/x",
            "x/y/z:t",
            "x:",
            "x@",
            ":t",
            "a/B",
            "a:t@sha256:",
            "localhost:99/a",
            "a.b/c/d/e:f",
            "host:5000",
            "host:5000/x:_t",
        ];
        let extra = [format!("a@sha256:{d}"), format!("a:1@sha512:{d}{d}"), format!("a@md5:{d}")];
        for input in corpus.iter().map(|s| s.to_string()).chain(extra) {
            let ours = normalize(&input).map(|r| r.whole()).ok();
            let theirs = input
                .parse::<Reference>()
                .ok()
                .filter(|r| !r.repository().chars().any(|c| c.is_ascii_uppercase()))
                .map(|r| r.whole());
            assert_eq!(ours, theirs, "{input}");
        }
    }

    #[test]
    fn a_digest_reference_has_no_tag_name() {
        let d = format!("registry.k8s.io/pause@sha256:{}", "a".repeat(64));
        assert_eq!(tag_name(&normalize(&d).unwrap()), None);
    }

    #[test]
    fn malformed_references_are_named() {
        for bad in [
            "",
            "  ",
            "a b",
            "UPPER/case",
            "x:tag:more",
            "registry.k8s.io/pause@sha256:short",
            "a//b",
            "a/-b",
            "host.io:port/x",
            "x:.tag",
            "-x.io/y",
        ] {
            match normalize(bad) {
                Err(PullError::InvalidReference { reference, .. }) => assert_eq!(reference, bad),
                other => panic!("{bad:?} -> {other:?}"),
            }
        }
    }
}
