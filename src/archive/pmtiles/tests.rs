use super::*;
use crate::tiling::TileId;

fn rows() -> Vec<(String, String)> {
    vec![("name".into(), "t".into()), ("format".into(), "pbf".into()), ("bounds".into(), "7,43,8,44".into())]
}

#[test]
fn tiles_come_back_deduplicated_with_run_lengths_in_any_add_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tiles: Vec<(TileId, Vec<u8>)> = (0..4u32)
        .flat_map(|x| (0..4u32).map(move |y| (x, y)))
        .map(|(x, y)| {
            (
                TileId::new(2, x, y).expect("tile"),
                if x < 2 { vec![0x1f, 0x8b, 1] } else { vec![0x1f, 0x8b, x as u8, y as u8] },
            )
        })
        .collect();
    let write = |name: &str, rev: bool| {
        let path = dir.path().join(name);
        let mut w = PmtilesWriter::create(&path).expect("create");
        let mut order = tiles.clone();
        if rev {
            order.reverse();
        }
        for (t, d) in &order {
            w.add(*t, d).expect("add");
        }
        (w.finish(&rows()).expect("finish"), path)
    };
    let (a, pa) = write("a.pmtiles", false);
    let (b, pb) = write("b.pmtiles", true);
    assert_eq!(std::fs::read(&pa).expect("a"), std::fs::read(&pb).expect("b"));
    assert_eq!(a.sha256, b.sha256);
    assert_eq!((a.tiles, a.tile_contents), (16, 9));
    assert!(a.tile_entries < 16, "the 8 identical tiles of x < 2 merge into runs");
    let r = PmtilesReader::open(&pa).expect("open");
    assert_eq!(r.header().tile_compression, Compression::Gzip);
    assert_eq!(r.header().tile_type, TileType::Mvt);
    for (t, d) in &tiles {
        assert_eq!(r.tile(*t).expect("read").as_deref(), Some(d.as_slice()), "{t}");
    }
    assert_eq!(r.tile(TileId::new(3, 0, 0).expect("tile")).expect("read"), None);
    let mut n = 0;
    r.for_each_tile(|_, _| {
        n += 1;
        Ok::<(), ArchiveError>(())
    })
    .expect("walk");
    assert_eq!(n, 16);
    assert_eq!(r.metadata_rows().expect("rows")["bounds"], "7,43,8,44");
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.pmtiles");
    let mut w = PmtilesWriter::create(&path).expect("create");
    for x in 0..64u32 {
        w.add(TileId::new(6, x, 0).expect("tile"), &[x as u8 + 1; 30]).expect("add");
    }
    w.finish(&rows()).expect("finish");
    let good = std::fs::read(&path).expect("read");
    let bad = dir.path().join("bad.pmtiles");
    let mut cases: Vec<Vec<u8>> = vec![b"garbage".to_vec(), good[..100].to_vec(), good[..good.len() - 5].to_vec()];
    for i in [130usize, 140, 150] {
        let mut flipped = good.clone();
        flipped[i] ^= 0xff;
        cases.push(flipped);
    }
    for case in cases {
        std::fs::write(&bad, &case).expect("write");
        let result = PmtilesReader::open(&bad).and_then(|r| {
            r.for_each_tile(|_, _| Ok::<(), ArchiveError>(()))?;
            r.metadata_rows().map(|_| ())
        });
        if let Err(e) = result {
            assert!(e.to_string().contains("bad.pmtiles"), "{e}");
        }
    }
}
