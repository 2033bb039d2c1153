//! The checkpoint file: one safetensors file (tensors loadable from Python with
//! `safetensors.torch.load_file`) whose metadata holds the manifest (JSON) and a CRC-32 of the
//! manifest and every tensor's name, kind, shape and bytes, so that a truncated or corrupted
//! file is an error, never a partial restore.

use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// The `format` a checkpoint's manifest names.
pub(crate) const FORMAT: &str = "metric-learning-checkpoint";
/// The newest manifest version this library writes and reads.
pub(crate) const VERSION: u64 = 1;

fn dtype(kind: Kind) -> Result<Dtype> {
    Ok(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Int16 => Dtype::I16,
        Kind::Int8 => Dtype::I8,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::BOOL,
        other => return Err(Error::data(format!("a checkpoint cannot hold tensors of kind {other:?}"))),
    })
}

fn kind(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::I16 => Kind::Int16,
        Dtype::I8 => Kind::Int8,
        Dtype::U8 => Kind::Uint8,
        Dtype::BOOL => Kind::Bool,
        _ => return None,
    })
}

/// CRC-32 of the manifest and of every tensor (name, kind, shape, bytes) in name order.
fn checksum<'a>(manifest: &str, tensors: impl Iterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(manifest.as_bytes());
    for (name, dtype, shape, bytes) in tensors {
        hasher.update(name.as_bytes());
        hasher.update(format!("{dtype:?}{shape:?}").as_bytes());
        hasher.update(bytes);
    }
    format!("{:08x}", hasher.finalize())
}

/// Writes `tensors` and `manifest` to `path`, atomically.
///
/// # Errors
/// [`Error::File`] when the file cannot be written; [`Error::Data`] for a tensor kind
/// safetensors cannot hold.
pub(crate) fn write(path: &Path, tensors: &BTreeMap<String, Tensor>, manifest: &serde_json::Value) -> Result<()> {
    let mut contents: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, tensor) in tensors {
        let cpu = tensor.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?;
        let mut bytes = vec![0u8; cpu.numel() * cpu.kind().elt_size_in_bytes()];
        cpu.f_copy_data_u8(&mut bytes, cpu.numel())?;
        let shape = cpu.size().iter().map(|&d| d as usize).collect();
        contents.push((name, dtype(cpu.kind())?, shape, bytes));
    }
    let manifest = manifest.to_string();
    let sum = checksum(&manifest, contents.iter().map(|(n, d, s, b)| (*n, *d, s.as_slice(), b.as_slice())));
    let unwritable = |reason: String| Error::File { path: path.to_path_buf(), reason };
    let views = contents
        .iter()
        .map(|(name, dtype, shape, bytes)| Ok((*name, TensorView::new(*dtype, shape.clone(), bytes).map_err(|e| unwritable(format!("{e:?}")))?)))
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([("manifest".to_string(), manifest), ("checksum".to_string(), sum)]);
    let file = safetensors::tensor::serialize(views, &Some(metadata)).map_err(|e| unwritable(format!("cannot serialize the checkpoint: {e:?}")))?;
    crate::files::write_atomically(path, &file)
}

/// Reads a checkpoint [`write`] wrote: its tensors (on the CPU) and its manifest, after
/// checking the format, the version and the checksum.
///
/// # Errors
/// [`Error::File`] naming the path and what is wrong: unreadable, not a safetensors file, not
/// a checkpoint, from a newer version, or corrupted (checksum).
pub(crate) fn read(path: &Path) -> Result<(HashMap<String, Tensor>, serde_json::Value)> {
    let invalid = |reason: String| Error::File { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| invalid(e.to_string()))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| invalid(format!("not a checkpoint: not a whole safetensors file ({e:?})")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| invalid(format!("not a checkpoint: {e:?}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let (Some(manifest_text), Some(expected_sum)) = (metadata.get("manifest"), metadata.get("checksum")) else {
        return Err(invalid("not a checkpoint: a safetensors file without `manifest` and `checksum` metadata".into()));
    };
    let manifest: serde_json::Value = serde_json::from_str(manifest_text).map_err(|e| invalid(format!("its manifest is not JSON: {e}")))?;
    match manifest.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT) => {}
        other => return Err(invalid(format!("not a checkpoint: expected format `{FORMAT}`, found {other:?}"))),
    }
    match manifest.get("version").and_then(|v| v.as_u64()) {
        Some(version) if version <= VERSION => {}
        Some(version) => return Err(invalid(format!("written by a newer version of metric-learning (format version {version}); this one reads up to {VERSION}"))),
        None => return Err(invalid("its manifest has no format version".into())),
    }
    let mut names: Vec<String> = file.names().into_iter().cloned().collect();
    names.sort();
    let mut views = Vec::new();
    for name in &names {
        let view = file.tensor(name).map_err(|e| invalid(format!("tensor `{name}`: {e:?}")))?;
        views.push((name.as_str(), view));
    }
    let sum = checksum(manifest_text, views.iter().map(|(n, v)| (*n, v.dtype(), v.shape(), v.data())));
    if &sum != expected_sum {
        return Err(invalid(format!("corrupted: its checksum is {expected_sum} but its contents sum to {sum}")));
    }
    let mut tensors = HashMap::new();
    for (name, view) in views {
        let kind = kind(view.dtype()).ok_or_else(|| invalid(format!("tensor `{name}` is of {:?}, which no trainer holds", view.dtype())))?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let expected = view.shape().iter().product::<usize>() * kind.elt_size_in_bytes();
        if view.data().len() != expected {
            return Err(invalid(format!("tensor `{name}` holds {} bytes where its shape needs {expected}", view.data().len())));
        }
        tensors.insert(name.to_string(), Tensor::f_from_data_size(view.data(), &shape, kind)?);
    }
    Ok((tensors, manifest))
}
