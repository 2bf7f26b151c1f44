use std::sync::Arc;

use super::*;
use crate::archive::{MbtilesWriter, Metadata, TileBlob};
use crate::tiling::Bbox;

fn tid(z: u8, x: u32, y: u32) -> TileId {
    TileId { z, x, y }
}

/// A normalized MBTiles written by our writer: 0/0/0 "a", 1/0/0 and 1/1/1 "b" (the same blob twice).
fn normalized(dir: &Path) -> PathBuf {
    let path = dir.join("normalized.mbtiles");
    let writer = MbtilesWriter::create(&path).expect("create");
    let sender = writer.sender().expect("sender");
    let (a, b) = (Arc::new(TileBlob::new(b"a".to_vec())), Arc::new(TileBlob::new(b"b".to_vec())));
    for (tile, blob) in [(tid(1, 1, 1), b.clone()), (tid(0, 0, 0), a), (tid(1, 0, 0), b)] {
        sender.send((tile, blob)).expect("send");
    }
    drop(sender);
    let metadata = Metadata {
        name: "n".into(),
        description: String::new(),
        attribution: String::new(),
        format: "png".into(),
        baselayer: false,
        bounds: Bbox::WORLD,
        center: (0.0, 0.0, 0),
        minzoom: 0,
        maxzoom: 1,
        vector_layers: None,
        extra: Default::default(),
    };
    writer.finish(&metadata).expect("finish").commit().expect("commit");
    path
}

/// A flat MBTiles as other tools write it, without metadata: the same blob at two addresses, one NULL tile.
fn flat(dir: &Path) -> PathBuf {
    let path = dir.join("flat.mbtiles");
    let conn = Connection::open(&path).expect("create");
    conn.execute_batch(
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);
         INSERT INTO tiles VALUES (1, 0, 1, X'78'), (1, 1, 0, X'78'), (1, 1, 1, NULL);",
    )
    .expect("schema");
    path
}

fn all_tiles(reader: &MbtilesReader) -> Vec<(Option<TileId>, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    reader
        .for_each_tile(|t| {
            out.push((t.tile(), t.data));
            Ok::<_, ArchiveError>(())
        })
        .expect("tiles");
    out
}

fn all_blobs(reader: &MbtilesReader) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    reader
        .for_each_blob(|b| {
            out.push(b);
            Ok::<_, ArchiveError>(())
        })
        .expect("blobs");
    out.sort();
    out
}

#[test]
fn reads_the_normalized_layout_in_xyz_order_with_each_blob_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reader = MbtilesReader::open(&normalized(dir.path())).expect("open");
    assert!(reader.is_normalized().expect("layout"));
    let tiles = all_tiles(&reader);
    let order: Vec<_> = tiles.iter().map(|(t, _)| *t).collect();
    assert_eq!(order, [Some(tid(0, 0, 0)), Some(tid(1, 0, 0)), Some(tid(1, 1, 1))]);
    assert_eq!(all_blobs(&reader), [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(reader.tile(tid(1, 1, 1)).expect("tile"), Some(b"b".to_vec()));
    assert_eq!(reader.tile(tid(1, 0, 1)).expect("tile"), None);
    assert_eq!(reader.metadata_value("format").expect("meta"), Some("png".to_owned()));
    assert_eq!(reader.metadata_value("nope").expect("meta"), None);
    assert_eq!(reader.metadata().expect("meta").get("name").map(String::as_str), Some("n"));
    assert_eq!(reader.zoom_extent().expect("zooms"), (Some(0), Some(1)));
    let range = reader.stored_range(1).expect("range").expect("tiles at z1");
    assert_eq!((range.x_min, range.x_max, range.y_min, range.y_max), (0, 1, 0, 1));
    let inside: Vec<TileId> = reader.tiles_in(range).expect("tiles").into_iter().map(|(t, _)| t).collect();
    // By column, then TMS row: south first.
    assert_eq!(inside, [tid(1, 0, 0), tid(1, 1, 1)]);
}

#[test]
fn reads_a_flat_tiles_table_and_keeps_nulls_and_repeats_visible() {
    let dir = tempfile::tempdir().expect("tempdir");
    let reader = MbtilesReader::open(&flat(dir.path())).expect("open");
    assert!(!reader.is_normalized().expect("layout"));
    assert!(reader.metadata().expect("no metadata table").is_empty());
    let tiles = all_tiles(&reader);
    assert_eq!(tiles.len(), 3);
    assert_eq!(tiles[0], (Some(tid(1, 0, 0)), Some(b"x".to_vec())));
    assert_eq!(tiles[1], (Some(tid(1, 1, 0)), None));
    assert_eq!(all_blobs(&reader), [b"x".to_vec(), b"x".to_vec()]);
    assert_eq!(reader.stored_range(5).expect("range"), None);
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.mbtiles");
    let err = MbtilesReader::open(&path).err().expect("an error");
    assert_eq!(err.to_string(), format!("{}: no such file", path.display()));
    assert!(!path.exists(), "opening read-only creates nothing");
}

#[test]
fn an_off_grid_row_has_no_tile_address() {
    let row = StoredTile { zoom: 1, column: 0, row: 2, data: None };
    assert_eq!(row.tile(), None);
    assert_eq!(StoredTile { zoom: 1, column: 1, row: 0, data: None }.tile(), Some(tid(1, 1, 1)));
}
