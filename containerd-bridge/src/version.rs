//! The version containerd reports, and which of them cricket runs on.
//!
//! Releases report "v2.4.2" or "1.7.27"; distributions add suffixes ("1.6.20~ds1"), and builds
//! without a version stamp report "2.4.2+unknown". Everything cricket calls (containers, tasks,
//! content, images, snapshots, diff, leases, events, introspection) has the same shape on 1.6,
//! 1.7 and 2.x; what differs is behaviour, such as 2.x deleting a task whose processes died
//! while it was down before any client can read the exit.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerdVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// Whether cricket runs on a containerd version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// A current release line.
    Supported,
    /// Works, but its release line has reached its end of life upstream.
    EndOfLife,
    /// Older than 1.6: the runc v2 shim's task API and the events cricket needs differ.
    TooOld,
    /// A major version after 2: not tested.
    Untested,
}

impl ContainerdVersion {
    /// Parses a reported version; `None` when it does not start with `[v]major.minor`.
    pub fn parse(reported: &str) -> Option<ContainerdVersion> {
        let text = reported.trim().trim_start_matches('v');
        let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let mut numbers = text[..end].split('.').map(str::parse::<u32>);
        let major = numbers.next()?.ok()?;
        let minor = numbers.next()?.ok()?;
        let patch = numbers.next().and_then(Result::ok).unwrap_or(0);
        Some(ContainerdVersion { major, minor, patch })
    }

    pub fn support(self) -> Support {
        match (self.major, self.minor) {
            (0, _) | (1, 0..=5) => Support::TooOld,
            (1, 6) => Support::EndOfLife,
            (1, _) | (2, _) => Support::Supported,
            _ => Support::Untested,
        }
    }
}

impl fmt::Display for ContainerdVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_versions_parse() {
        let v = |major, minor, patch| Some(ContainerdVersion { major, minor, patch });
        assert_eq!(ContainerdVersion::parse("v2.4.2"), v(2, 4, 2));
        assert_eq!(ContainerdVersion::parse("1.6.20~ds1"), v(1, 6, 20));
        assert_eq!(ContainerdVersion::parse("2.4.2+unknown"), v(2, 4, 2));
        assert_eq!(ContainerdVersion::parse("1.7"), v(1, 7, 0));
        assert_eq!(ContainerdVersion::parse("devel"), None);
        assert_eq!(ContainerdVersion::parse(""), None);
    }

    #[test]
    fn support_follows_the_release_lines() {
        let support = |s: &str| ContainerdVersion::parse(s).unwrap().support();
        assert_eq!(support("1.5.18"), Support::TooOld);
        assert_eq!(support("1.6.20~ds1"), Support::EndOfLife);
        assert_eq!(support("1.7.27"), Support::Supported);
        assert_eq!(support("v2.4.2"), Support::Supported);
        assert_eq!(support("v3.0.0"), Support::Untested);
    }
}
