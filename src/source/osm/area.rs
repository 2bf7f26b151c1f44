//! Whether a closed way is an area (a polygon) or a closed line (a roundabout, a fence): the one rule table.
//!
//! `area=yes` makes any closed way an area and `area=no` makes it a line. Otherwise a closed way is an area when
//! one of its tags is in [`AREA_TAGS`]: the keys GDAL's `osmconf.ini` lists in `closed_ways_are_polygons`
//! (aeroway, amenity, boundary, building, craft, geological, historic, landuse, leisure, military, natural,
//! office, place, shop, sport, tourism, and highway/public_transport platforms), plus `building:part`, `water`,
//! `man_made`, `power` and a few values of `waterway`, `railway` and `highway`; minus the values that tag
//! lines whatever their shape (`natural=coastline`, `natural=tree_row`, `aeroway=taxiway`, …), after the
//! OSM wiki's `Key:area` and iD's area keys. An open way is never an area.

/// Which values of a key make a closed way an area.
#[derive(Debug, Clone, Copy)]
pub enum AreaValues {
    /// Every value but these.
    AllBut(&'static [&'static str]),
    /// Only these.
    Only(&'static [&'static str]),
}

/// The tags that make a closed way an area (unless `area=no`), by key.
pub const AREA_TAGS: &[(&str, AreaValues)] = &[
    ("aeroway", AreaValues::AllBut(&["taxiway", "runway", "parking_position", "holding_position", "no"])),
    ("amenity", AreaValues::AllBut(&["bench", "no"])),
    ("boundary", AreaValues::AllBut(&["no"])),
    ("building", AreaValues::AllBut(&["no"])),
    ("building:part", AreaValues::AllBut(&["no"])),
    ("craft", AreaValues::AllBut(&["no"])),
    ("geological", AreaValues::AllBut(&["no"])),
    ("historic", AreaValues::AllBut(&["citywalls", "no"])),
    ("landuse", AreaValues::AllBut(&["no"])),
    ("leisure", AreaValues::AllBut(&["track", "slipway", "no"])),
    ("man_made", AreaValues::AllBut(&["cutline", "embankment", "pipeline", "breakwater", "groyne", "dyke", "no"])),
    ("military", AreaValues::AllBut(&["trench", "no"])),
    ("natural", AreaValues::AllBut(&["coastline", "tree_row", "cliff", "ridge", "arete", "valley", "no"])),
    ("office", AreaValues::AllBut(&["no"])),
    ("place", AreaValues::AllBut(&["no"])),
    ("power", AreaValues::Only(&["plant", "substation", "generator", "transformer"])),
    ("shop", AreaValues::AllBut(&["no"])),
    ("sport", AreaValues::AllBut(&["no"])),
    ("tourism", AreaValues::AllBut(&["no"])),
    ("water", AreaValues::AllBut(&["no"])),
    ("waterway", AreaValues::Only(&["riverbank", "dock", "boatyard", "dam"])),
    ("railway", AreaValues::Only(&["platform", "station", "turntable"])),
    ("highway", AreaValues::Only(&["platform", "rest_area", "services"])),
    ("public_transport", AreaValues::Only(&["platform", "station"])),
    ("area:highway", AreaValues::AllBut(&["no"])),
];

/// Whether a closed way with these tags is an area.
pub fn is_area<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> bool {
    if let Some((_, value)) = tags.clone().into_iter().find(|(k, _)| *k == "area") {
        match value {
            "yes" => return true,
            "no" => return false,
            _ => {}
        }
    }
    tags.into_iter().any(|(key, value)| {
        AREA_TAGS.iter().any(|(k, values)| {
            *k == key
                && match values {
                    AreaValues::AllBut(not) => !not.contains(&value),
                    AreaValues::Only(only) => only.contains(&value),
                }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::is_area;

    fn area(tags: &[(&str, &str)]) -> bool {
        is_area(tags.iter().copied())
    }

    #[test]
    fn the_area_rule() {
        assert!(area(&[("building", "yes")]));
        assert!(area(&[("landuse", "grass"), ("name", "x")]));
        assert!(area(&[("natural", "water")]));
        assert!(area(&[("amenity", "parking")]));
        assert!(area(&[("leisure", "park")]));
        assert!(area(&[("waterway", "riverbank")]));
        assert!(area(&[("highway", "pedestrian"), ("area", "yes")]), "area=yes makes anything an area");
        assert!(area(&[("highway", "platform")]));
        // Lines whatever their shape.
        assert!(!area(&[("highway", "residential")]), "a closed street is a ring road");
        assert!(!area(&[("natural", "coastline")]));
        assert!(!area(&[("natural", "tree_row")]));
        assert!(!area(&[("barrier", "fence")]));
        assert!(!area(&[("waterway", "stream")]));
        assert!(!area(&[("leisure", "track")]));
        assert!(!area(&[("building", "yes"), ("area", "no")]), "area=no wins");
        assert!(!area(&[("building", "no")]));
        assert!(!area(&[]));
        assert!(!area(&[("name", "nothing else")]));
        assert!(area(&[("highway", "footway"), ("amenity", "marketplace")]), "any tag that implies an area");
    }
}
