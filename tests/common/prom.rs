//! Reading metrics files in the tests: `promtool check metrics`, and one sample's value.

use std::path::Path;
use std::process::Command;

/// Fails the test unless `promtool check metrics` accepts the file.
pub fn promtool_check(path: &Path) {
    let out = Command::new("promtool")
        .arg("check")
        .arg("metrics")
        .stdin(std::fs::File::open(path).expect("metrics file"))
        .output()
        .expect("promtool (make test-deps installs Debian's prometheus package)");
    assert!(
        out.status.success(),
        "promtool check metrics {}:\n{}{}",
        path.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The value of the one sample whose line starts with `prefix` (`name{labels`).
pub fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit_once(' ')).and_then(|(_, v)| v.parse().ok())
}
