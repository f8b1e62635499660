//! Pressure stall information (PSI) of a cgroup v2 directory: `cpu.pressure`,
//! `memory.pressure` and `io.pressure`, each a `some` line (time at least one task stalled)
//! and a `full` line (time all tasks stalled) with 10, 60 and 300 second averages in percent
//! and a total in microseconds. cgroup v1 has no such files, so a v1 sample has no PSI.

use std::path::Path;

use crate::api::v1::{PsiData, PsiStats};

/// One line of a pressure file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    pub total_us: u64,
}

/// A pressure file: `full` is absent where the kernel has none (the root's cpu.pressure).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Psi {
    pub some: PsiLine,
    pub full: Option<PsiLine>,
}

/// The three resources' pressure, each present if its file was readable.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pressure {
    pub cpu: Option<Psi>,
    pub memory: Option<Psi>,
    pub io: Option<Psi>,
}

impl Pressure {
    /// Reads the pressure files of the v2 cgroup `dir`.
    pub fn read(dir: &Path) -> Pressure {
        let at = |name: &str| std::fs::read_to_string(dir.join(name)).ok().and_then(|t| parse(&t));
        Pressure { cpu: at("cpu.pressure"), memory: at("memory.pressure"), io: at("io.pressure") }
    }
}

/// Parses a pressure file; `None` if it has no `some` line.
pub fn parse(text: &str) -> Option<Psi> {
    let mut psi = Psi::default();
    let mut some = false;
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let kind = words.next();
        let mut l = PsiLine::default();
        for word in words {
            let (key, value) = word.split_once('=')?;
            match key {
                "avg10" => l.avg10 = value.parse().ok()?,
                "avg60" => l.avg60 = value.parse().ok()?,
                "avg300" => l.avg300 = value.parse().ok()?,
                "total" => l.total_us = value.parse().ok()?,
                _ => {}
            }
        }
        match kind {
            Some("some") => (psi.some, some) = (l, true),
            Some("full") => psi.full = Some(l),
            _ => {}
        }
    }
    some.then_some(psi)
}

fn data(l: &PsiLine) -> PsiData {
    PsiData { total: l.total_us * 1000, avg10: l.avg10, avg60: l.avg60, avg300: l.avg300 }
}

/// The CRI's form: totals in nanoseconds, averages in percent.
pub fn to_cri(p: &Psi) -> PsiStats {
    PsiStats { some: Some(data(&p.some)), full: p.full.as_ref().map(data) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_files_of_a_v2_cgroup() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cgroup-v2");
        let p = Pressure::read(&dir);
        let cpu = p.cpu.unwrap();
        assert_eq!(
            cpu.some,
            PsiLine { avg10: 1.5, avg60: 0.75, avg300: 0.25, total_us: 2_500_000 }
        );
        assert_eq!(p.memory.unwrap().full.unwrap().total_us, 3000);
        let io = to_cri(&p.io.unwrap());
        assert_eq!(io.some.unwrap().total, 7_000_000_000, "nanoseconds");
        assert_eq!(io.full.unwrap().avg10, 10.0);
        let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cgroup-v1/memory");
        assert_eq!(Pressure::read(&v1), Pressure::default(), "no files on v1");
        let root_cpu = parse("some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n").unwrap();
        assert_eq!((root_cpu.some.total_us, root_cpu.full), (5, None));
        assert_eq!(parse("garbage"), None);
        assert_eq!(parse("some avg10=x total=1"), None);
    }
}
