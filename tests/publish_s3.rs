//! Publishing through the S3 protocol to a real S3-compatible server (moto, started on loopback): the whole
//! publish / republish / change / rollback / verify cycle, conditional writes with one winner under
//! concurrency, and clear errors for a missing bucket.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::s3::Moto;
use common::*;
use serde_json::Value;
use tilepress::publish::{self, Condition, PutOptions, StoreError};

fn run(moto: &Moto, args: &[&str]) -> Value {
    let out = tilepress_env(args, &moto.env());
    assert!(out.status.success(), "tilepress {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json output")
}

fn valletta(dir: &Path, lon: f64) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo().join("fixtures/valletta.geojson")).expect("fixture");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    let poi = doc["features"]
        .as_array_mut()
        .expect("features")
        .iter_mut()
        .find(|f| f["properties"]["name"] == "Il-Furjana")
        .expect("poi");
    poi["geometry"]["coordinates"][0] = serde_json::json!(lon);
    std::fs::write(dir.join("valletta.geojson"), serde_json::to_vec(&doc).expect("json")).expect("write");
    tileset_in(
        dir,
        "name = \"valletta\"\nminzoom = 10\nmaxzoom = 14\n[generalize]\npoint_rate = 1\n[[layers]]\nid = \"v\"\nsource = \"valletta.geojson\"\n",
    )
}

