//! Raster tilesets (`format = "png"`) through the CLI: PNG tiles north up under TMS rows, read by GDAL; blank
//! tiles left out and counted; identical tiles stored once; raster metadata; the manifest and the `file://`
//! publish path unchanged; and `tilepress mosaic`.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use tilepress::render::decode_png;

/// The stored bytes of tile z/x/y (XYZ), read through the `tiles` view by its TMS row.
fn tile_png(mbtiles: &Path, z: u8, x: u32, y: u32) -> Option<Vec<u8>> {
    let tms_row = (1u32 << z) - 1 - y;
    open(mbtiles)
        .query_row(
            "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
            rusqlite::params![z, x, tms_row],
            |r| r.get(0),
        )
        .ok()
}

/// The RGBA pixel (x, y) of a decoded tile of `size` pixels a side.
fn pixel(rgba: &[u8], size: usize, x: usize, y: usize) -> [u8; 4] {
    let i = (y * size + x) * 4;
    [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]]
}

const RED: [u8; 4] = [255, 0, 0, 255];
const CLEAR: [u8; 4] = [0, 0, 0, 0];

#[test]
fn a_feature_in_the_north_is_drawn_in_the_top_rows_of_its_tile() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A box over the Arctic, lon 10..50, lat 70..80: at z1 only tile x=1, y=0 (XYZ, the north-east) holds it.
    std::fs::write(
        dir.path().join("arctic.geojson"),
        r#"{"type":"Polygon","coordinates":[[[10,70],[50,70],[50,80],[10,80],[10,70]]]}"#,
    )
    .expect("write");
    let tileset = tileset_in(
        dir.path(),
        "name = \"north\"\nformat = \"png\"\nmaxzoom = 1\n[[layers]]\nid = \"a\"\nsource = \"arctic.geojson\"\n\
         [layers.style]\nfill_color = \"#ff0000\"\n",
    );
    let out = dir.path().join("north.mbtiles");
    let summary = build_json(&tileset, &out, &[]);
    assert_eq!(summary["tiles"], 2, "{summary}");
    // MBTiles rows count from the south: XYZ y=0 at z1 is TMS row 1.
    let ids: Vec<(u8, u32, u32)> = tile_ids(&out).into_iter().map(|(z, x, row, _)| (z, x, row)).collect();
    assert_eq!(ids, [(0, 0, 0), (1, 1, 1)]);

    // lat 80..70 is Mercator rows 57.3..114.6 of the 256 of tile 1/1/0; lon 10..50 is columns 14.2..71.1.
    let (size, _, rgba) = decode_png(&tile_png(&out, 1, 1, 0).expect("tile 1/1/0")).expect("a PNG");
    assert_eq!(size, 256);
    assert_eq!(pixel(&rgba, 256, 40, 60), RED);
    assert_eq!(pixel(&rgba, 256, 40, 110), RED);
    assert_eq!(pixel(&rgba, 256, 40, 50), CLEAR, "above the box");
    assert_eq!(pixel(&rgba, 256, 40, 120), CLEAR, "below the box");
    assert_eq!(pixel(&rgba, 256, 100, 80), CLEAR, "east of the box");
    let red_rows: Vec<usize> = (0..256).filter(|y| pixel(&rgba, 256, 40, *y) == RED).collect();
    assert!(red_rows.iter().all(|y| (57..=115).contains(y)) && red_rows.len() >= 56, "{red_rows:?}");
    // At z0 the same box is in the top quarter: rows 28.6..57.3, columns 135.1..163.6.
    let (_, _, world) = decode_png(&tile_png(&out, 0, 0, 0).expect("tile 0/0/0")).expect("a PNG");
    assert_eq!(pixel(&world, 256, 150, 40), RED);
    assert_eq!(pixel(&world, 256, 150, 200), CLEAR);
}

