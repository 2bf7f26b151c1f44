//! A small fault-injecting HTTP proxy for the S3 tests: it forwards each request to the real server, except the
//! ones a rule picks, which get a 503 SlowDown, a 500, a 409 ConditionalRequestConflict, or a dropped
//! connection, or a body damaged in transit — faults no local server produces on demand. One request per connection (it answers with
//! `Connection: close`), which keeps it simple and is fine for the SDK.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Forward,
    SlowDown503,
    Internal500,
    Conflict409,
    Drop,
    /// Forwards the request with one byte of its body flipped (damage in transit).
    CorruptBody,
}

/// Picks a fault from (method, path, how many requests with this method and path were seen before).
pub type Rule = Box<dyn Fn(&str, &str, u64) -> Fault + Send + Sync>;

pub struct FaultProxy {
    pub endpoint: String,
    pub injected: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: &str, rule: Rule) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        listener.set_nonblocking(true).expect("nonblocking");
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let injected = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<std::collections::HashMap<String, u64>>> = Arc::default();
        let rule = Arc::new(rule);
        let (inj, stopping) = (injected.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (upstream, rule, seen, inj) = (upstream.clone(), rule.clone(), seen.clone(), inj.clone());
                        std::thread::spawn(move || {
                            let _ = handle(client, &upstream, &rule, &seen, &inj);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy { endpoint, injected, stop }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn handle(
    client: TcpStream,
    upstream: &str,
    rule: &Rule,
    seen: &Mutex<std::collections::HashMap<String, u64>>,
    injected: &AtomicU64,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut request_line = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.trim_end().to_owned();
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            head.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("").to_owned();
    let count = {
        let mut seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = seen.entry(format!("{method} {path}")).or_default();
        *n += 1;
        *n - 1
    };
    let mut client = client;
    let error = |status: &str, code: &str| {
        let xml = format!("<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>injected</Message></Error>");
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        )
    };
    let fault = rule(method, &path, count);
    if fault == Fault::CorruptBody && !body.is_empty() {
        injected.fetch_add(1, Ordering::Relaxed);
        let middle = body.len() / 2;
        body[middle] ^= 0xff;
    }
    match fault {
        Fault::Forward | Fault::CorruptBody => {
            let mut server = TcpStream::connect(upstream)?;
            server.write_all(&head)?;
            server.write_all(&body)?;
            let mut response = Vec::new();
            server.read_to_end(&mut response)?;
            client.write_all(&response)?;
        }
        Fault::Drop => {
            injected.fetch_add(1, Ordering::Relaxed);
            let _ = client.shutdown(std::net::Shutdown::Both);
        }
        fault => {
            injected.fetch_add(1, Ordering::Relaxed);
            let response = match fault {
                Fault::SlowDown503 => error("503 Slow Down", "SlowDown"),
                Fault::Conflict409 => error("409 Conflict", "ConditionalRequestConflict"),
                _ => error("500 Internal Server Error", "InternalError"),
            };
            client.write_all(response.as_bytes())?;
        }
    }
    client.flush()
}
