//! The shrink guard: a new live version (published or promoted) that removes more than a set share of the live
//! tiles or bytes is refused unless the operator allows it (a truncated nightly download must not go live).

use super::error::PublishError;

/// The guard: refuses a new live version that removes more than `max_shrink` of the live tiles or bytes.
pub(crate) fn check_shrink(
    allow_shrink: bool,
    max_shrink: f64,
    set: &str,
    removed_tiles: u64,
    old_tiles: u64,
    removed_bytes: u64,
    old_bytes: u64,
) -> Result<(), PublishError> {
    if allow_shrink || old_tiles == 0 {
        return Ok(());
    }
    let tile_share = removed_tiles as f64 / old_tiles as f64;
    let byte_share = if old_bytes == 0 { 0.0 } else { removed_bytes as f64 / old_bytes as f64 };
    if tile_share > max_shrink || byte_share > max_shrink {
        return Err(PublishError::Shrink {
            set: set.to_owned(),
            removed_tiles,
            old_tiles,
            removed_bytes,
            old_bytes,
            limit_percent: max_shrink * 100.0,
        });
    }
    Ok(())
}
