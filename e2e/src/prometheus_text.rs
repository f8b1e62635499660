//! A reader for the Prometheus / OpenMetrics text format, enough to check what an endpoint
//! serves: every sample line as name, labels and value; `# TYPE` lines as name → type.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
    pub ends_with_eof: bool,
}

fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) =
            rest.split_once("=\"").ok_or_else(|| format!("label without =\": {rest:?}"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => value.push(
                    chars.next().map(|(_, c)| if c == 'n' { '\n' } else { c }).unwrap_or('\\'),
                ),
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("unterminated label value: {after:?}")),
            }
        };
        labels.insert(key.trim_start_matches(',').to_string(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    Ok(labels)
}

/// A sample line's series and value, after any label set (whose values may hold spaces)
/// and without a trailing timestamp.
fn split_sample(line: &str) -> Option<(&str, &str)> {
    let series_end = match line.find('{') {
        Some(_) => line.rfind('}')? + 1,
        None => line.find(' ')?,
    };
    let (series, rest) = line.split_at(series_end);
    Some((series, rest.split_whitespace().next()?))
}

pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if line == "# EOF" {
            out.ends_with_eof = true;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) =
                rest.split_once(' ').ok_or_else(|| format!("bad TYPE line {line:?}"))?;
            out.types.insert(name.to_string(), kind.to_string());
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        // `<series> <value>`, or `<series> <value> <timestamp>` (kubelet's samples carry one).
        let (series, value) = split_sample(line).ok_or_else(|| format!("no value in {line:?}"))?;
        let value: f64 = value.parse().map_err(|_| format!("bad value in {line:?}"))?;
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (
                name,
                parse_labels(
                    labels
                        .strip_suffix('}')
                        .ok_or_else(|| format!("unclosed labels in {line:?}"))?,
                )?,
            ),
            None => (series, BTreeMap::new()),
        };
        out.samples.push(Sample { name: name.to_string(), labels, value });
    }
    Ok(out)
}

impl Exposition {
    /// The value of the sample named `name` whose labels include `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_types_and_escapes() {
        let text = "# HELP a_total Things.\n# TYPE a counter\na_total{m=\"x\",code=\"O\\\"k\"} 3\nb 1.5\n# EOF\n";
        let e = parse(text).unwrap();
        assert_eq!(e.types["a"], "counter");
        assert_eq!(e.value("a_total", &[("code", "O\"k")]), Some(3.0));
        assert_eq!(e.value("b", &[]), Some(1.5));
        assert!(e.ends_with_eof);
        assert!(parse("a{x=\"1\" 2\n").is_err());
    }

    #[test]
    fn a_trailing_timestamp_is_not_the_value() {
        let e = parse("c{pod=\"a b\"} 0.07 1796183486159\nd 4 1796183486159\n").unwrap();
        assert_eq!(e.value("c", &[("pod", "a b")]), Some(0.07));
        assert_eq!(e.value("d", &[]), Some(4.0));
    }
}
