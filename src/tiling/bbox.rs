//! A lon/lat rectangle ([`Bbox`]): checked from a tileset's list or a `W,S,E,N` argument, clamped to Web
//! Mercator, intersected with another.

/// Web Mercator's latitude limit (the square world).
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// A rectangle in WGS84 degrees: west, south, east, north.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
}

impl Bbox {
    /// The whole Web Mercator world.
    pub const WORLD: Bbox = Bbox { west: -180.0, south: -MAX_LATITUDE, east: 180.0, north: MAX_LATITUDE };

    /// Checks a `[west, south, east, north]` list; the error text says what is wrong.
    pub fn from_slice(values: &[f64]) -> Result<Bbox, String> {
        let [west, south, east, north] = values else {
            return Err(format!("expected [west, south, east, north], got {} numbers", values.len()));
        };
        let (west, south, east, north) = (*west, *south, *east, *north);
        if ![west, south, east, north].iter().all(|v| v.is_finite()) {
            return Err("bounds must be finite numbers".to_owned());
        }
        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err(format!("longitudes must lie in [-180, 180], got west {west}, east {east}"));
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) {
            return Err(format!("latitudes must lie in [-90, 90], got south {south}, north {north}"));
        }
        if west >= east {
            return Err(format!("west ({west}) must be less than east ({east})"));
        }
        if south >= north {
            return Err(format!("south ({south}) must be less than north ({north})"));
        }
        Ok(Bbox { west, south, east, north })
    }

    /// Parses `W,S,E,N` as typed on the command line.
    pub fn parse(text: &str) -> Result<Bbox, String> {
        let values = text
            .split(',')
            .map(|part| part.trim().parse::<f64>().map_err(|_| format!("`{part}` is not a number")))
            .collect::<Result<Vec<_>, _>>()?;
        Bbox::from_slice(&values)
    }

    /// This box with its latitudes clamped to the Mercator limit.
    pub fn clamped_to_mercator(self) -> Bbox {
        Bbox { south: self.south.max(-MAX_LATITUDE), north: self.north.min(MAX_LATITUDE), ..self }
    }

    /// The part shared with `other`, or `None` if they do not overlap.
    pub fn intersection(self, other: Bbox) -> Option<Bbox> {
        let out = Bbox {
            west: self.west.max(other.west),
            south: self.south.max(other.south),
            east: self.east.min(other.east),
            north: self.north.min(other.north),
        };
        (out.west < out.east && out.south < out.north).then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_parsing_from_the_command_line() {
        assert_eq!(Bbox::parse("7.4, 43.7,7.5,43.8").map(|b| b.east), Ok(7.5));
        assert!(Bbox::parse("7.4,43.7,7.5").is_err());
        assert!(Bbox::parse("a,b,c,d").is_err());
        assert!(Bbox::parse("10,0,5,1").is_err());
    }
}
