//! The sync transfer layer against a real HTTP server on loopback (`tests/common/http.rs`) that drops, throttles
//! and fails on demand, and against a `file://` folder: downloads complete, resume, verify and give up as
//! they should.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use common::http::HttpServer;
use sha2::{Digest, Sha256};
use tilepress::sync::{ByteProgress, DownloadOptions, Expected, Source, SyncError};

const MIB: u64 = 1 << 20;

/// A pseudo-random object of `bytes` at `root/key`; its Expected.
fn object(root: &Path, key: &str, bytes: u64, seed: u64) -> Expected {
    let mut state = seed | 1;
    let data: Vec<u8> = (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let path = root.join(key);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, &data).expect("write object");
    Expected { sha256: hex::encode(Sha256::digest(&data)), bytes }
}

fn fast() -> DownloadOptions {
    DownloadOptions { backoff_base: Duration::from_millis(10), ..DownloadOptions::default() }
}

fn none(_: ByteProgress) {}

fn sha_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

fn no_parts(dest: &Path) -> bool {
    let with = |s: &str| Path::new(&format!("{}{s}", dest.display())).exists();
    !with(".part") && !with(".part.json")
}

/// Downloads until the progress callback passes `stop_at` bytes, then dies there (a process killed
/// mid-transfer: the part file and sidecar stay, nothing is cleaned up).
fn die_at(server: Option<&HttpServer>, source: &Source, key: &str, dest: &Path, expect: &Expected, stop_at: u64) {
    let died = catch_unwind(AssertUnwindSafe(|| {
        source.download(key, dest, expect, &fast(), &mut |p: ByteProgress| {
            if p.done >= stop_at {
                // The connection goes with the process: the server sends no more.
                if let Some(server) = server {
                    server.set(&server.knobs.drop_every, 1);
                }
                panic!("killed");
            }
        })
    }));
    assert!(died.is_err(), "the first download should have died");
}

#[test]
fn a_plain_download_arrives_whole_and_leaves_no_part() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expect = object(&dir.path().join("store"), "set/archives/a.mbtiles", 4 * MIB, 1);
    let server = HttpServer::start(&dir.path().join("store"));
    let source = Source::parse(&format!("{}/", server.url), None).expect("source");
    let dest = dir.path().join("dl/a.mbtiles");
    let mut calls = 0;
    let report =
        source.download("set/archives/a.mbtiles", &dest, &expect, &fast(), &mut |_| calls += 1).expect("download");
    assert_eq!(sha_of(&dest), expect.sha256);
    assert!(no_parts(&dest));
    assert_eq!((report.bytes_fetched, report.resumed_from, report.retries), (4 * MIB, 0, 0));
    assert!(calls > 10);
    let agents = server.knobs.user_agents.lock().expect("lock").clone();
    assert_eq!(agents, [format!("tilepress/{}", env!("CARGO_PKG_VERSION"))]);
}

#[test]
fn drops_mid_body_are_resumed_with_ranges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 4 * MIB;
    let expect = object(dir.path(), "s/a", size, 2);
    let server = HttpServer::start(dir.path());
    server.set(&server.knobs.drop_every, 300 * 1024);
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    let report = source.download("s/a", &dest, &expect, &fast(), &mut none).expect("download");
    assert_eq!(sha_of(&dest), expect.sha256);
    let ratio = server.bytes_sent() as f64 / size as f64;
    eprintln!("drops: {} requests, {} resumes, sent/size = {ratio:.3}", server.requests(), report.resumes);
    assert!(report.resumes >= 10 && server.range_requests() >= 10, "{report:?}");
    assert!(ratio <= 1.2, "{ratio}");
    assert!(no_parts(&dest));
}

#[test]
fn busy_answers_are_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expect = object(dir.path(), "s/a", MIB, 3);
    let server = HttpServer::start(dir.path());
    server.set(&server.knobs.fail_next, 3);
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    let report = source.download("s/a", &dest, &expect, &fast(), &mut none).expect("download");
    assert_eq!((report.retries, server.requests()), (3, 4));
    assert_eq!(sha_of(&dest), expect.sha256);
}

#[test]
fn a_download_resumes_after_the_process_died() {
    let dir = tempfile::tempdir().expect("tempdir");
    let size = 4 * MIB;
    let expect = object(dir.path(), "s/a", size, 4);
    let server = HttpServer::start(dir.path());
    // Throttled, so that the server is not far ahead of what the dying client wrote.
    server.set(&server.knobs.rate, MIB);
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    die_at(Some(&server), &source, "s/a", &dest, &expect, 2 * MIB);
    server.set(&server.knobs.drop_every, 0);
    assert!(!no_parts(&dest) && !dest.exists());
    let report = source.download("s/a", &dest, &expect, &fast(), &mut none).expect("resumed download");
    assert!(report.resumed_from >= 2 * MIB && report.resumes == 1, "{report:?}");
    assert_eq!(report.bytes_fetched, size - report.resumed_from);
    assert_eq!(sha_of(&dest), expect.sha256);
    // The client fetched only what it lacked (above). What the server sent on top is what was in flight when
    // the first client died: the loopback socket buffers, at most about 1 MiB, never a second copy.
    let extra = server.bytes_sent().saturating_sub(size);
    eprintln!("restart: sent/size = {:.3}", server.bytes_sent() as f64 / size as f64);
    assert!(extra <= MIB + MIB / 4, "{extra} bytes beyond the object were sent");
}

