//! OpenStreetMap `.osm.pbf` extracts → points, lines and areas with their tags, for the objects a profile wants.
//!
//! Unlike the other readers this one is driven by a profile ([`OsmProfile`]): most of an extract is untagged
//! nodes and objects no layer uses, so the profile says before any geometry is built whether an object with
//! these tags and this geometry type is wanted, and turns each built object into its output on the worker
//! threads. The pieces, in the order a read uses them:
//!
//! - `blocks.rs`: blobs → decoded blocks, in parallel, in file order (the `osmpbf` crate);
//! - `nodes.rs`: the node location store (packed, or a dense memory-mapped array for the planet);
//! - `read.rs`: the two passes (relations and node locations, then ways), and relation assembly;
//! - `area.rs`: the rule that says which closed ways are areas;
//! - `rings.rs`: member ways → rings → polygons with holes, and the self-crossing check.
//!
//! What becomes what: a node with tags is a point; an open way a line; a closed way an area when the
//! [`is_area`] rule says so, else a line; a `type=multipolygon` or `type=boundary` relation an area
//! (a polygon or multipolygon, rings nested by containment). Boundary relations give areas only (as GDAL's
//! `multipolygons` layer does); boundary lines come from the member ways' own tags. Old-style multipolygons
//! (tags on the outer way, none on the relation) are not merged: OSM has had none since 2017. A relation that
//! cannot be built (a member missing, for example cut away by the extract's boundary; a ring that does not
//! close) is left out, counted and logged with its id, and never stops the read; one whose ring crosses itself
//! is counted and logged but kept (tiling makes every clipped polygon valid). A way with a node missing from the
//! file is left out and counted.

mod area;
mod blocks;
mod nodes;
mod read;
mod rings;

pub use area::{AREA_TAGS, AreaValues, is_area};
pub use nodes::{DENSE_IDS, DENSE_MIN_NODES, NodeStoreKind, PACKED_BLOCK, PBF_BYTES_PER_NODE};
pub use read::{ReadOptions, read};

use std::fmt;

use serde::Serialize;

use crate::expr::GeometryType;

/// The OSM element an object comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsmId {
    Node(i64),
    Way(i64),
    Relation(i64),
}

/// One object built from the file: its tags (borrowed from the block being read) and its geometry in lon/lat.
#[derive(Debug)]
pub struct OsmObject<'a> {
    pub id: OsmId,
    pub tags: &'a [(&'a str, &'a str)],
    /// `Point` (a node), `LineString` (a way that is no area) or `Polygon` (an area: a closed way or a relation).
    pub kind: GeometryType,
    pub geometry: geo::Geometry<f64>,
}

/// What a read makes of the objects: which it wants, and the output of each one it wants.
pub trait OsmProfile: Sync {
    type Out: Send;
    /// Whether an object with these tags and this geometry type is wanted (asked before its geometry is built;
    /// for relations in pass 1, to keep only the member ways that are needed).
    fn wants(&self, tags: &[(&str, &str)], kind: GeometryType) -> bool;
    /// The output of one wanted object, or `None` (it lies outside the build area, say). Called on the worker
    /// threads; the outputs are returned in file order.
    fn emit(&self, object: OsmObject<'_>) -> Option<Self::Out>;
}

/// Why a relation was not built as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A member way is not in the file (an extract cuts relations at its boundary), or the relation has no way.
    MissingMember,
    /// The member ways do not join into closed rings.
    UnclosedRing,
    /// A ring crosses itself (the relation is kept; tiling repairs it).
    SelfCrossing,
    /// A node location is not a lon/lat position.
    BadLocation,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Broken::MissingMember => "a member way is missing from the file (cut by the extract?)",
            Broken::UnclosedRing => "its member ways do not join into closed rings",
            Broken::SelfCrossing => "a ring crosses itself",
            Broken::BadLocation => "a node lies outside the lon/lat range",
        })
    }
}

/// Broken relations by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BrokenCounts {
    pub missing_member: u64,
    pub unclosed_ring: u64,
    pub self_crossing: u64,
    pub bad_location: u64,
}

impl BrokenCounts {
    pub fn total(&self) -> u64 {
        self.missing_member + self.unclosed_ring + self.self_crossing + self.bad_location
    }
}

/// What a read saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmStats {
    /// Node locations stored.
    pub nodes: u64,
    pub node_store: NodeStoreKind,
    pub node_store_bytes: u64,
    /// Multipolygon and boundary relations the profile wanted.
    pub relations: u64,
    /// Of those, the ones that could not be built as they are (`broken` says why; ids in `broken_ids`).
    pub broken_relations: u64,
    pub broken: BrokenCounts,
    pub broken_ids: Vec<i64>,
    /// Wanted ways left out because a node is missing from the file.
    pub ways_missing_nodes: u64,
    /// Wanted ways of fewer than 2 distinct points (lines) or 3 (areas), left out.
    pub degenerate: u64,
    /// Wanted objects with a location outside the lon/lat range, left out.
    pub invalid: u64,
}

impl OsmStats {
    /// Bytes of the node store per stored node.
    pub fn bytes_per_node(&self) -> f64 {
        if self.nodes == 0 { 0.0 } else { self.node_store_bytes as f64 / self.nodes as f64 }
    }
}

#[cfg(test)]
mod tests;