#[test]
fn publish_cycle_through_s3() {
    let moto = Moto::start();
    moto.create_bucket("tiles");
    let dir = tempfile::tempdir().expect("tempdir");
    let to = "s3://tiles/nightly";
    let t = valletta(dir.path(), 14.505_271_6);
    let t = t.to_str().expect("path");

    let first = run(&moto, &["publish", t, "--to", to, "--json"]);
    assert_eq!(first["outcome"], "published");
    assert_eq!(first["store"], "s3://tiles/nightly");
    let v1 = first["version"].as_str().expect("version").to_owned();
    let uploaded = first["objects_uploaded"].as_u64().expect("count");
    assert!(uploaded > 10);

    let again = run(&moto, &["publish", t, "--to", to, "--json"]);
    assert_eq!(again["outcome"], "unchanged");
    assert_eq!(again["objects_uploaded"], 0);

    valletta(dir.path(), 14.505_771_6);
    let second = run(&moto, &["publish", t, "--to", to, "--json"]);
    assert_eq!(second["diff"]["changed"], 5);
    assert_eq!(
        second["objects_uploaded"],
        5 + 5,
        "only the changed tiles, the two archives (MBTiles, PMTiles), manifest, record and the delta from v1"
    );
    assert_eq!(second["previous"].as_str(), Some(v1.as_str()));

    let verified = run(&moto, &["verify", "valletta", "--to", to, "--json"]);
    assert_eq!(verified["problem_count"], 0);
    assert!(verified["objects"].as_u64().expect("objects") > 10);

    let back = run(&moto, &["rollback", "valletta", "--to", to, "--json"]);
    assert_eq!(back["to"].as_str(), Some(v1.as_str()));
    assert_eq!(run(&moto, &["verify", "valletta", "--to", to, "--json"])["version"].as_str(), Some(v1.as_str()));
    let list = run(&moto, &["versions", "valletta", "--to", to, "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(2));

    // Live is v1 again: gc keeping no older version removes v2 and its 5 tiles, through S3 list and delete.
    let collected = run(&moto, &["gc", "valletta", "--to", to, "--keep", "0", "--grace", "0", "--json"]);
    assert_eq!(collected["removed_versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(collected["removed_tiles"], 5);
    assert_eq!(run(&moto, &["verify", "valletta", "--to", to, "--json"])["problem_count"], 0);
    assert_eq!(run(&moto, &["versions", "valletta", "--to", to, "--json"]).as_array().map(Vec::len), Some(1));
}

#[test]
fn png_tiles_go_up_as_image_png_without_gzip() {
    let moto = Moto::start();
    moto.create_bucket("raster");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("monaco.mbtiles");
    build_json(&repo().join("tilesets/monaco-raster.toml"), &out, &["--maxzoom", "12"]);
    let t = repo().join("tilesets/monaco-raster.toml");
    let (t, m) = (t.to_str().expect("path"), out.to_str().expect("path"));
    let report = run(&moto, &["publish", t, "--to", "s3://raster/p", "--mbtiles", m, "--json"]);
    assert_eq!(report["outcome"], "published");
    let data: Vec<u8> = open(&out).query_row("SELECT tile_data FROM images LIMIT 1", [], |r| r.get(0)).expect("a tile");
    let sha = hex::encode(tilepress::manifest::sha256(&data));
    let head = moto.head_object("raster", &format!("p/monaco-raster/tiles/{}/{sha}", &sha[..2]));
    assert_eq!(head["content_type"], "image/png", "{head}");
    assert!(head["content_encoding"].is_null(), "PNG tiles are not gzipped: {head}");
    assert_eq!(head["cache_control"], "public, max-age=31536000, immutable");
}

#[test]
fn conditional_writes_have_exactly_one_winner() {
    let moto = Moto::start();
    moto.create_bucket("race");
    for (k, v) in moto.env() {
        // SAFETY: set before any thread of this test reads the environment.
        unsafe { std::env::set_var(k, v) };
    }
    let store: Arc<dyn publish::Store> = Arc::from(publish::open("s3://race/p").expect("store"));
    let opts = |condition| PutOptions {
        content_type: "application/json",
        content_encoding: None,
        cache_control: "no-cache",
        condition,
    };
    let etag = store.put("set/current.json", b"{\"v\":0}", &opts(Condition::IfAbsent)).expect("create");
    assert!(matches!(
        store.put("set/current.json", b"{}", &opts(Condition::IfAbsent)),
        Err(StoreError::PreconditionFailed { .. })
    ));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let etag = etag.clone();
            std::thread::spawn(move || {
                let body = format!("{{\"v\":{}}}", i + 1);
                match store.put("set/current.json", body.as_bytes(), &opts(Condition::IfMatch(etag))) {
                    Ok(_) => 1,
                    Err(StoreError::PreconditionFailed { .. }) => 0,
                    Err(e) => panic!("unexpected error: {e}"),
                }
            })
        })
        .collect();
    let winners: u32 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(winners, 1, "one conditional write wins, the others get 412");
}

#[test]
fn a_missing_bucket_is_a_clear_error() {
    let moto = Moto::start();
    // The endpoint given by flag rather than AWS_ENDPOINT_URL.
    let env: Vec<(&str, String)> = moto.env().into_iter().filter(|(k, _)| *k != "AWS_ENDPOINT_URL").collect();
    let out =
        tilepress_env(&["versions", "default", "--to", "s3://no-such-bucket/x", "--endpoint", &moto.endpoint], &env);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("s3://no-such-bucket"), "{stderr}");
    let verbose = tilepress_env(&["-vv", "versions", "default", "--to", "s3://no-such-bucket/x"], &moto.env());
    let everything = format!("{stderr}{}", String::from_utf8_lossy(&verbose.stderr));
    assert!(!everything.contains(common::s3::SECRET), "the secret key must never be printed, even at trace level");
}

#[test]
fn publish_rides_out_injected_faults_or_fails_without_swapping() {
    use common::fault_proxy::{Fault, FaultProxy};
    let moto = Moto::start();
    moto.create_bucket("faults");
    let dir = tempfile::tempdir().expect("tempdir");
    let t = valletta(dir.path(), 14.505_271_6);
    let t = t.to_str().expect("path");
    let to = "s3://faults/p";
    // Tile PUTs number 2, 4 and 6 lose their connection, get a 503 SlowDown and a 500; the first pointer write
    // meets a 409 ConditionalRequestConflict.
    let tile_puts = std::sync::atomic::AtomicU64::new(0);
    let proxy = FaultProxy::start(
        &moto.endpoint,
        Box::new(move |method, path, n| {
            if method == "PUT" && path.contains("/tiles/") {
                match tile_puts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
                    1 => Fault::Drop,
                    3 => Fault::SlowDown503,
                    5 => Fault::Internal500,
                    _ => Fault::Forward,
                }
            } else if method == "PUT" && path.ends_with("current.json") && n == 0 {
                Fault::Conflict409
            } else {
                Fault::Forward
            }
        }),
    );
    let out = tilepress_env(&["publish", t, "--to", to, "--json"], &moto.env_via(&proxy.endpoint));
    assert!(out.status.success(), "publish must retry through the faults:\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::Relaxed), 4, "every fault was injected once");
    let v1: Value = serde_json::from_slice(&out.stdout).expect("json");
    // Checked directly against the server, without the proxy: the version is whole.
    let verified = run(&moto, &["verify", "valletta", "--to", to, "--json"]);
    assert_eq!(verified["problem_count"], 0);
    assert_eq!(verified["version"], v1["version"]);

    // A server that keeps failing the pointer write: the publish fails cleanly and v1 stays live.
    let broken =
        FaultProxy::start(
            &moto.endpoint,
            Box::new(|method, path, _| {
                if method == "PUT" && path.ends_with("current.json") { Fault::Internal500 } else { Fault::Forward }
            }),
        );
    valletta(dir.path(), 14.505_771_6);
    let out = tilepress_env(&["publish", t, "--to", to], &moto.env_via(&broken.endpoint));
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("current.json"));
    let live = run(&moto, &["verify", "valletta", "--to", to, "--json"]);
    assert_eq!(live["version"], v1["version"], "the old version stays live");
    assert_eq!(live["problem_count"], 0);
}