#[test]
fn an_object_that_changed_is_fetched_again_whole_never_mixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = object(dir.path(), "s/a", 2 * MIB, 5);
    let server = HttpServer::start(dir.path());
    server.set(&server.knobs.rate, 8 * MIB);
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    die_at(Some(&server), &source, "s/a", &dest, &old, MIB);
    server.set(&server.knobs.drop_every, 0);
    // Same size, other bytes: a new ETag; If-Range fails and the server sends it whole (200).
    let new = object(dir.path(), "s/a", 2 * MIB, 6);
    let err = source.download("s/a", &dest, &old, &fast(), &mut none).expect_err("old SHA-256");
    assert!(matches!(err, SyncError::Verify { .. }), "{err}");
    assert!(no_parts(&dest) && !dest.exists());
    die_at(Some(&server), &source, "s/a", &dest, &new, MIB);
    server.set(&server.knobs.drop_every, 0);
    object(dir.path(), "s/a", 2 * MIB, 5);
    let err = source.download("s/a", &dest, &new, &fast(), &mut none).expect_err("changed back");
    assert!(matches!(err, SyncError::Verify { .. }), "{err}");
    assert!(no_parts(&dest) && !dest.exists());
    let new = object(dir.path(), "s/a", 2 * MIB, 6);
    let report = source.download("s/a", &dest, &new, &fast(), &mut none).expect("new object");
    assert_eq!(report.resumed_from, 0);
    assert_eq!(sha_of(&dest), new.sha256);
}

#[test]
fn a_wrong_sha256_is_refused_and_cleaned_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expect = object(dir.path(), "s/a", MIB, 7);
    expect.sha256 = "00".repeat(32);
    let server = HttpServer::start(dir.path());
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    let err = source.download("s/a", &dest, &expect, &fast(), &mut none).expect_err("wrong sha");
    assert!(matches!(&err, SyncError::Verify { url, .. } if url.ends_with("/s/a")), "{err}");
    assert!(!dest.exists() && no_parts(&dest));
}

#[test]
fn no_network_is_a_network_error_and_leaves_dest_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expect = object(dir.path(), "s/a", MIB, 8);
    let server = HttpServer::start(dir.path());
    server.stop();
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    std::fs::write(&dest, b"the old archive").expect("write");
    let opts = DownloadOptions { retries: 3, ..fast() };
    let started = Instant::now();
    let err = source.download("s/a", &dest, &expect, &opts, &mut none).expect_err("refused");
    assert!(matches!(err, SyncError::Network { attempts: 4, .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(std::fs::read(&dest).expect("dest"), b"the old archive");
    assert!(matches!(source.get_small("s/a", 10), Err(SyncError::Network { .. })));
}

#[test]
fn limit_rate_holds_the_transfer_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expect = object(dir.path(), "s/a", MIB, 9);
    let server = HttpServer::start(dir.path());
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    let opts = DownloadOptions { limit_rate: Some(256 * 1024), ..fast() };
    let report = source.download("s/a", &dest, &expect, &opts, &mut none).expect("download");
    eprintln!("limit-rate 256 KiB/s, 1 MiB: {:.2} s (4.00 ideal)", report.seconds);
    assert!(report.seconds >= 3.5, "{}", report.seconds);
    assert_eq!(sha_of(&dest), expect.sha256);
}

#[test]
fn missing_objects_and_oversized_small_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    object(dir.path(), "s/current.json", 100, 10);
    let server = HttpServer::start(dir.path());
    let source = Source::parse(&server.url, None).expect("source");
    let dest = dir.path().join("out");
    let expect = Expected { sha256: "00".repeat(32), bytes: 1 };
    let err = source.download("s/none", &dest, &expect, &fast(), &mut none).expect_err("404");
    assert!(matches!(&err, SyncError::NotFound { url } if url.ends_with("/s/none")), "{err}");
    assert!(no_parts(&dest));
    assert_eq!(source.get_small("s/none", 1000).expect("absent"), None);
    assert_eq!(source.get_small("s/current.json", 1000).expect("present").map(|d| d.len()), Some(100));
    assert!(matches!(source.get_small("s/current.json", 99), Err(SyncError::TooLarge { max: 99, .. })));
}

#[test]
fn a_file_store_downloads_and_resumes_the_same_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store");
    let expect = object(&store, "s/archives/a.mbtiles", 3 * MIB, 11);
    let source = Source::parse(&format!("file://{}", store.display()), None).expect("source");
    let dest = dir.path().join("out.mbtiles");
    die_at(None, &source, "s/archives/a.mbtiles", &dest, &expect, MIB);
    let report = source.download("s/archives/a.mbtiles", &dest, &expect, &fast(), &mut none).expect("resumed");
    assert!(report.resumed_from >= MIB && report.bytes_fetched == 3 * MIB - report.resumed_from, "{report:?}");
    assert_eq!(sha_of(&dest), expect.sha256);
    assert!(no_parts(&dest));
    assert_eq!(source.get_small("s/none", 10).expect("absent"), None);
    assert!(matches!(source.get_small("s/archives/a.mbtiles", 10), Err(SyncError::TooLarge { .. })));
    let err = source.download("s/none", &dest, &expect, &fast(), &mut none).expect_err("missing");
    assert!(matches!(err, SyncError::NotFound { .. }), "{err}");
}
