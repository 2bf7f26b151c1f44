//! One object into a local file, whatever the link does: into `DEST.part` (see `part.rs`), resumed from the
//! bytes on disk after a drop or a restart, retried with exponential backoff and jitter while no progress is
//! made, throttled to `--limit-rate`, and checked against its expected size and SHA-256 before it is renamed
//! into place. The transfer itself is a [`Fetch`]: HTTP or a local file (`source.rs`).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use super::SyncError;
use super::part::Part;
use super::rate::Throttle;

/// Most backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Restarts from byte 0 because the object changed, before a download gives up with [`SyncError::Changed`].
const MAX_CHANGES: u32 = 3;
/// Read size when not throttled.
const CHUNK: usize = 64 * 1024;

/// What the downloaded object must be (from the version record or pointer that names it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Lowercase hex SHA-256 of the whole object.
    pub sha256: String,
    pub bytes: u64,
}

/// How a download behaves on a bad link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Bytes per second at most (`--limit-rate`, see [`super::parse_rate`]); `None` = as fast as it goes.
    pub limit_rate: Option<u64>,
    /// Consecutive failed attempts without progress before giving up (an attempt that got bytes resets it).
    pub retries: u32,
    /// Connect, response and per-read timeout: a stalled link fails the attempt after this long.
    pub timeout: Duration,
    /// The first backoff; it doubles with each failure in a row, up to 10 s, with jitter.
    pub backoff_base: Duration,
}

impl Default for DownloadOptions {
    fn default() -> DownloadOptions {
        DownloadOptions {
            limit_rate: None,
            retries: 10,
            timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(200),
        }
    }
}

/// What one [`super::Source::download`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DownloadReport {
    /// Bytes received over the wire (or read from the source) in this run.
    pub bytes_fetched: u64,
    /// Bytes of an earlier run's part file that this run kept (0 if it started afresh).
    pub resumed_from: u64,
    /// Requests that went on from bytes already on disk (answered 206, or 416 when all were there).
    pub resumes: u32,
    /// Failed attempts that were retried.
    pub retries: u32,
    pub seconds: f64,
}

/// Where a download stands, for progress bars; reported after every chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteProgress {
    pub done: u64,
    pub total: u64,
}

/// What a source answered to one request for the object from `offset`.
pub(crate) enum Opened {
    /// The object from byte 0 (a 200: the range was ignored, or its If-Range failed).
    Whole { body: Box<dyn Read>, size: Option<u64>, etag: Option<String>, last_modified: Option<String> },
    /// The object from byte `start` of `total` (a 206).
    Rest { body: Box<dyn Read>, start: u64, total: Option<u64>, etag: Option<String> },
    /// Nothing from `offset` on (a 416); `total` is the object's size if the source said.
    Done { total: Option<u64> },
}

/// Why a request failed: worth another attempt, or not.
pub(crate) enum Failure {
    Retry(String),
    Fatal(SyncError),
}

/// One way to ask for an object from an offset.
pub(crate) trait Fetch {
    /// The object's URL, without credentials.
    fn url(&self) -> &str;
    /// Asks for the object from `offset`; `if_range` is the validator the part's bytes came with.
    fn open(&self, offset: u64, if_range: Option<&str>, opts: &DownloadOptions) -> Result<Opened, Failure>;
}

