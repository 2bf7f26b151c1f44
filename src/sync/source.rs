//! Where a device syncs from: [`Source::parse`] takes `https://` / `http://` (a CDN or any web server in front
//! of a store; the URL is the store's root), `file://DIR` (a store folder, read directly) or
//! `s3://BUCKET/PREFIX` (through the publish stage's [`Store`]). Keys are the store's (`SET/current.json`).

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use super::download::{self, Failure, Fetch, Opened};
use super::{ByteProgress, DownloadOptions, DownloadReport, Expected, SyncError, io_error};
use crate::publish::{Store, StoreError, check_key, open_with_endpoint};

/// A store to sync from.
pub enum Source {
    /// A web server or CDN in front of a store.
    Http(HttpSource),
    /// A local store folder.
    File(FileSource),
    /// An S3 store.
    Store(StoreSource),
}

/// An `http://` or `https://` source.
pub struct HttpSource {
    /// The root URL, without a trailing `/`.
    base: String,
    /// The root URL without credentials, for messages.
    shown: String,
    agent: ureq::Agent,
}

/// A `file://DIR` source.
pub struct FileSource {
    root: PathBuf,
}

/// An `s3://` source.
pub struct StoreSource {
    store: Box<dyn Store>,
}

impl Source {
    /// The source a URL names; `endpoint` overrides an `s3://` store's (S3-compatible servers).
    pub fn parse(url: &str, endpoint: Option<&str>) -> Result<Source, SyncError> {
        let bad = |detail: &str| SyncError::BadUrl { url: redact(url), detail: detail.to_owned() };
        if let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) {
            if rest.is_empty() || rest.starts_with('/') {
                return Err(bad("no host"));
            }
            if rest.contains(['?', '#']) {
                return Err(bad("a source URL has no query or fragment"));
            }
            let base = url.trim_end_matches('/').to_owned();
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .user_agent(concat!("tilepress/", env!("CARGO_PKG_VERSION")))
                .build()
                .into();
            return Ok(Source::Http(HttpSource { shown: redact(&base), base, agent }));
        }
        if let Some(dir) = url.strip_prefix("file://") {
            if dir.is_empty() {
                return Err(bad("no folder"));
            }
            if !Path::new(dir).is_dir() {
                return Err(bad("no such folder"));
            }
            return Ok(Source::File(FileSource { root: PathBuf::from(dir) }));
        }
        if url.starts_with("s3://") {
            return Ok(Source::Store(StoreSource { store: open_with_endpoint(url, endpoint)? }));
        }
        Err(bad("unsupported source (expected https://, http://, file://DIR or s3://BUCKET/PREFIX)"))
    }

    /// The source's URL, without credentials.
    pub fn describe(&self) -> String {
        match self {
            Source::Http(h) => h.shown.clone(),
            Source::File(f) => format!("file://{}", f.root.display()),
            Source::Store(s) => s.store.location(),
        }
    }

    /// The URL of `key` in this source, without credentials, for messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("{}/{key}", self.describe().trim_end_matches('/'))
    }

    /// A small object whole (the pointer, a version record): `None` if absent, [`SyncError::TooLarge`] over
    /// `max_bytes`. Network errors and 5xx are retried as a download's are (default [`DownloadOptions`]).
    pub fn get_small(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, SyncError> {
        check_key(key)?;
        match self {
            Source::Http(h) => h.get_small(key, max_bytes, &DownloadOptions::default()),
            Source::File(f) => {
                let path = f.root.join(key);
                let url = format!("file://{}", path.display());
                let file = match File::open(&path) {
                    Ok(file) => file,
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_error(&path, e)),
                };
                let mut data = Vec::new();
                file.take(max_bytes.saturating_add(1)).read_to_end(&mut data).map_err(|e| io_error(&path, e))?;
                if data.len() as u64 > max_bytes {
                    return Err(SyncError::TooLarge { url, max: max_bytes });
                }
                Ok(Some(data))
            }
            Source::Store(s) => match s.store.get(key, max_bytes) {
                Ok(found) => Ok(found.map(|(data, _)| data)),
                Err(StoreError::TooLarge { .. }) => {
                    Err(SyncError::TooLarge { url: format!("{}/{key}", s.store.location()), max: max_bytes })
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Downloads `key` into `dest` through `dest.part` (resumable; see the `download` module), checked
    /// against `expect`; `progress` is called after every chunk.
    pub fn download(
        &self,
        key: &str,
        dest: &Path,
        expect: &Expected,
        opts: &DownloadOptions,
        progress: &mut dyn FnMut(ByteProgress),
    ) -> Result<DownloadReport, SyncError> {
        check_key(key)?;
        match self {
            Source::Http(h) => {
                let fetch = HttpFetch {
                    source: h,
                    request_url: format!("{}/{key}", h.base),
                    shown: format!("{}/{key}", h.shown),
                };
                download::download(&fetch, dest, expect, opts, progress)
            }
            Source::File(f) => {
                let path = f.root.join(key);
                let fetch = FileFetch { url: format!("file://{}", path.display()), path };
                download::download(&fetch, dest, expect, opts, progress)
            }
            Source::Store(s) => s.download(key, dest, expect, progress),
        }
    }
}

impl HttpSource {
    fn get_small(&self, key: &str, max: u64, opts: &DownloadOptions) -> Result<Option<Vec<u8>>, SyncError> {
        let (url, shown) = (format!("{}/{key}", self.base), format!("{}/{key}", self.shown));
        let mut failures = 0;
        loop {
            let detail = match request(&self.agent, &url, opts, &[]) {
                Ok(mut response) => match response.status().as_u16() {
                    200 => {
                        if content_length(&response).is_some_and(|n| n > max) {
                            return Err(SyncError::TooLarge { url: shown, max });
                        }
                        let mut data = Vec::new();
                        match response.body_mut().as_reader().take(max.saturating_add(1)).read_to_end(&mut data) {
                            Ok(_) if data.len() as u64 > max => return Err(SyncError::TooLarge { url: shown, max }),
                            Ok(_) => return Ok(Some(data)),
                            Err(e) => format!("reading the body: {e}"),
                        }
                    }
                    404 | 410 => return Ok(None),
                    status if retryable(status) => format!("HTTP status {status}"),
                    status => return Err(SyncError::Http { url: shown, status }),
                },
                Err(ureq::Error::BadUri(detail)) => return Err(SyncError::BadUrl { url: shown, detail }),
                Err(e) => e.to_string(),
            };
            failures += 1;
            if failures > opts.retries {
                return Err(SyncError::Network { url: shown, detail, attempts: failures });
            }
            std::thread::sleep(download::backoff(opts.backoff_base, failures));
        }
    }
}

/// One GET with the download's timeouts and extra headers.
fn request(
    agent: &ureq::Agent,
    url: &str,
    opts: &DownloadOptions,
    headers: &[(&str, String)],
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let t = Some(opts.timeout);
    let mut req = agent
        .get(url)
        .config()
        .timeout_resolve(t)
        .timeout_connect(t)
        .timeout_send_request(t)
        .timeout_recv_response(t)
        .timeout_per_read(t)
        .build();
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.call()
}

fn retryable(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn content_length(response: &ureq::http::Response<ureq::Body>) -> Option<u64> {
    header(response, "content-length").and_then(|v| v.trim().parse().ok())
}

/// `bytes START-END/TOTAL` (or `bytes */TOTAL`) → (start, total).
fn content_range(value: &str) -> Option<(Option<u64>, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let total = total.trim().parse().ok();
    let start = if range.trim() == "*" { None } else { Some(range.split_once('-')?.0.trim().parse().ok()?) };
    Some((start, total))
}

struct HttpFetch<'a> {
    source: &'a HttpSource,
    /// The URL requested (it may carry credentials) and the one shown in messages.
    request_url: String,
    shown: String,
}

impl Fetch for HttpFetch<'_> {
    fn url(&self) -> &str {
        &self.shown
    }

    fn open(&self, offset: u64, if_range: Option<&str>, opts: &DownloadOptions) -> Result<Opened, Failure> {
        let mut headers = Vec::new();
        if offset > 0 {
            headers.push(("Range", format!("bytes={offset}-")));
            if let Some(v) = if_range {
                headers.push(("If-Range", v.to_owned()));
            }
        }
        let response = match request(&self.source.agent, &self.request_url, opts, &headers) {
            Ok(r) => r,
            Err(ureq::Error::BadUri(detail)) => {
                return Err(Failure::Fatal(SyncError::BadUrl { url: self.shown.clone(), detail }));
            }
            Err(e) => return Err(Failure::Retry(e.to_string())),
        };
        let etag = header(&response, "etag");
        match response.status().as_u16() {
            200 => Ok(Opened::Whole {
                size: content_length(&response),
                last_modified: header(&response, "last-modified"),
                etag,
                body: Box::new(response.into_body().into_reader()),
            }),
            206 => {
                let range = header(&response, "content-range").and_then(|v| content_range(&v));
                let Some((Some(start), total)) = range else {
                    return Err(Failure::Retry("a 206 without a usable Content-Range".to_owned()));
                };
                Ok(Opened::Rest { start, total, etag, body: Box::new(response.into_body().into_reader()) })
            }
            416 => {
                let total = header(&response, "content-range").and_then(|v| content_range(&v)).and_then(|r| r.1);
                Ok(Opened::Done { total })
            }
            404 | 410 => Err(Failure::Fatal(SyncError::NotFound { url: self.shown.clone() })),
            status if retryable(status) => Err(Failure::Retry(format!("HTTP status {status}"))),
            status => Err(Failure::Fatal(SyncError::Http { url: self.shown.clone(), status })),
        }
    }
}

/// A local file, resumed like a 206 while its size and modification time (its "ETag") stay the same.
struct FileFetch {
    path: PathBuf,
    url: String,
}

impl Fetch for FileFetch {
    fn url(&self) -> &str {
        &self.url
    }

    fn open(&self, offset: u64, if_range: Option<&str>, _opts: &DownloadOptions) -> Result<Opened, Failure> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Failure::Fatal(SyncError::NotFound { url: self.url.clone() }));
            }
            Err(e) => return Err(Failure::Fatal(io_error(&self.path, e))),
        };
        let meta = file.metadata().map_err(|e| Failure::Fatal(io_error(&self.path, e)))?;
        let mtime = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).unwrap_or(Duration::ZERO);
        let tag = format!("\"{:x}-{:x}\"", meta.len(), mtime.as_nanos());
        if offset > 0 && if_range == Some(tag.as_str()) {
            if offset >= meta.len() {
                return Ok(Opened::Done { total: Some(meta.len()) });
            }
            file.seek(SeekFrom::Start(offset)).map_err(|e| Failure::Fatal(io_error(&self.path, e)))?;
            return Ok(Opened::Rest { body: Box::new(file), start: offset, total: Some(meta.len()), etag: Some(tag) });
        }
        Ok(Opened::Whole { body: Box::new(file), size: Some(meta.len()), etag: Some(tag), last_modified: None })
    }
}

