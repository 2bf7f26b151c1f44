//! The fixed 127-byte PMTiles v3 header: every field, read and written (little-endian).

use super::FormatError;

/// Bytes of the header.
pub const HEADER_LEN: usize = 127;
/// The first seven bytes of every PMTiles archive.
pub const MAGIC: &[u8; 7] = b"PMTiles";

/// A compression named by the header (of the directories and metadata, or of the tiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Unknown,
    None,
    Gzip,
    Brotli,
    Zstd,
}

impl Compression {
    fn code(self) -> u8 {
        match self {
            Compression::Unknown => 0,
            Compression::None => 1,
            Compression::Gzip => 2,
            Compression::Brotli => 3,
            Compression::Zstd => 4,
        }
    }

    fn from_code(code: u8) -> Result<Compression, FormatError> {
        Ok(match code {
            0 => Compression::Unknown,
            1 => Compression::None,
            2 => Compression::Gzip,
            3 => Compression::Brotli,
            4 => Compression::Zstd,
            _ => return Err(FormatError::Malformed(format!("unknown compression {code} in the header"))),
        })
    }
}

/// The type of the tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileType {
    Unknown,
    Mvt,
    Png,
    Jpeg,
    Webp,
    Avif,
}

impl TileType {
    fn code(self) -> u8 {
        match self {
            TileType::Unknown => 0,
            TileType::Mvt => 1,
            TileType::Png => 2,
            TileType::Jpeg => 3,
            TileType::Webp => 4,
            TileType::Avif => 5,
        }
    }

    fn from_code(code: u8) -> Result<TileType, FormatError> {
        Ok(match code {
            0 => TileType::Unknown,
            1 => TileType::Mvt,
            2 => TileType::Png,
            3 => TileType::Jpeg,
            4 => TileType::Webp,
            5 => TileType::Avif,
            _ => return Err(FormatError::Malformed(format!("unknown tile type {code} in the header"))),
        })
    }

    /// The tile type of an MBTiles `format` value (`pbf` → MVT).
    pub fn from_mbtiles_format(format: &str) -> TileType {
        match format {
            "pbf" | "mvt" => TileType::Mvt,
            "png" => TileType::Png,
            "jpg" | "jpeg" => TileType::Jpeg,
            "webp" => TileType::Webp,
            "avif" => TileType::Avif,
            _ => TileType::Unknown,
        }
    }
}

/// Every field of the header. Offsets are from the start of the file; positions are degrees × 10⁷.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub root_offset: u64,
    pub root_length: u64,
    pub metadata_offset: u64,
    pub metadata_length: u64,
    pub leaf_offset: u64,
    pub leaf_length: u64,
    pub data_offset: u64,
    pub data_length: u64,
    /// Tiles addressed (run lengths counted), 0 if unknown.
    pub addressed_tiles: u64,
    /// Directory entries that point at tiles (not leaves), 0 if unknown.
    pub tile_entries: u64,
    /// Distinct tile contents stored, 0 if unknown.
    pub tile_contents: u64,
    pub clustered: bool,
    pub internal_compression: Compression,
    pub tile_compression: Compression,
    pub tile_type: TileType,
    pub min_zoom: u8,
    pub max_zoom: u8,
    pub min_lon_e7: i32,
    pub min_lat_e7: i32,
    pub max_lon_e7: i32,
    pub max_lat_e7: i32,
    pub center_zoom: u8,
    pub center_lon_e7: i32,
    pub center_lat_e7: i32,
}

impl Header {
    /// The header's 127 bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(MAGIC);
        out.push(3);
        for v in [
            self.root_offset,
            self.root_length,
            self.metadata_offset,
            self.metadata_length,
            self.leaf_offset,
            self.leaf_length,
            self.data_offset,
            self.data_length,
            self.addressed_tiles,
            self.tile_entries,
            self.tile_contents,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[
            u8::from(self.clustered),
            self.internal_compression.code(),
            self.tile_compression.code(),
            self.tile_type.code(),
            self.min_zoom,
            self.max_zoom,
        ]);
        for v in [self.min_lon_e7, self.min_lat_e7, self.max_lon_e7, self.max_lat_e7] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.push(self.center_zoom);
        out.extend_from_slice(&self.center_lon_e7.to_le_bytes());
        out.extend_from_slice(&self.center_lat_e7.to_le_bytes());
        let mut bytes = [0u8; HEADER_LEN];
        bytes.copy_from_slice(&out);
        bytes
    }

    /// Parses the first 127 bytes of a file: the magic, version 3, and every field.
    pub fn parse(bytes: &[u8]) -> Result<Header, FormatError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(FormatError::NotPmtiles);
        }
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::Malformed(format!("truncated: {} bytes, the header alone has 127", bytes.len())));
        }
        if bytes[7] != 3 {
            return Err(FormatError::Unsupported(format!("PMTiles version {} (this tilepress reads 3)", bytes[7])));
        }
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
        let i32_at = |i: usize| i32::from_le_bytes(bytes[i..i + 4].try_into().unwrap_or_default());
        Ok(Header {
            root_offset: u64_at(8),
            root_length: u64_at(16),
            metadata_offset: u64_at(24),
            metadata_length: u64_at(32),
            leaf_offset: u64_at(40),
            leaf_length: u64_at(48),
            data_offset: u64_at(56),
            data_length: u64_at(64),
            addressed_tiles: u64_at(72),
            tile_entries: u64_at(80),
            tile_contents: u64_at(88),
            clustered: bytes[96] == 1,
            internal_compression: Compression::from_code(bytes[97])?,
            tile_compression: Compression::from_code(bytes[98])?,
            tile_type: TileType::from_code(bytes[99])?,
            min_zoom: bytes[100],
            max_zoom: bytes[101],
            min_lon_e7: i32_at(102),
            min_lat_e7: i32_at(106),
            max_lon_e7: i32_at(110),
            max_lat_e7: i32_at(114),
            center_zoom: bytes[118],
            center_lon_e7: i32_at(119),
            center_lat_e7: i32_at(123),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_round_trips_and_bad_headers_are_refused() {
        let h = Header {
            root_offset: 127,
            root_length: 2,
            metadata_offset: 129,
            metadata_length: 3,
            leaf_offset: 132,
            leaf_length: 4,
            data_offset: 136,
            data_length: 5,
            addressed_tiles: 6,
            tile_entries: 7,
            tile_contents: 8,
            clustered: true,
            internal_compression: Compression::Gzip,
            tile_compression: Compression::None,
            tile_type: TileType::Png,
            min_zoom: 1,
            max_zoom: 14,
            min_lon_e7: -1_800_000_000,
            min_lat_e7: -850_511_287,
            max_lon_e7: 1_800_000_000,
            max_lat_e7: 850_511_287,
            center_zoom: 9,
            center_lon_e7: 74_000_000,
            center_lat_e7: 437_000_000,
        };
        let bytes = h.to_bytes();
        assert_eq!(&bytes[..8], b"PMTiles\x03");
        assert_eq!(Header::parse(&bytes).expect("parse"), h);
        assert!(matches!(Header::parse(b"SQLite format 3"), Err(FormatError::NotPmtiles)));
        assert!(matches!(Header::parse(&bytes[..60]), Err(FormatError::Malformed(_))));
        let mut v2 = bytes;
        v2[7] = 2;
        assert!(matches!(Header::parse(&v2), Err(FormatError::Unsupported(_))));
        let mut bad = bytes;
        bad[99] = 77;
        assert!(matches!(Header::parse(&bad), Err(FormatError::Malformed(_))));
    }
}
