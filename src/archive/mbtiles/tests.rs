use super::*;
use crate::archive::{Metadata, VectorLayer};
use crate::tiling::Bbox;

fn metadata() -> Metadata {
    Metadata {
        name: "t".into(),
        description: String::new(),
        attribution: String::new(),
        format: "pbf".into(),
        baselayer: false,
        bounds: Bbox::WORLD,
        center: (0.0, 0.0, 0),
        minzoom: 0,
        maxzoom: 2,
        vector_layers: Some(vec![VectorLayer {
            id: "l".into(),
            description: String::new(),
            minzoom: 0,
            maxzoom: 2,
            fields: Default::default(),
        }]),
        extra: Default::default(),
    }
}

#[test]
fn writes_deduplicated_tiles_with_tms_rows_and_a_valid_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/out.mbtiles");
    let writer = MbtilesWriter::create(&path).expect("create");
    let sender = writer.sender().expect("sender");
    let same = Arc::new(TileBlob::new(b"same bytes".to_vec()));
    let other = Arc::new(TileBlob::new(b"other".to_vec()));
    for (tile, blob) in [
        (TileId { z: 0, x: 0, y: 0 }, other.clone()),
        (TileId { z: 2, x: 1, y: 0 }, same.clone()),
        (TileId { z: 2, x: 3, y: 3 }, same.clone()),
    ] {
        sender.send((tile, blob)).expect("send");
    }
    drop(sender);
    assert!(!path.exists(), "nothing at the output path before finish");
    let finished = writer.finish(&metadata()).expect("finish");
    assert!(!path.exists(), "nothing at the output path before commit");
    let order: Vec<TileId> = finished.tiles.iter().map(|(t, _)| *t).collect();
    assert_eq!(order, [TileId { z: 0, x: 0, y: 0 }, TileId { z: 2, x: 1, y: 0 }, TileId { z: 2, x: 3, y: 3 }]);
    let summary = finished.commit().expect("commit");
    assert_eq!((summary.tiles, summary.unique_tiles), (3, 2));
    assert_eq!(summary.tile_bytes, 5 + 10 + 10);

    let conn = Connection::open(&path).expect("open");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
    let images: i64 = conn.query_row("SELECT count(*) FROM images", [], |r| r.get(0)).expect("count");
    assert_eq!(images, 2);
    // XYZ 2/1/0 is TMS row 3.
    let data: Vec<u8> = conn
        .query_row("SELECT tile_data FROM tiles WHERE zoom_level = 2 AND tile_column = 1 AND tile_row = 3", [], |r| {
            r.get(0)
        })
        .expect("tile");
    assert_eq!(data, b"same bytes");
    let id: String =
        conn.query_row("SELECT tile_id FROM images WHERE tile_data = X'6F74686572'", [], |r| r.get(0)).expect("id");
    // MD5("other"), upper-case hex.
    assert_eq!(id, "795F3202B17CB6BC3D4B771D8C6C9EAF");
    let agg: String =
        conn.query_row("SELECT value FROM metadata WHERE name = 'agg_tiles_hash'", [], |r| r.get(0)).expect("agg");
    // MD5 of "000other" + "213same bytes" + "230same bytes", in (z, x, tms row) order.
    let expected = hex::encode_upper(Md5::digest(b"000other213same bytes230same bytes"));
    assert_eq!(agg, expected);
    let format: String =
        conn.query_row("SELECT value FROM metadata WHERE name = 'format'", [], |r| r.get(0)).expect("format");
    assert_eq!(format, "pbf");
    // The column types that martin's `mbtiles` uses to detect the normalized layout.
    let types: Vec<(String, String)> = conn
        .prepare("SELECT name, type FROM pragma_table_info('map') UNION ALL SELECT name, type FROM pragma_table_info('images')")
        .expect("prepare")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert!(types.contains(&("tile_id".into(), "TEXT".into())));
    assert!(types.contains(&("tile_data".into(), "BLOB".into())));
    assert!(types.contains(&("zoom_level".into(), "INTEGER".into())));
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("parent")).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left beside the output");
}

#[test]
fn a_writer_dropped_without_finish_leaves_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("out.mbtiles");
    {
        let writer = MbtilesWriter::create(&path).expect("create");
        let sender = writer.sender().expect("sender");
        sender.send((TileId { z: 0, x: 0, y: 0 }, Arc::new(TileBlob::new(vec![1, 2, 3])))).expect("send");
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}