impl StoreSource {
    /// A whole-object get into the part file (the store's SDK retries on its own), then the same checks.
    fn download(
        &self,
        key: &str,
        dest: &Path,
        expect: &Expected,
        progress: &mut dyn FnMut(ByteProgress),
    ) -> Result<DownloadReport, SyncError> {
        let started = std::time::Instant::now();
        let url = format!("{}/{key}", self.store.location());
        let mut part = super::part::Part::open(dest, &url, expect)?;
        part.restart(None, None)?;
        let mut sink = Progressing { inner: part.writer(), done: 0, total: expect.bytes, progress };
        let found = self.store.read_into(key, &mut sink);
        let fetched = sink.done;
        match found {
            Ok(true) => {}
            Ok(false) => {
                part.discard();
                return Err(SyncError::NotFound { url });
            }
            Err(e) => {
                part.discard();
                return Err(e.into());
            }
        }
        part.finish(&url, expect)?;
        Ok(DownloadReport {
            bytes_fetched: fetched,
            seconds: started.elapsed().as_secs_f64(),
            ..DownloadReport::default()
        })
    }
}

struct Progressing<'a, W> {
    inner: W,
    done: u64,
    total: u64,
    progress: &'a mut dyn FnMut(ByteProgress),
}

impl<W: std::io::Write> std::io::Write for Progressing<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.done += n as u64;
        (self.progress)(ByteProgress { done: self.done, total: self.total });
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A URL without any `user:password@` part.
fn redact(url: &str) -> String {
    match url.find("://") {
        Some(scheme) => {
            let rest = &url[scheme + 3..];
            let host_end = rest.find('/').unwrap_or(rest.len());
            match rest[..host_end].rfind('@') {
                Some(at) => format!("{}://{}", &url[..scheme], &rest[at + 1..]),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_and_shown_without_credentials() {
        let s = Source::parse("https://user:secret@cdn.example.com/tiles/", None).expect("https");
        assert_eq!(s.describe(), "https://cdn.example.com/tiles");
        for bad in ["ftp://x/y", "https://", "https:///x", "https://h/x?sig=1", "file://", "file:///no/such/dir/x"] {
            assert!(matches!(Source::parse(bad, None), Err(SyncError::BadUrl { .. })), "{bad}");
        }
        assert!(matches!(s.get_small("../etc/passwd", 10), Err(SyncError::Store(StoreError::UnsafeKey { .. }))));
    }

    #[test]
    fn content_ranges() {
        assert_eq!(content_range("bytes 100-199/1000"), Some((Some(100), Some(1000))));
        assert_eq!(content_range("bytes */1000"), Some((None, Some(1000))));
        assert_eq!(content_range("bytes 5-9/*"), Some((Some(5), None)));
        assert_eq!(content_range("items 1-2/3"), None);
    }
}
