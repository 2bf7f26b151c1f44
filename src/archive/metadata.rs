//! The MBTiles `metadata` table: the MBTiles 1.3 keys plus, for vector tiles, the `json` key with
//! `vector_layers`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::tiling::Bbox;

/// The type of one attribute, as TileJSON's `vector_layers[].fields` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FieldType {
    String,
    Number,
    Boolean,
    /// Values of more than one type under one key.
    Mixed,
}

impl FieldType {
    /// The type of a key after seeing one more value of type `other`.
    pub fn merge(self, other: FieldType) -> FieldType {
        if self == other { self } else { FieldType::Mixed }
    }
}

/// One entry of `vector_layers`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VectorLayer {
    pub id: String,
    pub description: String,
    pub minzoom: u8,
    pub maxzoom: u8,
    pub fields: BTreeMap<String, FieldType>,
}

/// Everything that goes into the `metadata` table (besides `agg_tiles_hash`, computed by the writer).
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub name: String,
    pub description: String,
    pub attribution: String,
    /// `pbf` for vector tiles, `png` for raster ones.
    pub format: String,
    /// `type`: `baselayer` (a raster tileset with an opaque background) or `overlay`.
    pub baselayer: bool,
    pub bounds: Bbox,
    /// `(lon, lat, zoom)`.
    pub center: (f64, f64, u8),
    pub minzoom: u8,
    pub maxzoom: u8,
    /// The `json` row's `vector_layers`; `None` (no `json` row) for raster tiles.
    pub vector_layers: Option<Vec<VectorLayer>>,
    /// Further keys written as they are (e.g. the source fingerprints of a build).
    pub extra: BTreeMap<String, String>,
}

impl Metadata {
    /// The `(name, value)` rows, in a fixed order.
    pub fn rows(&self) -> Vec<(String, String)> {
        let b = self.bounds;
        let mut fixed = vec![
            ("name", self.name.clone()),
            ("description", self.description.clone()),
            ("attribution", self.attribution.clone()),
            ("format", self.format.clone()),
            ("type", if self.baselayer { "baselayer" } else { "overlay" }.to_owned()),
            ("version", "1".to_owned()),
            ("bounds", format!("{},{},{},{}", round6(b.west), round6(b.south), round6(b.east), round6(b.north))),
            ("center", format!("{},{},{}", round6(self.center.0), round6(self.center.1), self.center.2)),
            ("minzoom", self.minzoom.to_string()),
            ("maxzoom", self.maxzoom.to_string()),
        ];
        if let Some(layers) = &self.vector_layers {
            fixed.push(("json", serde_json::json!({ "vector_layers": layers }).to_string()));
        }
        fixed.push(("generator", format!("tilepress {}", env!("CARGO_PKG_VERSION"))));
        let mut rows: Vec<(String, String)> = fixed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        rows.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        rows
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_hold_the_spec_keys_and_vector_layers() {
        let mut fields = BTreeMap::new();
        fields.insert("A3".to_owned(), FieldType::String);
        let m = Metadata {
            name: "t".into(),
            description: "d".into(),
            attribution: "© OpenStreetMap contributors".into(),
            format: "pbf".into(),
            baselayer: false,
            bounds: Bbox { west: -1.0, south: -2.0, east: 3.0, north: 4.123_456_789 },
            center: (1.0, 1.0, 2),
            minzoom: 0,
            maxzoom: 5,
            vector_layers: Some(vec![VectorLayer {
                id: "countries".into(),
                description: String::new(),
                minzoom: 0,
                maxzoom: 5,
                fields,
            }]),
            extra: BTreeMap::from([("tilepress_sources".to_owned(), "[]".to_owned())]),
        };
        let rows: BTreeMap<_, _> = m.rows().into_iter().collect();
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
            assert!(rows.contains_key(key), "{key}");
        }
        assert_eq!(rows["bounds"], "-1,-2,3,4.123457");
        assert_eq!(rows["tilepress_sources"], "[]");
        assert_eq!(rows["center"], "1,1,2");
        let json: serde_json::Value = serde_json::from_str(&rows["json"]).expect("json");
        assert_eq!(json["vector_layers"][0]["id"], "countries");
        assert_eq!(json["vector_layers"][0]["fields"]["A3"], "String");
        assert_eq!(FieldType::Number.merge(FieldType::String), FieldType::Mixed);
    }

    #[test]
    fn raster_rows_have_no_json_and_may_be_a_baselayer() {
        let m = Metadata {
            name: "r".into(),
            description: String::new(),
            attribution: "a".into(),
            format: "png".into(),
            baselayer: true,
            bounds: Bbox::WORLD,
            center: (0.0, 0.0, 0),
            minzoom: 0,
            maxzoom: 2,
            vector_layers: None,
            extra: BTreeMap::new(),
        };
        let rows: BTreeMap<_, _> = m.rows().into_iter().collect();
        assert!(!rows.contains_key("json"));
        assert_eq!((rows["format"].as_str(), rows["type"].as_str()), ("png", "baselayer"));
    }
}