#[test]
fn a_large_archive_goes_up_in_parts_and_verifies() {
    let moto = Moto::start();
    moto.create_bucket("big");
    let dir = tempfile::tempdir().expect("tempdir");
    // A small tileset whose MBTiles is padded past 5 MiB (a table the tiles do not use), so the archive needs
    // two parts of 5 MiB while the tiles stay few.
    let tileset = valletta(dir.path(), 14.505_271_6);
    let mbtiles = dir.path().join("padded.mbtiles");
    build_json(&tileset, &mbtiles, &[]);
    let conn = rusqlite::Connection::open(&mbtiles).expect("open");
    conn.execute_batch("CREATE TABLE padding (x BLOB); INSERT INTO padding VALUES (randomblob(6000000));")
        .expect("pad");
    drop(conn);
    assert!(std::fs::metadata(&mbtiles).expect("file").len() > 5 << 20);
    let mut env = moto.env();
    env.push(("TILEPRESS_S3_PART_BYTES", (5 << 20).to_string()));
    let args = [
        "publish",
        tileset.to_str().expect("path"),
        "--to",
        "s3://big/x",
        "--mbtiles",
        mbtiles.to_str().expect("path"),
    ];
    let out = tilepress_env(&args, &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // verify reads the archive back and checks its SHA-256 against the version record.
    let verified = run(&moto, &["verify", "valletta", "--to", "s3://big/x", "--json"]);
    assert_eq!(verified["problem_count"], 0, "{verified}");
}

#[test]
fn a_tile_damaged_in_transit_is_rejected_and_nothing_goes_live() {
    use common::fault_proxy::{Fault, FaultProxy};
    // s3s-fs checks the body of every PUT against its signed SHA-256 and its x-amz-checksum-sha256 (moto checks
    // neither). Every tile PUT through this proxy arrives with one byte flipped, attempt after attempt.
    let server = common::s3::S3sFs::start();
    server.create_bucket("sums");
    let dir = tempfile::tempdir().expect("tempdir");
    let t = valletta(dir.path(), 14.505_271_6);
    let t = t.to_str().expect("path");
    let to = "s3://sums/p";
    let corrupting = FaultProxy::start(
        &server.endpoint,
        Box::new(
            |method, path, _| {
                if method == "PUT" && path.contains("/tiles/") { Fault::CorruptBody } else { Fault::Forward }
            },
        ),
    );
    let out = tilepress_env(&["publish", t, "--to", to], &server.env_via(&corrupting.endpoint));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "the damaged upload must fail the publish:\n{stderr}");
    assert!(stderr.contains("/tiles/"), "the error names the tile object: {stderr}");
    assert!(corrupting.injected.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    let direct = server.env_via(&server.endpoint);
    let live = tilepress_env(&["versions", "valletta", "--to", to], &direct);
    assert_eq!(live.status.code(), Some(7), "nothing went live: {}", String::from_utf8_lossy(&live.stderr));

    // Without the damage, a rerun publishes and every stored object matches its SHA-256.
    let out = tilepress_env(&["publish", t, "--to", to, "--json"], &direct);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verified = tilepress_env(&["verify", "valletta", "--to", to, "--json"], &direct);
    let report: Value = serde_json::from_slice(&verified.stdout).expect("json");
    assert_eq!(report["problem_count"], 0, "{report}");
}

#[test]
fn the_server_rejects_a_put_whose_sha256_checksum_does_not_match() {
    // What publish relies on against AWS, where TLS leaves the payload unsigned: S3 refuses a body whose
    // x-amz-checksum-sha256 differs. Shown on s3s-fs, which implements the check; tilepress's own PUTs all pass
    // it (every publish test against s3s-fs).
    use aws_sdk_s3::primitives::ByteStream;
    let server = common::s3::S3sFs::start();
    server.create_bucket("sums");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let credentials = aws_sdk_s3::config::Credentials::new("test", common::s3::SECRET, None, None, "test");
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let config = aws_sdk_s3::config::Builder::new()
        .http_client(http)
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(&server.endpoint)
        .force_path_style(true)
        .credentials_provider(credentials)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let sha = |data: &[u8]| aws_smithy_types::base64::encode(tilepress::manifest::sha256(data));
    // The error code of a PUT of `tile bytes` with this checksum, or `None` if it was accepted.
    let put = |checksum: String| -> Option<String> {
        let result = runtime.block_on(
            client
                .put_object()
                .bucket("sums")
                .key("k")
                .body(ByteStream::from_static(b"tile bytes"))
                .checksum_sha256(checksum)
                .send(),
        );
        result.err().map(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(&e).unwrap_or("(no code)").to_owned())
    };
    assert_eq!(put(sha(b"other bytes")).as_deref(), Some("BadDigest"), "a wrong checksum must be refused");
    // (s3s-fs leaves the refused body in place, where S3 stores nothing; publish never relies on either: a
    // refused PUT fails the publish before the pointer swap.)
    assert_eq!(put(sha(b"tile bytes")), None, "the right checksum is accepted");
}
