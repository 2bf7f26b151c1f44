//! A small static-file HTTP server for the sync tests (and later `serve`): it serves a folder (a `file://`
//! store) on a loopback port with single `Range` requests (206 + Content-Range, 416), a strong `ETag` (the
//! content's SHA-256), `Last-Modified` and `If-Range`. Knobs, changed while it runs: drop the connection after
//! every N body bytes, throttle to B bytes/s, answer 503 to the next K requests, stop (connection refused).
//! Counters: requests, body bytes sent, range requests. One request per connection (`Connection: close`).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Knobs and counters, shared with the serving threads.
#[derive(Default)]
pub struct Knobs {
    /// Close the connection after this many body bytes of each response (0: never).
    pub drop_every: AtomicU64,
    /// Body bytes per second (0: unthrottled).
    pub rate: AtomicU64,
    /// Answer 503 to this many more requests.
    pub fail_next: AtomicU64,
    pub requests: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub range_requests: AtomicU64,
    /// Every request's `User-Agent`, in order.
    pub user_agents: Mutex<Vec<String>>,
}

pub struct HttpServer {
    pub url: String,
    pub knobs: Arc<Knobs>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    pub fn start(root: &Path) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        listener.set_nonblocking(true).expect("nonblocking");
        let knobs = Arc::new(Knobs::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (k, s, root) = (knobs.clone(), stop.clone(), root.to_owned());
        std::thread::spawn(move || {
            // Dropping the listener when stopped: new connections are refused.
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (k, root) = (k.clone(), root.clone());
                        std::thread::spawn(move || {
                            let _ = serve(stream, &root, &k);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        HttpServer { url, knobs, stop }
    }

    /// Closes the port (connections are refused from now on).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(50));
    }

    pub fn requests(&self) -> u64 {
        self.knobs.requests.load(Ordering::Relaxed)
    }
    pub fn bytes_sent(&self) -> u64 {
        self.knobs.bytes_sent.load(Ordering::Relaxed)
    }
    pub fn range_requests(&self) -> u64 {
        self.knobs.range_requests.load(Ordering::Relaxed)
    }
    pub fn set(&self, knob: &AtomicU64, value: u64) {
        knob.store(value, Ordering::Relaxed);
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, root: &Path, knobs: &Knobs) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    knobs.requests.fetch_add(1, Ordering::Relaxed);
    knobs.user_agents.lock().expect("lock").push(get("user-agent").unwrap_or_default());
    let mut out = stream;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    if knobs.fail_next.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| k.checked_sub(1)).is_ok() {
        return reply(&mut out, "503 Service Unavailable", &[], b"busy");
    }
    let range = get("range");
    if range.is_some() {
        knobs.range_requests.fetch_add(1, Ordering::Relaxed);
    }
    let Some(path) = file_path(root, target) else { return reply(&mut out, "400 Bad Request", &[], b"") };
    let Ok(data) = std::fs::read(&path) else { return reply(&mut out, "404 Not Found", &[], b"not found") };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&data)[..16]));
    let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let last_modified = http_date(modified.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs()));
    let len = data.len() as u64;
    let base =
        vec![("ETag", etag.clone()), ("Last-Modified", last_modified.clone()), ("Accept-Ranges", "bytes".into())];
    // If-Range: the range only if the validator still matches (strong comparison), else the whole object.
    let if_range_ok = get("if-range").is_none_or(|v| v == etag || v == last_modified);
    let (status, start, end) = match range.as_deref().and_then(|r| parse_range(r, len)).filter(|_| if_range_ok) {
        Some(Ok((a, b))) => ("206 Partial Content", a, b),
        Some(Err(())) => {
            let mut h = base;
            h.push(("Content-Range", format!("bytes */{len}")));
            return reply(&mut out, "416 Range Not Satisfiable", &h, b"");
        }
        None => ("200 OK", 0, len),
    };
    let mut h = base;
    if start != 0 || end != len || status.starts_with("206") {
        h.push(("Content-Range", format!("bytes {start}-{}/{len}", end.saturating_sub(1))));
    }
    h.push(("Content-Length", (end - start).to_string()));
    write_head(&mut out, status, &h)?;
    if method == "HEAD" {
        return Ok(());
    }
    send_body(&mut out, &data[start as usize..end as usize], knobs)
}

/// Sends a body, throttled, closing the connection mid-body after `drop_every` bytes.
fn send_body(out: &mut TcpStream, body: &[u8], knobs: &Knobs) -> std::io::Result<()> {
    let started = Instant::now();
    let mut sent = 0u64;
    let rate = knobs.rate.load(Ordering::Relaxed);
    let chunk = if rate > 0 { (rate / 20).clamp(1024, 16 * 1024) } else { 16 * 1024 } as usize;
    for piece in body.chunks(chunk) {
        // Read per chunk: a knob changed mid-body takes effect at once.
        let (limit, rate) = (knobs.drop_every.load(Ordering::Relaxed), knobs.rate.load(Ordering::Relaxed));
        let piece =
            if limit > 0 { &piece[..piece.len().min(limit.saturating_sub(sent).max(1) as usize)] } else { piece };
        out.write_all(piece)?;
        sent += piece.len() as u64;
        knobs.bytes_sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
        if limit > 0 && sent >= limit {
            // A short body: the client sees the connection close before Content-Length bytes.
            out.flush()?;
            return out.shutdown(std::net::Shutdown::Both);
        }
        if rate > 0 {
            // Paced from the response's start (a rate changed mid-body is approximate).
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    out.flush()
}

fn write_head(out: &mut TcpStream, status: &str, headers: &[(&str, String)]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())
}

fn reply(out: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut h = headers.to_vec();
    h.push(("Content-Length", body.len().to_string()));
    write_head(out, status, &h)?;
    out.write_all(body)?;
    out.flush()
}

/// The file a request target names under `root` (no `..`, no query).
fn file_path(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split('?').next()?.trim_start_matches('/');
    let ok = !path.is_empty() && path.split('/').all(|p| !p.is_empty() && p != "." && p != "..");
    ok.then(|| root.join(path))
}

/// One range of `bytes=A-B`, `bytes=A-` or `bytes=-N`: `Ok((start, end exclusive))`, `Err` if unsatisfiable.
fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.saturating_sub(n), len)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() { len } else { (b.parse::<u64>().ok()? + 1).min(len) };
        (start, end)
    };
    Some(if range.0 >= len || range.0 >= range.1 { Err(()) } else { Ok(range) })
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days.rem_euclid(7)) as usize];
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(mo - 1) as usize];
    format!("{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} GMT", rem / 3600, rem % 3600 / 60, rem % 60)
}
