//! A real S3-compatible server for the publish tests: moto's server mode (PyPI `moto[server]`, installed in
//! .venv by `make test-deps`), started on a free loopback port and stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A distinctive secret key, so tests can check it never shows up in output.
pub const SECRET: &str = "tp-test-secret-4f2a9c";
/// The access key ID the moto tests use: distinctive, so that a test can grep logs for it.
pub const ACCESS_KEY_ID: &str = "AKIATPTESTKEY4F2A9C0";

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        // Beside the tests' Python (TILEPRESS_PYTHON, else .venv's): moto comes with it.
        let server = super::python().with_file_name("moto_server");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run `make test-deps`): {e}", server.display()));
        let moto = Moto { child, endpoint: format!("http://127.0.0.1:{port}") };
        // Ready means answering HTTP, not just accepting connections (the server may still restart once).
        let started = Instant::now();
        while moto.request("GET", "/").is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// One unsigned HTTP request; the raw response, or `None` if the connection failed.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    }

    /// Runs a boto3 snippet (boto3 comes with moto) with `s3` a client of this server and `args` the extra
    /// arguments (`sys.argv[1..]`); returns its stdout.
    fn boto3(&self, snippet: &str, args: &[&str]) -> Vec<u8> {
        let script = format!(
            "import boto3, json, sys\ns3 = boto3.client('s3', endpoint_url={:?}, region_name='us-east-1', \
             aws_access_key_id={ACCESS_KEY_ID:?}, aws_secret_access_key={SECRET:?})\n{snippet}",
            self.endpoint
        );
        let python = super::python();
        let out = Command::new(&python)
            .arg("-c")
            .arg(&script)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} (run `make test-deps`): {e}", python.display()));
        assert!(out.status.success(), "boto3 {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// An object's headers as boto3 reads them with a signed HEAD: `{content_type, content_encoding,
    /// cache_control}` as JSON (null where absent).
    pub fn head_object(&self, bucket: &str, key: &str) -> serde_json::Value {
        let out = self.boto3(
            "h = s3.head_object(Bucket=sys.argv[1], Key=sys.argv[2])
print(json.dumps({'content_type': h.get('ContentType'), 'content_encoding': h.get('ContentEncoding'),
                  'cache_control': h.get('CacheControl')}))",
            &[bucket, key],
        );
        serde_json::from_slice(&out).expect("JSON from the head_object script")
    }

    /// Writes an object.
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) {
        self.boto3(
            "s3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=sys.argv[3].encode())",
            &[bucket, key, body],
        );
    }

    /// An object's body, or `None` if there is none.
    pub fn get_object(&self, bucket: &str, key: &str) -> Option<String> {
        let out = self.boto3(
            "try:
    print(json.dumps(s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read().decode()))
except s3.exceptions.NoSuchKey:
    print('null')",
            &[bucket, key],
        );
        serde_json::from_slice(&out).expect("JSON from the get_object script")
    }

    /// Deletes every object under a prefix; returns how many went.
    pub fn delete_prefix(&self, bucket: &str, prefix: &str) -> usize {
        let out = self.boto3(
            "keys = [o['Key'] for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[1], Prefix=sys.argv[2])
        for o in page.get('Contents', [])]
for k in keys:
    s3.delete_object(Bucket=sys.argv[1], Key=k)
print(len(keys))",
            &[bucket, prefix],
        );
        String::from_utf8_lossy(&out).trim().parse().expect("a count")
    }

    /// Creates a bucket (moto accepts an unsigned request).
    pub fn create_bucket(&self, bucket: &str) {
        let started = Instant::now();
        loop {
            match self.request("PUT", &format!("/{bucket}")) {
                Some(r) if r.starts_with("HTTP/1.1 200") => return,
                other => assert!(started.elapsed() < Duration::from_secs(15), "create bucket {bucket}: {other:?}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The environment a tilepress process needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}

impl Moto {
    /// [`Moto::env`] with another endpoint (a proxy in front of the server).
    pub fn env_via(&self, endpoint: &str) -> Vec<(&'static str, String)> {
        self.env()
            .into_iter()
            .map(|(k, v)| if k == "AWS_ENDPOINT_URL" { (k, endpoint.to_owned()) } else { (k, v) })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// s3s-fs (crates.io `s3s-fs`, installed by `make test-deps`): an S3-compatible server that, unlike moto, checks
/// each PUT's `x-amz-checksum-sha256` against the body it received. Started on a free loopback port with its
/// objects in a temporary folder; stopped when dropped.
pub struct S3sFs {
    child: Child,
    pub endpoint: String,
    pub root: tempfile::TempDir,
}

impl S3sFs {
    pub fn start() -> S3sFs {
        let root = tempfile::tempdir().expect("tempdir");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new("s3s-fs")
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", "test", "--secret-key", SECRET])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start s3s-fs (run `make test-deps`): {e}"));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        S3sFs { child, endpoint: format!("http://127.0.0.1:{port}"), root }
    }

    /// A bucket is a folder of the root.
    pub fn create_bucket(&self, bucket: &str) {
        std::fs::create_dir_all(self.root.path().join(bucket)).expect("bucket folder");
    }

    /// The environment a tilepress process needs to reach this server (through `endpoint`).
    pub fn env_via(&self, endpoint: &str) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
