//! The IDX format of MNIST and Fashion-MNIST, plain or gzipped.

use crate::{Error, Result};
use std::io::Read;
use std::path::Path;
use tch::{Kind, Tensor};

fn read_file(path: &Path) -> Result<Vec<u8>> {
    let file_error = |reason: String| Error::File { path: path.to_path_buf(), reason };
    let raw = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut bytes).map_err(|e| file_error(format!("not a valid gzip file: {e}")))?;
        Ok(bytes)
    } else {
        Ok(raw)
    }
}

/// The dimensions of an unsigned-byte IDX file, checked against its length.
fn parse_header(path: &Path, bytes: &[u8], expected_dims: usize) -> Result<Vec<usize>> {
    let file_error = |reason: String| Error::File { path: path.to_path_buf(), reason };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(file_error("not an IDX file: it does not start with two zero bytes".into()));
    }
    if bytes[2] != 0x08 {
        return Err(file_error(format!("expected unsigned bytes (type 0x08), found type 0x{:02x}", bytes[2])));
    }
    let dims = bytes[3] as usize;
    if dims != expected_dims {
        return Err(file_error(format!("expected {expected_dims} dimensions, found {dims}")));
    }
    let header = 4 + 4 * dims;
    if bytes.len() < header {
        return Err(file_error("truncated header".into()));
    }
    let shape: Vec<usize> = (0..dims)
        .map(|d| u32::from_be_bytes(bytes[4 + 4 * d..8 + 4 * d].try_into().unwrap_or_default()) as usize)
        .collect();
    // Checked: a damaged header can claim dimensions whose product overflows.
    let expected = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| n.checked_add(header));
    let Some(expected) = expected else {
        return Err(file_error(format!("a header claiming shape {shape:?}, more bytes than can exist")));
    };
    if bytes.len() != expected {
        return Err(file_error(format!("expected {expected} bytes for shape {shape:?}, found {}", bytes.len())));
    }
    Ok(shape)
}

/// Images of an IDX3 file as a `u8` tensor of shape `(n, rows, cols)`.
///
/// # Errors
/// When the file is missing, not IDX3 unsigned bytes, or truncated.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let shape = parse_header(path, &bytes, 3)?;
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    Ok(Tensor::from_slice(&bytes[16..]).f_to_kind(Kind::Uint8)?.f_reshape(dims)?)
}

/// Labels of an IDX1 file.
///
/// # Errors
/// When the file is missing, not IDX1 unsigned bytes, or truncated.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<i64>> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse_header(path, &bytes, 1)?;
    Ok(bytes[8..].iter().map(|&b| i64::from(b)).collect())
}
