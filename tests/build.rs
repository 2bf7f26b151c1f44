//! Building the shipped tilesets through the CLI, checked with independent readers: SQLite, GDAL's ogrinfo and
//! Python's mapbox-vector-tile.

mod common;

use std::process::Command;

use common::*;

#[test]
fn default_tileset_builds_a_valid_mbtiles_that_gdal_and_sqlite_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("default.mbtiles");
    let summary = build_json(&repo().join("tilesets/default.toml"), &out, &[]);

    // SQLite's own check, through the sqlite3 command-line tool.
    let check =
        Command::new("sqlite3").arg(&out).arg("PRAGMA integrity_check;").output().expect("sqlite3 (make test-deps)");
    assert_eq!(String::from_utf8_lossy(&check.stdout).trim(), "ok");

    // GDAL lists every layer.
    let info = Command::new("ogrinfo").args(["-ro", "-so"]).arg(&out).output().expect("ogrinfo (make test-deps)");
    let listing = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "ogrinfo failed: {}", String::from_utf8_lossy(&info.stderr));
    for layer in ["countries", "lakes", "valletta"] {
        assert!(listing.contains(&format!(": {layer}")), "ogrinfo does not list {layer}:\n{listing}");
    }

    // The summary agrees with the file.
    let ids = tile_ids(&out);
    assert_eq!(summary["tiles"].as_u64(), Some(ids.len() as u64));
    let conn = open(&out);
    let images: i64 = conn.query_row("SELECT count(*) FROM images", [], |r| r.get(0)).expect("count");
    assert_eq!(summary["unique_tiles"].as_u64(), Some(images as u64));
    assert!((images as usize) < ids.len(), "identical tiles are stored once");
    assert_eq!(summary["features_read"].as_u64(), Some(220 + 1 + 4056));
    assert_eq!(summary["agg_tiles_hash"].as_str(), metadata(&out, "agg_tiles_hash").as_deref());

    // Every tile address lies inside the grid of its zoom, and every map row points at an image.
    let outside: i64 = conn
        .query_row(
            "SELECT count(*) FROM map WHERE tile_column < 0 OR tile_row < 0
               OR tile_column >= (1 << zoom_level) OR tile_row >= (1 << zoom_level)",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(outside, 0);
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM map LEFT JOIN images USING (tile_id) WHERE images.tile_id IS NULL", [], |r| {
            r.get(0)
        })
        .expect("query");
    assert_eq!(dangling, 0);
    // tile_id is the upper-case MD5 of the bytes (checked by SQLite-independent hashing of one row).
    let (id, data): (String, Vec<u8>) = conn
        .query_row("SELECT tile_id, tile_data FROM images LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("row");
    assert_eq!(id, format!("{:X}", md5_of(&data)));
    assert_eq!(&data[..2], &[0x1f, 0x8b], "tiles are gzip-compressed");
}

fn md5_of(data: &[u8]) -> u128 {
    let out = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().expect("stdin").write_all(data)?;
            child.wait_with_output()
        })
        .expect("md5sum");
    let hex = String::from_utf8_lossy(&out.stdout);
    u128::from_str_radix(hex.split_whitespace().next().expect("hash"), 16).expect("hex")
}

#[test]
fn metadata_follows_mbtiles_1_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("m.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &out, &["--maxzoom", "3"]);
    for key in [
        "name",
        "format",
        "bounds",
        "center",
        "minzoom",
        "maxzoom",
        "json",
        "attribution",
        "description",
        "type",
        "version",
    ] {
        assert!(metadata(&out, key).is_some(), "metadata lacks {key}");
    }
    assert_eq!(metadata(&out, "format").as_deref(), Some("pbf"));
    assert_eq!(metadata(&out, "minzoom").as_deref(), Some("0"));
    assert_eq!(metadata(&out, "maxzoom").as_deref(), Some("3"));
    assert_eq!(metadata(&out, "attribution").as_deref(), Some("© OpenStreetMap contributors"));
    let json: serde_json::Value = serde_json::from_str(&metadata(&out, "json").expect("json")).expect("valid JSON");
    let layers = json["vector_layers"].as_array().expect("vector_layers");
    // Only layers active at z0–3 are listed; valletta starts at z10.
    let ids: Vec<&str> = layers.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(ids, ["countries", "lakes"]);
    assert_eq!(layers[0]["fields"]["A3"], "String");
    assert_eq!(layers[0]["maxzoom"], 3);
}

