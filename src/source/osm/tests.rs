//! Reading the Monaco extract (`fixtures/monaco.osm.pbf`) with a small profile: the same objects from either
//! node store, relations assembled with their holes, and relations cut by the extract counted.

use std::path::PathBuf;

use geo::Geometry;

use super::*;

fn monaco() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/monaco.osm.pbf")
}

/// Wants every building and every administrative boundary; gives (id, kind, name, geometry).
struct Buildings;

impl OsmProfile for Buildings {
    type Out = (OsmId, GeometryType, Option<String>, Geometry<f64>);

    fn wants(&self, tags: &[(&str, &str)], kind: GeometryType) -> bool {
        kind == GeometryType::Polygon && tags.iter().any(|(k, v)| *k == "building" || *v == "administrative")
    }

    fn emit(&self, object: OsmObject<'_>) -> Option<Self::Out> {
        let name = object.tags.iter().find(|(k, _)| *k == "name").map(|(_, v)| (*v).to_owned());
        Some((object.id, object.kind, name, object.geometry))
    }
}

fn read_with(store: NodeStoreKind) -> (Vec<<Buildings as OsmProfile>::Out>, OsmStats) {
    // The dense store's file in memory where the machine has /dev/shm: on a disk, writing back its 25,000 pages
    // (one per node: Monaco's ids are far apart) takes seconds.
    let shm = std::path::Path::new("/dev/shm");
    let temp_dir = shm.is_dir().then(|| shm.to_path_buf());
    let read = read(&monaco(), &Buildings, ReadOptions { node_store: Some(store), temp_dir });
    read.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn both_node_stores_give_the_same_objects() {
    let (packed, packed_stats) = read_with(NodeStoreKind::Packed);
    let (dense, dense_stats) = read_with(NodeStoreKind::Dense);
    assert_eq!(packed_stats.node_store, NodeStoreKind::Packed);
    assert_eq!(dense_stats.node_store, NodeStoreKind::Dense);
    assert_eq!(packed_stats.nodes, 25_423);
    assert_eq!(dense_stats.nodes, 25_423);
    assert!(packed.len() > 1200, "{}", packed.len());
    assert!(packed == dense, "the stores disagree");
    eprintln!(
        "Monaco: packed store {} bytes ({:.2} a node), dense store {} bytes on disk ({:.0} a node)",
        packed_stats.node_store_bytes,
        packed_stats.bytes_per_node(),
        dense_stats.node_store_bytes,
        dense_stats.bytes_per_node()
    );
    // Without a choice, an extract of 445 KB gets the packed store.
    let (_, auto) = read(&monaco(), &Buildings, ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(auto.node_store, NodeStoreKind::Packed);
}

#[test]
fn relations_come_with_their_holes_and_cut_ones_are_counted() {
    let (objects, stats) = read_with(NodeStoreKind::Packed);
    let palace = objects.iter().find(|(id, ..)| *id == OsmId::Relation(393_226)).expect("relation 393226");
    assert_eq!(palace.2.as_deref(), Some("Palais Princier de Monaco"));
    let Geometry::Polygon(polygon) = &palace.3 else { panic!("one polygon: {:?}", palace.3) };
    assert_eq!(polygon.interiors().len(), 1, "the courtyard");
    // The boundaries of France and of the Alpes-Maritimes reach far beyond the extract.
    assert!(stats.broken.missing_member > 0, "{stats:?}");
    assert_eq!(stats.broken_relations, stats.broken.total());
    assert_eq!(stats.broken_ids.len() as u64, stats.broken_relations);
    // None crosses itself here, so every broken one is left out.
    assert_eq!(stats.broken.self_crossing, 0);
    let left_out = |id: &OsmId| matches!(id, OsmId::Relation(r) if stats.broken_ids.contains(r));
    assert!(!objects.iter().any(|(id, ..)| left_out(id)), "broken relations are left out");
    // Monaco-Ville's boundary (relation 2220207) is whole. (Monaco's own, 1124039, runs out to sea beyond the
    // extract, and GDAL leaves it out too.)
    assert!(objects.iter().any(|(id, ..)| *id == OsmId::Relation(2_220_207)), "Monaco-Ville");
}
