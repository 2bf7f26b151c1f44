//! The two passes over a `.osm.pbf` file, as planetiler makes them.
//!
//! - **Pass 1** decodes every block: node locations go into the [`NodeStore`], tagged nodes that the profile
//!   wants become points, and multipolygon and boundary relations that it wants are kept with their member
//!   ways' ids. It also notes which blocks hold ways.
//! - **Pass 2** decodes only those blocks: a way that the profile wants becomes a line or (closed, by the
//!   [`super::area`] rule) an area; a way that a kept relation needs keeps its locations.
//! - Then each kept relation is assembled from its member ways ([`super::rings`]), in parallel.
//!
//! Results come out in file order (points, then ways, then relations), whatever the number of threads.

use std::path::Path;

use geo::{Geometry, LineString, MultiPolygon, Point, Polygon};
use osmpbf::{PrimitiveBlock, RelMemberType};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use tracing::warn;

use super::super::validate::Checker;
use super::super::{Result, SourceError};
use super::blocks::for_each_block;
use super::nodes::{Builder, DENSE_IDS, NodeStore, NodeStoreKind, PBF_BYTES_PER_NODE};
use super::rings::{self, MemberWay};
use super::{Broken, OsmId, OsmObject, OsmProfile, OsmStats};
use crate::expr::GeometryType;

/// How to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The node store to use, or `None` to choose it from the file's size.
    pub node_store: Option<NodeStoreKind>,
    /// Where the dense store's temporary file goes (default: the system's temporary folder).
    pub temp_dir: Option<std::path::PathBuf>,
}

/// A relation's output and whether a ring of it crosses itself, or why it could not be built.
type Assembled<T> = std::result::Result<(Option<T>, bool), Broken>;

/// A relation kept in pass 1.
struct Relation {
    id: i64,
    tags: Vec<(String, String)>,
    ways: Vec<i64>,
}

struct Pass1<T> {
    nodes: Vec<(i64, [i32; 2])>,
    points: Vec<T>,
    relations: Vec<Relation>,
    has_ways: bool,
    invalid: u64,
}

struct Pass2<T> {
    out: Vec<T>,
    members: Vec<(i64, MemberWay)>,
    /// Ways left out because a node is missing from the file (their ids, for the log).
    missing: Vec<i64>,
    degenerate: u64,
    invalid: u64,
}

