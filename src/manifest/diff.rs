//! Two manifests → what changed: a streaming merge of two sorted tile lists (memory stays constant whatever
//! their size), counted per zoom, with each change handed to a callback for listing or uploading.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;

use super::{Entry, ManifestError, ManifestReader};

/// One tile that differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added(Entry),
    Removed(Entry),
    Changed { old: Entry, new: Entry },
}

/// Counts of one zoom.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ZoomDiff {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub unchanged: u64,
    /// Bytes of the added tiles.
    pub added_bytes: u64,
    /// Bytes of the removed tiles.
    pub removed_bytes: u64,
    /// Bytes of the changed tiles, before and after.
    pub changed_old_bytes: u64,
    pub changed_new_bytes: u64,
}

/// The difference between two manifests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    pub per_zoom: BTreeMap<u8, ZoomDiff>,
    /// Header fields that differ (name, zooms, bounds, layers, sources, …).
    pub header_changes: Vec<String>,
    pub old_tiles: u64,
    pub new_tiles: u64,
}

impl Diff {
    /// Sum over all zooms.
    pub fn total(&self) -> ZoomDiff {
        self.per_zoom.values().fold(ZoomDiff::default(), |mut t, z| {
            t.added += z.added;
            t.changed += z.changed;
            t.removed += z.removed;
            t.unchanged += z.unchanged;
            t.added_bytes += z.added_bytes;
            t.removed_bytes += z.removed_bytes;
            t.changed_old_bytes += z.changed_old_bytes;
            t.changed_new_bytes += z.changed_new_bytes;
            t
        })
    }

    /// True when tiles and header are the same.
    pub fn is_identical(&self) -> bool {
        let t = self.total();
        t.added == 0 && t.changed == 0 && t.removed == 0 && self.header_changes.is_empty()
    }
}

/// Merges two manifests (both read to the end and fully checked), handing every change to `on_change` in
/// (z, x, y) order. An error in either file stops the diff with that error; no partial result is returned.
pub fn diff<A: Read, B: Read>(
    old: &mut ManifestReader<A>,
    new: &mut ManifestReader<B>,
    on_change: &mut dyn FnMut(Change),
) -> Result<Diff, ManifestError> {
    let mut out = Diff { header_changes: header_changes(old.header(), new.header()), ..Diff::default() };
    let mut a = old.next_entry()?;
    let mut b = new.next_entry()?;
    loop {
        match (a, b) {
            (None, None) => break,
            (Some(o), None) => {
                removed(&mut out, o, on_change);
                a = old.next_entry()?;
            }
            (None, Some(n)) => {
                added(&mut out, n, on_change);
                b = new.next_entry()?;
            }
            (Some(o), Some(n)) => {
                if o.tile < n.tile {
                    removed(&mut out, o, on_change);
                    a = old.next_entry()?;
                } else if n.tile < o.tile {
                    added(&mut out, n, on_change);
                    b = new.next_entry()?;
                } else {
                    out.old_tiles += 1;
                    out.new_tiles += 1;
                    let z = out.per_zoom.entry(o.tile.z).or_default();
                    if o.sha256 == n.sha256 {
                        z.unchanged += 1;
                    } else {
                        z.changed += 1;
                        z.changed_old_bytes += u64::from(o.size);
                        z.changed_new_bytes += u64::from(n.size);
                        on_change(Change::Changed { old: o, new: n });
                    }
                    a = old.next_entry()?;
                    b = new.next_entry()?;
                }
            }
        }
    }
    Ok(out)
}

fn added(out: &mut Diff, n: Entry, on_change: &mut dyn FnMut(Change)) {
    out.new_tiles += 1;
    let z = out.per_zoom.entry(n.tile.z).or_default();
    z.added += 1;
    z.added_bytes += u64::from(n.size);
    on_change(Change::Added(n));
}

fn removed(out: &mut Diff, o: Entry, on_change: &mut dyn FnMut(Change)) {
    out.old_tiles += 1;
    let z = out.per_zoom.entry(o.tile.z).or_default();
    z.removed += 1;
    z.removed_bytes += u64::from(o.size);
    on_change(Change::Removed(o));
}

fn header_changes(a: &super::Header, b: &super::Header) -> Vec<String> {
    let mut changes = Vec::new();
    let mut check = |field: &str, differs: bool| {
        if differs {
            changes.push(field.to_owned());
        }
    };
    check("name", a.name != b.name);
    check("format", a.format != b.format);
    check("minzoom", a.minzoom != b.minzoom);
    check("maxzoom", a.maxzoom != b.maxzoom);
    check("bounds", a.bounds != b.bounds);
    check("vector_layers", a.vector_layers != b.vector_layers);
    check("sources", a.sources != b.sources);
    check("generator", a.generator != b.generator);
    check("metadata", a.metadata != b.metadata);
    changes
}