#[test]
fn tiles_with_only_background_are_left_out_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A line 2.5° west of the meridian: at z1 it lies in the buffer of the eastern tiles (57 of 64 tile units
    // away, 3.6 pixels) but a 2-pixel stroke does not reach them: they are drawn, blank, and left out.
    std::fs::write(dir.path().join("line.geojson"), r#"{"type":"LineString","coordinates":[[-2.5,-60],[-2.5,60]]}"#)
        .expect("write");
    let tileset = tileset_in(
        dir.path(),
        "name = \"blank\"\nformat = \"png\"\nbackground = \"#aad3df\"\nmaxzoom = 1\n[[layers]]\nid = \"a\"\n\
         source = \"line.geojson\"\n[layers.style]\nstroke_color = \"#000000\"\nstroke_width = 2\n",
    );
    let out = dir.path().join("blank.mbtiles");
    let summary = build_json(&tileset, &out, &[]);
    assert_eq!(summary["tiles_blank"], 2, "{summary}");
    assert_eq!(summary["tiles"], 3);
    assert!(tile_png(&out, 1, 1, 0).is_none() && tile_png(&out, 1, 1, 1).is_none());
    // The western tiles hold the line at their east edge, on the opaque background.
    let (_, _, rgba) = decode_png(&tile_png(&out, 1, 0, 0).expect("tile 1/0/0")).expect("a PNG");
    assert_eq!(pixel(&rgba, 256, 10, 200), [0xaa, 0xd3, 0xdf, 255]);
    assert!(pixel(&rgba, 256, 252, 200)[0] < 0x40, "the line: {:?}", pixel(&rgba, 256, 252, 200));
    assert_eq!(metadata(&out, "type").as_deref(), Some("baselayer"));
}

#[test]
fn the_default_raster_tileset_stores_identical_tiles_once_with_raster_metadata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("default-raster.mbtiles");
    let summary = build_json(&repo().join("tilesets/default-raster.toml"), &out, &["--maxzoom", "5"]);
    let ids = tile_ids(&out);
    assert_eq!(summary["tiles"].as_u64(), Some(ids.len() as u64));
    let unique = summary["unique_tiles"].as_u64().expect("unique");
    assert!(unique * 10 < ids.len() as u64 * 9, "land interiors are stored once: {unique} of {}", ids.len());

    // The most repeated tile is an inland one: the land colour, nothing else.
    let conn = open(&out);
    let (repeats, data): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT count(*), images.tile_data FROM map JOIN images USING (tile_id)
             GROUP BY tile_id ORDER BY count(*) DESC, tile_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("query");
    assert!(repeats > 10, "{repeats}");
    let (_, _, rgba) = decode_png(&data).expect("a PNG");
    assert!(rgba.chunks_exact(4).all(|p| p == [0xf2, 0xef, 0xe9, 255]));
    assert!(data.len() < 200, "a single-colour tile is an indexed PNG of {} bytes", data.len());

    // Every stored tile is a 256-pixel PNG.
    let mut stmt = conn.prepare("SELECT tile_data FROM images").expect("prepare");
    let images: Vec<Vec<u8>> =
        stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows");
    for png in &images {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let (width, height, _) = decode_png(png).expect("decodes");
        assert_eq!((width, height), (256, 256));
    }

    // Raster metadata: format png, no vector_layers; the rest as for vector tiles.
    assert_eq!(metadata(&out, "format").as_deref(), Some("png"));
    assert_eq!(metadata(&out, "json"), None);
    assert_eq!(metadata(&out, "type").as_deref(), Some("overlay"), "a transparent background");
    assert_eq!(metadata(&out, "minzoom").as_deref(), Some("0"));
    assert_eq!(metadata(&out, "maxzoom").as_deref(), Some("5"));
    // No `bounds` in the tileset: the extent of the layers built at z0–5, countries and lakes (ogrinfo:
    // (-180, -85.05) - (180, 83.66)), rounded outward.
    let bounds: Vec<f64> =
        metadata(&out, "bounds").expect("bounds").split(',').map(|v| v.parse().expect("number")).collect();
    for (got, want) in bounds.iter().zip([-180.0, -85.05, 180.0, 83.66]) {
        assert!((got - want).abs() <= 2e-6, "{bounds:?}");
    }
    assert!(metadata(&out, "center").is_some());
    assert_eq!(metadata(&out, "attribution").as_deref(), Some("© OpenStreetMap contributors"));

    // The manifest of the MBTiles is the build's manifest (the same path as for vector tiles).
    let manifest = dir.path().join("again.manifest.zst");
    let info = build_ok(&["manifest", out.to_str().expect("path"), "-o", manifest.to_str().expect("path"), "--json"]);
    let info: serde_json::Value = serde_json::from_str(&info).expect("json");
    assert_eq!(info["sha256"], summary["manifest_sha256"]);
}