/// Reads `path`, handing every object that `profile` wants to [`OsmProfile::emit`] (on the worker threads), and
/// gives the results in file order with what the reader saw.
pub fn read<P: OsmProfile>(path: &Path, profile: &P, options: ReadOptions) -> Result<(Vec<P::Out>, OsmStats)> {
    let started = std::time::Instant::now();
    let io = |source| SourceError::Io { path: path.to_path_buf(), source };
    let file_bytes = std::fs::metadata(path).map_err(io)?.len();
    let expected = file_bytes / PBF_BYTES_PER_NODE;
    let kind = options.node_store.unwrap_or_else(|| NodeStoreKind::choose(expected));
    let mut store = Builder::new(kind, DENSE_IDS, options.temp_dir.as_deref()).map_err(io)?;
    let mut out: Vec<P::Out> = Vec::new();
    let mut relations: Vec<Relation> = Vec::new();
    let mut way_blocks: Vec<bool> = Vec::new();
    let mut stats = OsmStats::default();
    let pass1 = |_: usize, block: &PrimitiveBlock| Ok(pass1_block(block, profile));
    let blocks = for_each_block(path, &|_| true, &pass1, &mut |index, p: Pass1<P::Out>| {
        for (id, location) in p.nodes {
            store.push(id, location).map_err(|message| SourceError::Format { path: path.to_path_buf(), message })?;
        }
        out.extend(p.points);
        relations.extend(p.relations);
        stats.invalid += p.invalid;
        way_blocks.resize(index + 1, false);
        way_blocks[index] = p.has_ways;
        Ok(())
    })?;
    if blocks == 0 {
        return Err(SourceError::Empty { path: path.to_path_buf() });
    }
    let store = store.finish();
    stats.nodes = store.count();
    stats.node_store = store.kind();
    stats.node_store_bytes = store.bytes();
    stats.relations = relations.len() as u64;
    let mut needed: Vec<i64> = relations.iter().flat_map(|r| r.ways.iter().copied()).collect();
    needed.sort_unstable();
    needed.dedup();

    let pass1_seconds = started.elapsed().as_secs_f64();
    let mut members: FxHashMap<i64, MemberWay> = FxHashMap::default();
    let pass2 = |_: usize, block: &PrimitiveBlock| Ok(pass2_block(block, profile, &store, &needed));
    let wanted = |index: usize| way_blocks.get(index).copied().unwrap_or(false);
    for_each_block(path, &wanted, &pass2, &mut |_, p: Pass2<P::Out>| {
        out.extend(p.out);
        members.extend(p.members);
        for id in &p.missing {
            tracing::debug!("{}: way {id}: a node is missing from the file; way left out", path.display());
        }
        stats.ways_missing_nodes += p.missing.len() as u64;
        stats.degenerate += p.degenerate;
        stats.invalid += p.invalid;
        Ok(())
    })?;

    let pass2_seconds = started.elapsed().as_secs_f64() - pass1_seconds;
    let assembled: Vec<(i64, Assembled<P::Out>)> = relations
        .par_iter()
        .map(|relation| {
            let result = assemble(relation, &members).map(|(geometry, crossing)| {
                let tags: Vec<(&str, &str)> = relation.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let object =
                    OsmObject { id: OsmId::Relation(relation.id), tags: &tags, kind: GeometryType::Polygon, geometry };
                (profile.emit(object), crossing)
            });
            (relation.id, result)
        })
        .collect();
    for (id, result) in assembled {
        match result {
            Ok((emitted, crossing)) => {
                if crossing {
                    warn!("{}: relation {id}: {}; kept, repaired when tiled", path.display(), Broken::SelfCrossing);
                    stats.broken.self_crossing += 1;
                    stats.broken_ids.push(id);
                }
                out.extend(emitted);
            }
            Err(broken) => {
                warn!("{}: relation {id}: {broken}; relation left out", path.display());
                match broken {
                    Broken::MissingMember => stats.broken.missing_member += 1,
                    Broken::UnclosedRing => stats.broken.unclosed_ring += 1,
                    Broken::SelfCrossing => stats.broken.self_crossing += 1,
                    Broken::BadLocation => stats.broken.bad_location += 1,
                }
                stats.broken_ids.push(id);
            }
        }
    }
    stats.broken_relations = stats.broken.total();
    tracing::info!(
        source = %path.display(),
        blocks,
        nodes = stats.nodes,
        node_store = stats.node_store.as_str(),
        node_store_bytes = stats.node_store_bytes,
        relations = stats.relations,
        broken_relations = stats.broken_relations,
        pass1_seconds,
        pass2_seconds,
        relations_seconds = started.elapsed().as_secs_f64() - pass1_seconds - pass2_seconds,
        "read OpenStreetMap extract"
    );
    Ok((out, stats))
}

fn pass1_block<P: OsmProfile>(block: &PrimitiveBlock, profile: &P) -> Pass1<P::Out> {
    let mut p = Pass1 { nodes: Vec::new(), points: Vec::new(), relations: Vec::new(), has_ways: false, invalid: 0 };
    let mut tags: Vec<(&str, &str)> = Vec::new();
    let point = |id: i64, location: [i32; 2], tags: &[(&str, &str)], p: &mut Pass1<P::Out>| {
        if tags.is_empty() || !profile.wants(tags, GeometryType::Point) {
            return;
        }
        let c = rings::to_coord(location);
        if Checker::default().point(c).is_err() {
            p.invalid += 1;
            return;
        }
        let object = OsmObject { id: OsmId::Node(id), tags, kind: GeometryType::Point, geometry: Point(c).into() };
        p.points.extend(profile.emit(object));
    };
    for group in block.groups() {
        for node in group.dense_nodes() {
            let location = [node.decimicro_lon(), node.decimicro_lat()];
            p.nodes.push((node.id(), location));
            tags.clear();
            tags.extend(node.tags());
            point(node.id(), location, &tags, &mut p);
        }
        for node in group.nodes() {
            let location = [node.decimicro_lon(), node.decimicro_lat()];
            p.nodes.push((node.id(), location));
            tags.clear();
            tags.extend(node.tags());
            point(node.id(), location, &tags, &mut p);
        }
        p.has_ways |= group.ways().next().is_some();
        for relation in group.relations() {
            tags.clear();
            tags.extend(relation.tags());
            let kind = tags.iter().find(|(k, _)| *k == "type").map(|(_, v)| *v);
            if !matches!(kind, Some("multipolygon" | "boundary")) || !profile.wants(&tags, GeometryType::Polygon) {
                continue;
            }
            let ways =
                relation.members().filter(|m| m.member_type == RelMemberType::Way).map(|m| m.member_id).collect();
            let tags = tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            p.relations.push(Relation { id: relation.id(), tags, ways });
        }
    }
    p
}