#[test]
fn known_features_land_where_an_independent_decoder_expects_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("default.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &out, &[]);

    // A POI of fixtures/valletta.geojson: "Il-Furjana" at 14.5052716, 35.8929838. Points thin out below the base
    // zoom (the layer's max, z14); this one is shown from z13.
    for z in [13u8, 14] {
        let (x, y, px, py) = locate(14.505_271_6, 35.892_983_8, z);
        let tile = decode(&out, z, x, y);
        let features = tile["valletta"]["features"].as_array().expect("valletta layer");
        let poi = features
            .iter()
            .find(|f| f["properties"]["name"] == "Il-Furjana")
            .unwrap_or_else(|| panic!("Il-Furjana not in {z}/{x}/{y}"));
        assert_eq!(poi["properties"]["kind"], "poi");
        assert_eq!(poi["properties"]["class"], "town");
        assert!(poi["properties"].get("osm_id").is_none(), "osm_id is not in the layer's properties list");
        assert_eq!(poi["geometry"]["type"], "Point");
        let c = &poi["geometry"]["coordinates"];
        let (gx, gy) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
        assert!((gx - px).abs() <= 1.0 && (gy - py).abs() <= 1.0, "z{z}: ({gx}, {gy}) vs expected ({px}, {py})");
        assert_eq!(tile["valletta"]["extent"], 4096);
        assert_eq!(tile["valletta"]["version"], 2);
    }

    // Kansas at z6 lies inside USA: the tile holds its land as one square over the tile plus buffer.
    let (x, y, _, _) = locate(-100.0, 40.0, 6);
    let tile = decode(&out, 6, x, y);
    let countries = tile["countries"]["features"].as_array().expect("countries layer");
    assert_eq!(countries.len(), 1);
    assert_eq!(countries[0]["properties"]["A3"], "USA");
    let ring = countries[0]["geometry"]["coordinates"][0].as_array().expect("ring");
    let xs: Vec<f64> = ring.iter().map(|p| p[0].as_f64().expect("x")).collect();
    assert_eq!(xs.iter().cloned().fold(f64::INFINITY, f64::min), -64.0);
    assert_eq!(xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max), 4096.0 + 64.0);

    // Paris at z4: France is in the tile, with its ISO code.
    let (x, y, _, _) = locate(2.35, 48.85, 4);
    let tile = decode(&out, 4, x, y);
    let names: Vec<&str> = tile["countries"]["features"]
        .as_array()
        .expect("countries layer")
        .iter()
        .filter_map(|f| f["properties"]["A3"].as_str())
        .collect();
    assert!(names.contains(&"FRA"), "{names:?}");
}