/// `gdalinfo` of an MBTiles: its whole report.
fn gdalinfo(mbtiles: &Path) -> String {
    let out = Command::new("gdalinfo").arg(mbtiles).output().expect("gdalinfo (make test-deps)");
    assert!(out.status.success(), "gdalinfo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `Size is W, H` of a gdalinfo report.
fn gdal_size(report: &str) -> (f64, f64) {
    let line = report.lines().find(|l| l.starts_with("Size is ")).expect("a size line");
    let mut parts = line.trim_start_matches("Size is ").split(", ").map(|v| v.trim().parse::<f64>().expect("a number"));
    (parts.next().expect("width"), parts.next().expect("height"))
}

#[test]
fn gdal_reads_raster_mbtiles_at_their_size_and_zooms() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Monaco in 512-pixel tiles at z10–14.
    let out = dir.path().join("monaco.mbtiles");
    build_json(&repo().join("tilesets/monaco-raster.toml"), &out, &["--maxzoom", "14"]);
    let report = gdalinfo(&out);
    assert!(report.contains("Driver: MBTiles/MBTiles"), "{report}");
    assert!(report.contains("ZOOM_LEVEL=14"), "{report}");
    assert!(report.contains("Block=512x512"), "{report}");
    assert!(report.contains("ColorInterp=Alpha"), "{report}");
    // Bounds 7.405..7.440 × 43.723..43.752 at z14 in 512-pixel tiles.
    let px = |lon: f64| (lon + 180.0) / 360.0 * f64::from(1u32 << 14) * 512.0;
    let py = |lat: f64| {
        let s = lat.to_radians().sin();
        (0.5 - ((1.0 + s) / (1.0 - s)).ln() / (4.0 * std::f64::consts::PI)) * f64::from(1u32 << 14) * 512.0
    };
    let (width, height) = gdal_size(&report);
    let (expected_w, expected_h) = (px(7.440) - px(7.405), py(43.723) - py(43.752));
    assert!((width - expected_w).abs() <= 2.0 && (height - expected_h).abs() <= 2.0, "{width}×{height}");
    // Pixel size of z14 at 512 pixels a tile: 40075016.686 m / 2^14 / 512.
    let pixel_size = 40_075_016.685_578_5 / f64::from(1u32 << 14) / 512.0;
    assert!(report.contains(&format!("Pixel Size = ({pixel_size:.6}")), "pixel size {pixel_size}: {report}");
    // Lower zooms are its overviews, each half the size of the one above.
    let overviews = report.lines().find(|l| l.trim_start().starts_with("Overviews:")).expect("overviews");
    let first = overviews.split(':').nth(1).and_then(|v| v.split(',').next()).expect("first overview");
    let ow: f64 = first.trim().split('x').next().and_then(|w| w.parse().ok()).expect("width");
    assert!((ow - width / 2.0).abs() <= 1.0, "{overviews}");

    // Malta's sample in 256-pixel tiles at z8–14.
    let out = dir.path().join("malta.mbtiles");
    build_json(&repo().join("tilesets/malta-raster.toml"), &out, &[]);
    let report = gdalinfo(&out);
    assert!(report.contains("ZOOM_LEVEL=14") && report.contains("Block=256x256"), "{report}");
}

#[test]
fn a_mosaic_lays_the_tiles_of_one_zoom_side_by_side() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("d.mbtiles");
    build_json(&repo().join("tilesets/default-raster.toml"), &out, &["--maxzoom", "2"]);
    let png = dir.path().join("z2.png");
    let report = build_ok(&[
        "mosaic",
        out.to_str().expect("path"),
        "--zoom",
        "2",
        "--background",
        "#aad3df",
        "-o",
        png.to_str().expect("path"),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("json");
    assert_eq!((report["width"].as_u64(), report["height"].as_u64()), (Some(1024), Some(1024)));
    let found = report["tiles_found"].as_u64().expect("found");
    assert_eq!(found + report["tiles_missing"].as_u64().expect("missing"), 16);
    let (width, height, mosaic) = decode_png(&std::fs::read(&png).expect("the mosaic")).expect("a PNG");
    assert_eq!((width, height), (1024, 1024));
    // Tile 2/2/1 (Europe, Africa's north) sits at columns 512..768, rows 256..512, pixel for pixel.
    let (_, _, tile) = decode_png(&tile_png(&out, 2, 2, 1).expect("tile 2/2/1")).expect("a PNG");
    for (y, x) in [(0, 0), (17, 201), (128, 128), (255, 255)] {
        let t = pixel(&tile, 256, x, y);
        if t[3] == 255 {
            assert_eq!(pixel(&mosaic, 1024, 512 + x, 256 + y), t, "({x}, {y})");
        }
    }

    // A --bbox picks the tiles covering it; a vector MBTiles is refused with the format named.
    let (d, p) = (out.to_str().expect("path"), png.to_str().expect("path"));
    let malta = build_ok(&["mosaic", d, "--zoom", "2", "--bbox", "14,35,15,36", "-o", p, "--json"]);
    let malta: serde_json::Value = serde_json::from_str(&malta).expect("json");
    assert_eq!(malta["columns"], serde_json::json!([2, 2]));
    assert_eq!(malta["rows"], serde_json::json!([1, 1]));
    assert_eq!(malta["width"], 256);
    let vector = dir.path().join("v.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &vector, &["--maxzoom", "1"]);
    let refused =
        tilepress(&["mosaic", vector.to_str().expect("path"), "--zoom", "1", "-o", png.to_str().expect("path")]);
    assert_eq!(refused.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("format `pbf`") && stderr.contains("v.mbtiles"), "{stderr}");
}

#[test]
fn a_raster_build_publishes_and_verifies_through_the_file_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("monaco.mbtiles");
    build_json(&repo().join("tilesets/monaco-raster.toml"), &out, &["--maxzoom", "13"]);
    let to = format!("file://{}", dir.path().join("store").display());
    let t = repo().join("tilesets/monaco-raster.toml");
    let args = ["publish", t.to_str().expect("path"), "--to", &to, "--mbtiles", out.to_str().expect("path"), "--json"];
    let report: serde_json::Value = serde_json::from_str(&build_ok(&args)).expect("json");
    assert_eq!(report["outcome"], "published");
    assert_eq!(report["diff"]["added"].as_u64(), Some(tile_ids(&out).len() as u64));
    let again: serde_json::Value = serde_json::from_str(&build_ok(&args)).expect("json");
    assert_eq!(again["outcome"], "unchanged");
    let verified = build_ok(&["verify", "monaco-raster", "--to", &to, "--json"]);
    let verified: serde_json::Value = serde_json::from_str(&verified).expect("json");
    assert_eq!(verified["problem_count"], 0);
}
