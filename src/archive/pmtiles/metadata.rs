//! MBTiles metadata rows ↔ the PMTiles JSON metadata.
//!
//! Each row becomes a string member (`name`, `description`, `attribution`, `format`, `bounds`, `center`,
//! `minzoom`, …), except `json`: its object's members (`vector_layers`, `tilestats`) move to the top level, as
//! the spec and other PMTiles readers expect. Back, string members become rows and the other members are
//! gathered into a `json` row. A `json` row that would not come back the same (not an object, a member that is
//! a string or shares a row's name) is kept as a string member instead, so the mapping is exact both ways.
//! `agg_tiles_hash` is an MBTiles checksum and is not carried.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The MBTiles key of the JSON row.
const JSON_KEY: &str = "json";
/// The MBTiles key of the tiles' checksum, which a PMTiles does not carry.
pub const AGG_TILES_HASH: &str = "agg_tiles_hash";

/// The PMTiles metadata object of MBTiles rows.
pub fn json_of_rows(rows: &[(String, String)]) -> Value {
    let mut out = Map::new();
    for (k, v) in rows {
        if k != JSON_KEY && k != AGG_TILES_HASH {
            out.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let json = rows.iter().find(|(k, _)| k == JSON_KEY).map(|(_, v)| v);
    if let Some(text) = json {
        let members = serde_json::from_str::<Value>(text).ok().and_then(|v| match v {
            Value::Object(m) if m.iter().all(|(k, v)| !v.is_string() && !out.contains_key(k)) => Some(m),
            _ => None,
        });
        // Exact only if the text is what serializing the members gives back.
        match members.filter(|m| serde_json::to_string(m).is_ok_and(|t| t == *text)) {
            Some(m) => out.extend(m),
            None => {
                out.insert(JSON_KEY.to_owned(), Value::String(text.clone()));
            }
        }
    }
    Value::Object(out)
}

/// MBTiles rows of a PMTiles metadata object (anything but an object gives no rows).
pub fn rows_of_json(json: &Value) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    let mut rest = Map::new();
    if let Value::Object(members) = json {
        for (k, v) in members {
            match v {
                Value::String(s) => {
                    rows.insert(k.clone(), s.clone());
                }
                other => {
                    rest.insert(k.clone(), other.clone());
                }
            }
        }
    }
    if !rest.is_empty() && !rows.contains_key(JSON_KEY) {
        rows.insert(JSON_KEY.to_owned(), Value::Object(rest).to_string());
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn rows_come_back_exactly() {
        let json = serde_json::json!({"vector_layers": [{"id": "water", "fields": {"a": "String"}}]}).to_string();
        let input =
            rows(&[("name", "t"), ("format", "pbf"), ("bounds", "1,2,3,4"), ("json", &json), ("agg_tiles_hash", "X")]);
        let value = json_of_rows(&input);
        assert_eq!(value["vector_layers"][0]["id"], "water");
        assert_eq!(value["name"], "t");
        assert!(value.get("agg_tiles_hash").is_none());
        let back = rows_of_json(&value);
        let expected: BTreeMap<String, String> = input.into_iter().filter(|(k, _)| k != "agg_tiles_hash").collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn a_json_row_that_would_not_come_back_stays_a_string() {
        for odd in ["[1,2]", "{\"name\":\"x\"}", "{\"b\":1,  \"a\":2}", "not json"] {
            let input = rows(&[("name", "t"), ("json", odd)]);
            let back = rows_of_json(&json_of_rows(&input));
            assert_eq!(back.get("json").map(String::as_str), Some(odd));
        }
    }
}
