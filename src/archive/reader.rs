//! An MBTiles file (ours, or another tool's flat `tiles` table or martin's normalized `map` + `images`) → its
//! metadata, its tiles and its distinct tile blobs, read-only.
//!
//! Every reader of an MBTiles goes through [`MbtilesReader`]: the manifest stage, `mosaic`, and the upload of
//! tiles to a store. Tiles are read through the `tiles` table or view, which both layouts have; only
//! [`MbtilesReader::for_each_blob`] looks at the layout, to read each distinct blob once from `images`.
//! Every error names the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::ArchiveError;
use crate::tiling::{TileId, TileRange};

/// One row of the `tiles` table or view, as stored: a TMS row, and `data` may be NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTile {
    pub zoom: i64,
    pub column: i64,
    /// The TMS row (0 is the south edge).
    pub row: i64,
    pub data: Option<Vec<u8>>,
}

impl StoredTile {
    /// The tile's XYZ address, or `None` if the row lies outside the grid of its zoom.
    pub fn tile(&self) -> Option<TileId> {
        let z = u8::try_from(self.zoom).ok()?;
        TileId::from_tms(z, u32::try_from(self.column).ok()?, u32::try_from(self.row).ok()?)
    }
}

/// A read-only MBTiles; see the module doc.
pub struct MbtilesReader {
    conn: Connection,
    path: PathBuf,
}

impl MbtilesReader {
    /// Opens `path` read-only. Nothing is read yet, so a file that is not SQLite fails at the first query.
    pub fn open(path: &Path) -> Result<MbtilesReader, ArchiveError> {
        if !path.is_file() {
            return Err(ArchiveError::Io {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|source| ArchiveError::Sqlite { path: path.to_owned(), source })?;
        Ok(MbtilesReader { conn, path: path.to_owned() })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every `metadata` row with a value (none if there is no `metadata` table).
    pub fn metadata(&self) -> Result<BTreeMap<String, String>, ArchiveError> {
        let sqlite = self.sqlite();
        if !self.has_object("metadata", "('table', 'view')")? {
            return Ok(BTreeMap::new());
        }
        let mut stmt = self.conn.prepare("SELECT name, value FROM metadata").map_err(sqlite)?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))).map_err(sqlite)?;
        let mut out = BTreeMap::new();
        for row in rows {
            if let (k, Some(v)) = row.map_err(sqlite)? {
                out.insert(k, v);
            }
        }
        Ok(out)
    }

