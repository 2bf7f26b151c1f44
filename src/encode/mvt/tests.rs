use geozero::mvt::{Message, Tile, tile::GeomType};

use super::*;

fn decode(bytes: &[u8]) -> Tile {
    Tile::decode(bytes).expect("our bytes must decode with an independent protobuf decoder")
}

fn one_feature_geometry(geom: &PieceGeom) -> Vec<u32> {
    let layers = [TileLayer { name: "l", buffer: 64, features: vec![TileFeature { properties: &[], geom }] }];
    let tile = decode(&encode_tile(&layers));
    tile.layers[0].features[0].geometry.clone()
}

#[test]
fn geometry_commands_match_the_spec_examples() {
    // MVT 2.1 spec, section 4.3.5: a point at (25, 17).
    assert_eq!(one_feature_geometry(&PieceGeom::Points(vec![[25, 17]])), vec![9, 50, 34]);
    // 4.3.5.2: a linestring (2,2) (2,10) (10,10).
    assert_eq!(
        one_feature_geometry(&PieceGeom::Lines(vec![vec![[2, 2], [2, 10], [10, 10]]])),
        vec![9, 4, 4, 18, 0, 16, 16, 0]
    );
    // 4.3.5.3: a polygon (3,6) (8,12) (20,34) closed with ClosePath.
    assert_eq!(
        one_feature_geometry(&PieceGeom::Polygons(vec![vec![vec![[3, 6], [8, 12], [20, 34]]]])),
        vec![9, 6, 12, 18, 10, 12, 24, 44, 15]
    );
    // Multi-point: one MoveTo with a count of 2, deltas relative to the previous point.
    assert_eq!(one_feature_geometry(&PieceGeom::Points(vec![[5, 7], [3, 2]])), vec![17, 10, 14, 3, 9]);
}

#[test]
fn layer_has_version_2_extent_4096_and_deduplicated_keys_and_values() {
    let a = vec![("kind".to_owned(), Value::String("road".into())), ("lanes".to_owned(), Value::Int(2))];
    let b = vec![
        ("kind".to_owned(), Value::String("road".into())),
        ("lanes".to_owned(), Value::Int(-3)),
        ("oneway".to_owned(), Value::Bool(true)),
        ("width".to_owned(), Value::Float(7.5)),
    ];
    let geom = PieceGeom::Points(vec![[1, 1]]);
    let layers = [
        TileLayer {
            name: "roads",
            buffer: 64,
            features: vec![TileFeature { properties: &a, geom: &geom }, TileFeature { properties: &b, geom: &geom }],
        },
        TileLayer { name: "empty", buffer: 64, features: vec![] },
    ];
    let tile = decode(&encode_tile(&layers));
    assert_eq!(tile.layers.len(), 1, "layers without features are left out");
    let layer = &tile.layers[0];
    assert_eq!((layer.name.as_str(), layer.version, layer.extent), ("roads", 2, Some(4096)));
    assert_eq!(layer.keys, vec!["kind", "lanes", "oneway", "width"]);
    assert_eq!(layer.values.len(), 5, "\"road\" is stored once");
    assert_eq!(layer.features[0].tags, vec![0, 0, 1, 1]);
    assert_eq!(layer.features[1].tags, vec![0, 0, 1, 2, 2, 3, 3, 4]);
    assert_eq!(layer.values[1].uint_value, Some(2));
    assert_eq!(layer.values[2].sint_value, Some(-3));
    assert_eq!(layer.values[3].bool_value, Some(true));
    assert_eq!(layer.values[4].double_value, Some(7.5));
    assert_eq!(layer.features[0].r#type, Some(GeomType::Point as i32));
}

#[test]
fn full_tile_is_a_clockwise_square_over_the_buffer() {
    let cmds = one_feature_geometry(&PieceGeom::Full);
    // MoveTo(-64,-64) LineTo x3 ClosePath.
    assert_eq!(cmds[0], 9);
    assert_eq!((cmds[1], cmds[2]), (zigzag32(-64), zigzag32(-64)));
    assert_eq!(cmds[3], (3 << 3) | 2);
    assert_eq!(&cmds[4..6], &[zigzag32(4096 + 128), 0]);
    assert_eq!(*cmds.last().expect("commands"), 15);
}

#[test]
fn zigzag_and_varints_round_trip() {
    assert_eq!([zigzag32(0), zigzag32(-1), zigzag32(1), zigzag32(-2)], [0, 1, 2, 3]);
    for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
        let mut buf = Vec::new();
        write_varint(&mut buf, v);
        assert_eq!(buf.len(), varint_len(v), "{v}");
    }
}