fn pass2_block<P: OsmProfile>(block: &PrimitiveBlock, profile: &P, store: &NodeStore, needed: &[i64]) -> Pass2<P::Out> {
    let mut p = Pass2 { out: Vec::new(), members: Vec::new(), missing: Vec::new(), degenerate: 0, invalid: 0 };
    let mut tags: Vec<(&str, &str)> = Vec::new();
    let mut refs: Vec<i64> = Vec::new();
    for group in block.groups() {
        for way in group.ways() {
            let id = way.id();
            refs.clear();
            refs.extend(way.refs());
            let (Some(&first), Some(&last)) = (refs.first(), refs.last()) else { continue };
            tags.clear();
            tags.extend(way.tags());
            let closed = refs.len() >= 4 && first == last;
            let kind = if closed && super::area::is_area(tags.iter().copied()) {
                GeometryType::Polygon
            } else {
                GeometryType::LineString
            };
            let member = needed.binary_search(&id).is_ok();
            let wanted = !tags.is_empty() && profile.wants(&tags, kind);
            if !wanted && !member {
                continue;
            }
            let Some(mut coords) = refs.iter().map(|n| store.get(*n)).collect::<Option<Vec<[i32; 2]>>>() else {
                p.missing.push(id);
                continue;
            };
            if member {
                p.members.push((id, MemberWay { first, last, coords: coords.clone() }));
            }
            if !wanted {
                continue;
            }
            coords.dedup();
            let line = LineString::new(coords.into_iter().map(rings::to_coord).collect());
            let mut checker = Checker::default();
            let geometry: Geometry<f64> = match kind {
                GeometryType::Polygon if line.0.len() >= 4 => {
                    if checker.polygon([line.0.as_slice()], None).is_err() {
                        p.invalid += 1;
                        continue;
                    }
                    Polygon::new(line, vec![]).into()
                }
                GeometryType::LineString if line.0.len() >= 2 => {
                    if checker.line_string(&line.0, None).is_err() {
                        p.invalid += 1;
                        continue;
                    }
                    line.into()
                }
                _ => {
                    p.degenerate += 1;
                    continue;
                }
            };
            p.out.extend(profile.emit(OsmObject { id: OsmId::Way(id), tags: &tags, kind, geometry }));
        }
    }
    p
}

/// A relation's polygons from its member ways, and whether a ring crosses itself; or why it cannot be built.
fn assemble(
    relation: &Relation,
    members: &FxHashMap<i64, MemberWay>,
) -> std::result::Result<(Geometry<f64>, bool), Broken> {
    let ways: Vec<&MemberWay> =
        relation.ways.iter().map(|id| members.get(id)).collect::<Option<_>>().ok_or(Broken::MissingMember)?;
    if ways.is_empty() {
        return Err(Broken::MissingMember);
    }
    let rings = rings::join_rings(&ways).map_err(|_| Broken::UnclosedRing)?;
    if rings.is_empty() {
        return Err(Broken::UnclosedRing);
    }
    let crossing = rings.iter().any(|r| rings::crosses_itself(r));
    let polygons: Vec<Polygon<f64>> =
        rings::nest(rings).iter().map(|(exterior, holes)| rings::to_polygon(exterior, holes)).collect();
    let mut checker = Checker::default();
    for polygon in &polygons {
        let all = std::iter::once(polygon.exterior()).chain(polygon.interiors()).map(|r| r.0.as_slice());
        checker.polygon(all, None).map_err(|_| Broken::BadLocation)?;
    }
    let geometry = match <[Polygon<f64>; 1]>::try_from(polygons) {
        Ok([one]) => one.into(),
        Err(many) => MultiPolygon(many).into(),
    };
    Ok((geometry, crossing))
}