    /// The value of one `metadata` key, or `None` if it is absent or NULL.
    pub fn metadata_value(&self, key: &str) -> Result<Option<String>, ArchiveError> {
        self.conn
            .query_row("SELECT value FROM metadata WHERE name = ?1", [key], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map(Option::flatten)
            .map_err(self.sqlite())
    }

    /// The lowest and highest zoom with a stored tile (`None` when there are no tiles).
    pub fn zoom_extent(&self) -> Result<(Option<u8>, Option<u8>), ArchiveError> {
        self.conn
            .query_row("SELECT min(zoom_level), max(zoom_level) FROM tiles", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sqlite())
    }

    /// The columns and rows (XYZ) that the tiles stored at `zoom` span, or `None` if there are none.
    pub fn stored_range(&self, zoom: u8) -> Result<Option<TileRange>, ArchiveError> {
        let extent: (Option<u32>, Option<u32>, Option<u32>, Option<u32>) = self
            .conn
            .query_row(
                "SELECT min(tile_column), max(tile_column), min(tile_row), max(tile_row) FROM tiles
                 WHERE zoom_level = ?1",
                [zoom],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .map_err(self.sqlite())?;
        let (Some(x_min), Some(x_max), Some(row_min), Some(row_max)) = extent else { return Ok(None) };
        let (Some(north), Some(south)) =
            (TileId::from_tms(zoom, x_min, row_max), TileId::from_tms(zoom, x_min, row_min))
        else {
            return Ok(None);
        };
        Ok(Some(TileRange { z: zoom, x_min, x_max, y_min: north.y, y_max: south.y }))
    }

    /// Hands every stored tile to `f` in XYZ order (zoom, column, then y: descending TMS row), stopping at the
    /// first error.
    pub fn for_each_tile<E: From<ArchiveError>>(
        &self,
        mut f: impl FnMut(StoredTile) -> Result<(), E>,
    ) -> Result<(), E> {
        let sqlite = self.sqlite();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles
                 ORDER BY zoom_level, tile_column, tile_row DESC",
            )
            .map_err(sqlite)?;
        let mut rows = stmt.query([]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            let tile = StoredTile {
                zoom: row.get(0).map_err(sqlite)?,
                column: row.get(1).map_err(sqlite)?,
                row: row.get(2).map_err(sqlite)?,
                data: row.get(3).map_err(sqlite)?,
            };
            f(tile)?;
        }
        Ok(())
    }

    /// Every stored tile of `range` that lies on the grid, as `(XYZ tile, bytes)`, by column and then TMS row
    /// (south first). A NULL `tile_data` is an error.
    pub fn tiles_in(&self, range: TileRange) -> Result<Vec<(TileId, Vec<u8>)>, ArchiveError> {
        let sqlite = self.sqlite();
        let z = range.z;
        let n = 1u32 << z;
        // TMS rows: the north (small y) is the high row.
        let (row_min, row_max) = (n - 1 - range.y_max, n - 1 - range.y_min);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT tile_column, tile_row, tile_data FROM tiles WHERE zoom_level = ?1
                   AND tile_column BETWEEN ?2 AND ?3 AND tile_row BETWEEN ?4 AND ?5
                 ORDER BY tile_column, tile_row",
            )
            .map_err(sqlite)?;
        let rows = stmt
            .query_map(rusqlite::params![z, range.x_min, range.x_max, row_min, row_max], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?, r.get::<_, Vec<u8>>(2)?))
            })
            .map_err(sqlite)?;
        let mut out = Vec::new();
        for row in rows {
            let (x, tms_row, data) = row.map_err(sqlite)?;
            if let Some(tile) = TileId::from_tms(z, x, tms_row) {
                out.push((tile, data));
            }
        }
        Ok(out)
    }

    /// The bytes of one tile (XYZ address), or `None` if it is not stored or NULL.
    pub fn tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, ArchiveError> {
        self.conn
            .query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                rusqlite::params![tile.z, tile.x, tile.tms_row()],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(self.sqlite())
    }

    /// Whether the file uses the normalized layout (an `images` table holding each distinct tile once).
    pub fn is_normalized(&self) -> Result<bool, ArchiveError> {
        self.has_object("images", "('table')")
    }

    /// Hands each stored tile blob to `f`, in storage order, skipping NULLs: each distinct blob once from
    /// `images` in the normalized layout, else every row of the flat `tiles` table (repeats included).
    pub fn for_each_blob<E: From<ArchiveError>>(&self, mut f: impl FnMut(Vec<u8>) -> Result<(), E>) -> Result<(), E> {
        let sqlite = self.sqlite();
        let sql = if self.is_normalized()? { "SELECT tile_data FROM images" } else { "SELECT tile_data FROM tiles" };
        let mut stmt = self.conn.prepare(sql).map_err(sqlite)?;
        let mut rows = stmt.query([]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            if let Some(data) = row.get::<_, Option<Vec<u8>>>(0).map_err(sqlite)? {
                f(data)?;
            }
        }
        Ok(())
    }

    /// Whether `sqlite_master` lists `name` with a type in `types` (an SQL list literal).
    fn has_object(&self, name: &str, types: &str) -> Result<bool, ArchiveError> {
        let sql = format!("SELECT count(*) > 0 FROM sqlite_master WHERE name = ?1 AND type IN {types}");
        self.conn.query_row(&sql, [name], |r| r.get(0)).map_err(self.sqlite())
    }

    /// Wraps an SQLite error with the file's path.
    fn sqlite(&self) -> impl Fn(rusqlite::Error) -> ArchiveError + Copy + '_ {
        |source| ArchiveError::Sqlite { path: self.path.clone(), source }
    }
}

#[cfg(test)]
mod tests;