#[test]
fn polygon_rings_are_wound_as_mvt_2_1_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("w.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &out, &["--maxzoom", "4"]);
    let mut exteriors = 0;
    let mut holes = 0;
    // Europe at z3 (many countries, lakes with islands) and at z4.
    for (z, x, y) in [(3u8, 4u32, 2u32), (4, 8, 5), (4, 9, 4)] {
        let tile = decode(&out, z, x, y);
        for layer in tile.as_object().expect("layers").values() {
            for feature in layer["features"].as_array().expect("features") {
                let g = &feature["geometry"];
                let polygons: Vec<&serde_json::Value> = match g["type"].as_str() {
                    Some("Polygon") => vec![&g["coordinates"]],
                    Some("MultiPolygon") => g["coordinates"].as_array().expect("polygons").iter().collect(),
                    _ => vec![],
                };
                for polygon in polygons {
                    for (i, ring) in polygon.as_array().expect("rings").iter().enumerate() {
                        let area = ring_area2(ring.as_array().expect("ring"));
                        if i == 0 {
                            assert!(area > 0.0, "exterior ring not clockwise in {z}/{x}/{y}: {feature}");
                            exteriors += 1;
                        } else {
                            assert!(area < 0.0, "hole not counter-clockwise in {z}/{x}/{y}");
                            holes += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(exteriors > 20 && holes > 0, "{exteriors} exteriors, {holes} holes checked");
}

#[test]
fn every_polygon_is_valid_for_geos() {
    // MVT 2.1: rings without self-intersection or self-tangency. Clipping (bridges along the tile edge),
    // simplification and rounding can all break that; GEOS (shapely) judges every polygon of every tile.
    let dir = tempfile::tempdir().expect("tempdir");
    for tileset in ["default", "monaco"] {
        let out = dir.path().join(format!("{tileset}.mbtiles"));
        build_json(&repo().join(format!("tilesets/{tileset}.toml")), &out, &[]);
        let report = polygon_validity(&out);
        assert!(report["polygons"].as_u64().expect("count") > 1000, "{report}");
        assert_eq!(report["invalid"], serde_json::json!([]), "{tileset}: {report}");
    }
}

#[test]
fn region_and_bbox_limit_the_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.mbtiles");
    let summary = build_json(&repo().join("tilesets/default.toml"), &out, &["--region", "valletta", "--minzoom", "8"]);
    assert_eq!(summary["region"], "valletta");
    assert_eq!(metadata(&out, "bounds").as_deref(), Some("14.49,35.88,14.53,35.905"));
    assert_eq!(metadata(&out, "minzoom").as_deref(), Some("8"));
    // Only tiles over Valletta: one column/row span per zoom, at most a few tiles each.
    let ids = tile_ids(&out);
    assert!(!ids.is_empty());
    for (z, x, _, _) in &ids {
        let (vx, _, _, _) = locate(14.51, 35.89, *z);
        assert!(x.abs_diff(vx) <= 1, "{z}/{x} is far from Valletta");
    }
    let out2 = dir.path().join("b.mbtiles");
    build_json(&repo().join("tilesets/default.toml"), &out2, &["--bbox", "-10,35,30,60", "--maxzoom", "3"]);
    assert_eq!(metadata(&out2, "bounds").as_deref(), Some("-10,35,30,60"));
    let ids2 = tile_ids(&out2);
    assert!(ids2.iter().all(|(z, _, _, _)| *z <= 3));
    assert!(ids2.len() < 30, "{} tiles for a box over Europe at z0–3", ids2.len());
}

/// `[west, south, east, north]` of every position in a GeoJSON value, read here from the text itself.
fn positions_extent(v: &serde_json::Value, b: &mut [f64; 4]) {
    match v.as_array() {
        Some(a) if a.first().is_some_and(serde_json::Value::is_number) => {
            let (x, y) = (a[0].as_f64().expect("lon"), a[1].as_f64().expect("lat"));
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        Some(a) => a.iter().for_each(|e| positions_extent(e, b)),
        None => v.as_object().into_iter().flat_map(|o| o.values()).for_each(|e| positions_extent(e, b)),
    }
}

#[test]
fn a_tileset_without_bounds_gets_the_extent_of_its_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = repo().join("fixtures/valletta.geojson");
    let toml = format!("name = \"v\"\nminzoom = 10\n[[layers]]\nid = \"v\"\nsource = \"{}\"\n", source.display());
    let out = dir.path().join("v.mbtiles");
    let summary = build_json(&tileset_in(dir.path(), &toml), &out, &[]);
    let text = std::fs::read_to_string(&source).expect("fixture");
    let mut want = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    positions_extent(&serde_json::from_str(&text).expect("GeoJSON"), &mut want);
    let parse = |s: String| s.split(',').map(|v| v.parse::<f64>().expect("number")).collect::<Vec<_>>();
    let bounds = parse(metadata(&out, "bounds").expect("bounds"));
    // About (14.485674, 35.877164) - (14.533777, 35.909019), as ogrinfo says; rounded outward to 6 decimals.
    for (i, (got, want)) in bounds.iter().zip(want).enumerate() {
        assert!((got - want).abs() <= 1.01e-6, "bound {i}: {got} vs the data's {want}");
        assert!(if i < 2 { *got <= want } else { *got >= want }, "bound {i}: {got} lies inside the data's {want}");
    }
    let in_summary: Vec<f64> =
        summary["bounds"].as_array().expect("bounds").iter().filter_map(|v| v.as_f64()).collect();
    assert!(in_summary.iter().zip(&bounds).all(|(a, b)| (a - b).abs() < 1e-9), "{in_summary:?} vs {bounds:?}");
    // The center is the middle of the bounds, at the zoom where they span at most two tiles (z13 for 0.048°).
    let center = parse(metadata(&out, "center").expect("center"));
    assert!(
        (center[0] - (bounds[0] + bounds[2]) / 2.0).abs() < 1e-6
            && (center[1] - (bounds[1] + bounds[3]) / 2.0).abs() < 1e-6
    );
    assert_eq!(center[2], 13.0);
    // Tiles only over the data (and one tile of clip buffer around it).
    for (z, x, _, _) in tile_ids(&out) {
        let ((west, _, _, _), (east, _, _, _)) = (locate(bounds[0], bounds[3], z), locate(bounds[2], bounds[1], z));
        assert!(west <= x + 1 && x <= east + 1, "{z}/{x} lies outside columns {west}..={east}");
    }
}

#[test]
fn human_summary_names_the_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("h.mbtiles");
    let text = build_ok(&["build", "tilesets/default.toml", "-o", out.to_str().expect("path"), "--maxzoom", "2"]);
    for word in ["tiles", "unique", "bytes", "read", "skipped", "dropped", "tiles/s", "z0:1", "z1:4"] {
        assert!(text.contains(word), "summary lacks `{word}`:\n{text}");
    }
}