/// Downloads through `fetch` into `dest` (see the module comment).
pub(crate) fn download(
    fetch: &dyn Fetch,
    dest: &Path,
    expect: &Expected,
    opts: &DownloadOptions,
    progress: &mut dyn FnMut(ByteProgress),
) -> Result<DownloadReport, SyncError> {
    let started = Instant::now();
    let url = fetch.url().to_owned();
    let mut part = Part::open(dest, &url, expect)?;
    let mut report = DownloadReport::default();
    let mut throttle = opts.limit_rate.map(Throttle::new);
    let (mut attempts, mut failures, mut changes) = (0u32, 0u32, 0u32);
    let mut first = true;
    loop {
        attempts += 1;
        let offset = part.len();
        let validator = part.sidecar.validator().map(str::to_owned);
        let opened = fetch.open(offset, if offset > 0 { validator.as_deref() } else { None }, opts);
        let was_first = std::mem::replace(&mut first, false);
        let body = match opened {
            Err(Failure::Fatal(e)) => {
                if matches!(e, SyncError::NotFound { .. }) {
                    part.discard();
                } else {
                    part.sync();
                }
                return Err(e);
            }
            Err(Failure::Retry(detail)) => {
                failures += 1;
                retry_or_give_up(&mut part, &url, detail, attempts, failures, opts, &mut report)?;
                continue;
            }
            Ok(Opened::Done { total }) => {
                if offset == expect.bytes && total.is_none_or(|t| t == offset) {
                    report.resumes += 1;
                    if was_first {
                        report.resumed_from = offset;
                    }
                    break;
                }
                // The object is shorter than the part: it changed.
                changed(&mut part, &url, &mut changes)?;
                continue;
            }
            Ok(Opened::Whole { body, size, etag, last_modified }) => {
                if let Some(size) = size.filter(|&s| s != expect.bytes) {
                    part.discard();
                    return Err(SyncError::Verify {
                        url,
                        expected: format!("{} bytes", expect.bytes),
                        found: format!("{size} bytes"),
                    });
                }
                part.restart(etag, last_modified)?;
                body
            }
            Ok(Opened::Rest { body, start, total, etag }) => {
                let same = start == offset
                    && total.is_none_or(|t| t == expect.bytes)
                    && !matches!((&etag, &part.sidecar.etag), (Some(a), Some(b)) if a != b);
                if !same {
                    changed(&mut part, &url, &mut changes)?;
                    continue;
                }
                report.resumes += 1;
                if was_first {
                    report.resumed_from = offset;
                }
                body
            }
        };
        let at_start = part.len();
        match copy_body(body, &mut part, expect, &url, throttle.as_mut(), progress) {
            Ok(()) => {
                report.bytes_fetched += part.len() - at_start;
                break;
            }
            Err(Failure::Fatal(e)) => {
                return Err(e);
            }
            Err(Failure::Retry(detail)) => {
                report.bytes_fetched += part.len() - at_start;
                failures = if part.len() > at_start { 1 } else { failures + 1 };
                retry_or_give_up(&mut part, &url, detail, attempts, failures, opts, &mut report)?;
            }
        }
    }
    part.finish(&url, expect)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Copies a body into the part until it holds `expect.bytes`; a body that ends early or fails is a retry.
fn copy_body(
    mut body: Box<dyn Read>,
    part: &mut Part,
    expect: &Expected,
    url: &str,
    mut throttle: Option<&mut Throttle>,
    progress: &mut dyn FnMut(ByteProgress),
) -> Result<(), Failure> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let want = throttle.as_ref().map_or(CHUNK, |t| t.chunk().min(CHUNK));
        let n = match body.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Failure::Retry(format!("reading the body: {e}"))),
        };
        if n == 0 {
            return if part.len() == expect.bytes {
                Ok(())
            } else {
                Err(Failure::Retry(format!("the body ended after {} of {} bytes", part.len(), expect.bytes)))
            };
        }
        if part.len() + n as u64 > expect.bytes {
            return Err(Failure::Fatal(SyncError::Verify {
                url: url.to_owned(),
                expected: format!("{} bytes", expect.bytes),
                found: "more bytes".to_owned(),
            }));
        }
        part.append(&buf[..n]).map_err(Failure::Fatal)?;
        progress(ByteProgress { done: part.len(), total: expect.bytes });
        if let Some(t) = throttle.as_mut() {
            t.take(n);
        }
    }
}

/// The object changed under the part: start over, unless that has happened too often.
fn changed(part: &mut Part, url: &str, changes: &mut u32) -> Result<(), SyncError> {
    *changes += 1;
    if *changes > MAX_CHANGES {
        part.sync();
        return Err(SyncError::Changed { url: url.to_owned() });
    }
    part.restart(None, None)
}

/// Sleeps before the next attempt, or gives up with [`SyncError::Network`] after `opts.retries` failures in
/// a row without progress (the part is kept for a later run).
fn retry_or_give_up(
    part: &mut Part,
    url: &str,
    detail: String,
    attempts: u32,
    failures: u32,
    opts: &DownloadOptions,
    report: &mut DownloadReport,
) -> Result<(), SyncError> {
    if failures > opts.retries {
        part.sync();
        return Err(SyncError::Network { url: url.to_owned(), detail, attempts });
    }
    report.retries += 1;
    tracing::debug!(url, attempt = attempts, "{detail}; retrying");
    std::thread::sleep(backoff(opts.backoff_base, failures));
    Ok(())
}

/// The wait before retry number `failures` (from 1): `base` doubling, at most [`MAX_BACKOFF`], then a random
/// share between half and all of it.
pub(crate) fn backoff(base: Duration, failures: u32) -> Duration {
    let full = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16)).min(MAX_BACKOFF);
    full.mul_f64(0.5 + 0.5 * jitter())
}

/// A number in [0, 1), different on every call (a fresh `RandomState` is randomly seeded).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(200);
        for _ in 0..50 {
            let first = backoff(base, 1);
            assert!(first >= Duration::from_millis(100) && first <= base, "{first:?}");
            let fourth = backoff(base, 4);
            assert!(fourth >= Duration::from_millis(800) && fourth <= Duration::from_millis(1600), "{fourth:?}");
            assert!(backoff(base, 30) <= MAX_BACKOFF);
        }
    }
}
