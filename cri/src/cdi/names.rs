//! Fully qualified CDI device names, `vendor.com/class=name`, and the spec kinds
//! (`vendor.com/class`) they start with, checked by the rules of the CDI specification.

/// `vendor.com/class=name` split at its separators, each part checked.
pub fn parse_qualified(qualified: &str) -> Result<(&str, &str), String> {
    let (kind, name) = qualified.split_once('=').ok_or_else(|| {
        format!("{qualified:?} is not a qualified CDI name (vendor.com/class=name)")
    })?;
    check_kind(kind)?;
    check_name(name).map_err(|e| format!("{qualified:?}: {e}"))?;
    Ok((kind, name))
}

/// A spec's `kind`, `vendor.com/class`.
pub fn check_kind(kind: &str) -> Result<(), String> {
    let (vendor, class) =
        kind.split_once('/').ok_or_else(|| format!("kind {kind:?} is not vendor.com/class"))?;
    check_part("vendor", vendor, |c| c.is_ascii_alphanumeric() || "-_.".contains(c), true)
        .and_then(|_| {
            check_part("class", class, |c| c.is_ascii_alphanumeric() || "-_".contains(c), true)
        })
        .map_err(|e| format!("kind {kind:?}: {e}"))
}

/// A device's own name within its spec.
pub fn check_name(name: &str) -> Result<(), String> {
    check_part("device name", name, |c| c.is_ascii_alphanumeric() || "-_.:".contains(c), false)
}

/// Starts with a letter (a digit too, unless `letter_first`), ends with a letter or digit,
/// and holds only `allowed` characters.
fn check_part(
    what: &str,
    s: &str,
    allowed: impl Fn(char) -> bool,
    letter_first: bool,
) -> Result<(), String> {
    let first_ok =
        |c: char| if letter_first { c.is_ascii_alphabetic() } else { c.is_ascii_alphanumeric() };
    match (s.chars().next(), s.chars().last()) {
        (None, _) | (_, None) => Err(format!("empty {what}")),
        (Some(f), _) if !first_ok(f) => Err(format!("{what} {s:?} starts with {f:?}")),
        (_, Some(l)) if !l.is_ascii_alphanumeric() => Err(format!("{what} {s:?} ends with {l:?}")),
        _ => match s.chars().find(|c| !allowed(*c)) {
            Some(bad) => Err(format!("{what} {s:?} holds {bad:?}")),
            None => Ok(()),
        },
    }
}
