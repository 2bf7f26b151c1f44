//! The Prometheus text exposition (format 0.0.4) shared by every metrics file: families with HELP and TYPE
//! once, counters carried forward from the previous file, and the temp-file-then-rename write.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// A metric family: name, type (`gauge`, `counter`), help.
pub type Family = (&'static str, &'static str, &'static str);

/// What one kind of metrics file exports.
pub struct Exposition {
    pub families: &'static [Family],
    /// Families whose values in the previous file are added to this run's (the `_total` counters).
    pub carried: &'static [&'static str],
    /// Families whose previous value stands when this run sets none (the last-success timestamp).
    pub kept: &'static [&'static str],
}

/// Samples keyed by (family index, `name{labels}`), so that they render in family order, then label order.
pub type Samples = BTreeMap<(usize, String), f64>;

impl Exposition {
    /// The index of family `name` (a programming error if unknown: caught by the tests in debug builds).
    pub fn index(&self, name: &str) -> Option<usize> {
        let index = self.families.iter().position(|(n, _, _)| *n == name);
        debug_assert!(index.is_some(), "unknown metric {name}");
        index
    }

    /// The text of `samples`, with the carried and kept series of `previous` (an earlier file's text) merged in.
    pub fn render(&self, samples: &Samples, previous: Option<&str>) -> String {
        let mut samples = samples.clone();
        for (key, value) in previous.map(parse_samples).unwrap_or_default() {
            let family = key.split('{').next().unwrap_or_default();
            let Some(index) = self.families.iter().position(|(n, _, _)| *n == family) else { continue };
            if self.carried.contains(&family) {
                *samples.entry((index, key)).or_insert(0.0) += value;
            } else if self.kept.contains(&family) {
                samples.entry((index, key)).or_insert(value);
            }
        }
        let mut out = String::new();
        let mut current = usize::MAX;
        for ((index, key), value) in &samples {
            if *index != current {
                let (name, kind, help) = self.families[*index];
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                current = *index;
            }
            let _ = writeln!(out, "{key} {value}");
        }
        out
    }

    /// Writes the metrics file: the previous file's carried series merged in, written to a temp file beside it
    /// and renamed into place (a collector never reads half a file).
    pub fn write_file(&self, samples: &Samples, path: &Path) -> std::io::Result<()> {
        let previous = std::fs::read_to_string(path).ok();
        let text = self.render(samples, previous.as_deref());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        std::fs::write(&temp, text)?;
        std::fs::rename(&temp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
    }
}

/// `name{labels} value` lines of a text exposition (comments and malformed lines are ignored).
pub fn parse_samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// A label value, escaped for the text format.
pub fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
