//! Writing files so that a crash or a kill never leaves half of one: the bytes go to a
//! temporary file beside the target, are flushed to the disk, and the file is renamed over the
//! target (atomic on one file system), then the folder is synced so the rename itself lasts.

use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` whole or not at all; on failure `path` is as it was and the
/// temporary file is removed.
///
/// # Errors
/// [`Error::File`] naming `path` and what failed (a full disk, a folder that is not writable).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// As [`write_atomically`], with the content written by `write` (a test makes it fail midway).
pub(crate) fn write_atomically_with(path: &Path, write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unwritable = |reason: String| Error::File { path: path.to_path_buf(), reason };
    let name = path.file_name().ok_or_else(|| unwritable("expected a file path, found no file name".into()))?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temporary = folder.join(format!(".{}.{}.{}.tmp", name.to_string_lossy(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        write(&mut file)?;
        file.sync_all()
    })()
    .map_err(|e| unwritable(format!("cannot write {}: {e}", temporary.display())))
    .and_then(|()| std::fs::rename(&temporary, path).map_err(|e| unwritable(format!("cannot rename {} into place: {e}", temporary.display()))));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
        return written;
    }
    // The rename is durable once the folder's entry is on disk; not every platform can open a
    // folder to sync it, and the file is whole either way.
    if let Ok(dir) = std::fs::File::open(&folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Has `write(temporary)` create a file beside `path` (named with `path`'s extension, for
/// writers that choose the format by it, as the image crate does), then renames it over `path`;
/// on failure the temporary file is removed and `path` is as it was.
///
/// # Errors
/// [`Error::File`] naming `path`: the writer's reason, or the rename's.
pub(crate) fn replace_with(path: &Path, write: impl FnOnce(&Path) -> std::result::Result<(), String>) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let unwritable = |reason: String| Error::File { path: path.to_path_buf(), reason };
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(unwritable("expected a file path in a folder".into()));
    };
    let extension = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let temporary = folder.join(format!(".{}.{}.{}.tmp{extension}", name.to_string_lossy(), std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let written = write(&temporary)
        .map_err(unwritable)
        .and_then(|()| std::fs::rename(&temporary, path).map_err(|e| unwritable(format!("cannot rename {} into place: {e}", temporary.display()))));
    if written.is_err() {
        // The writer has returned, so nothing writes the file after it is removed.
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_write_leaves_the_previous_file_whole() {
        let path = std::env::temp_dir().join(format!("metric-learning-atomic-{}", std::process::id()));
        write_atomically(&path, b"first").unwrap();
        let error = write_atomically_with(&path, |file| {
            file.write_all(b"half")?;
            Err(std::io::Error::other("No space left on device"))
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("No space left on device") && error.contains(&path.display().to_string()), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let leftovers = std::fs::read_dir(std::env::temp_dir()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().contains(&format!("metric-learning-atomic-{}.", std::process::id()))).count();
        assert_eq!(leftovers, 0, "the temporary file is removed");
        std::fs::remove_file(&path).unwrap();
    }
}
