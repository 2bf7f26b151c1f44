//! The internal compression of directories and metadata (gzip, zstd or none), both ways, with a bound on what
//! a decompression may produce.

use std::io::{Read, Write};

use super::FormatError;
use super::header::Compression;

/// Compresses `data`; gzip output is deterministic (no time, no name in its header).
pub fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing into a Vec cannot fail.
            let _ = gz.write_all(data);
            gz.finish().unwrap_or_default()
        }
        Compression::Zstd => zstd::stream::encode_all(data, 3).unwrap_or_default(),
        _ => data.to_vec(),
    }
}

/// Decompresses at most `limit` bytes of `data`.
pub fn decompress(data: &[u8], compression: Compression, limit: u64) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::new();
    let read = match compression {
        Compression::None => return Ok(data.to_vec()),
        Compression::Gzip => flate2::read::GzDecoder::new(data).take(limit + 1).read_to_end(&mut out),
        Compression::Zstd => {
            zstd::stream::read::Decoder::new(data).and_then(|d| d.take(limit + 1).read_to_end(&mut out))
        }
        other => return Err(FormatError::Unsupported(format!("internal compression {other:?}"))),
    };
    read.map_err(|e| FormatError::Malformed(format!("cannot decompress a directory or the metadata: {e}")))?;
    if out.len() as u64 > limit {
        return Err(FormatError::Malformed(format!("a directory or the metadata decompresses to over {limit} bytes")));
    }
    Ok(out)
}
