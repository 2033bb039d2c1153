//! One CSV log of a hook: a header row decided by the first row, then one row per call, appended;
//! its row count is what a checkpoint keeps, and a resumed run truncates the file back to it, so
//! that the rows continue with none duplicated and none missing.

use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

/// A CSV file written a row at a time, with stable columns.
pub(crate) struct CsvLog {
    path: PathBuf,
    /// The header: the first row's columns, or the file's header after a resume.
    columns: Vec<String>,
    /// Open once the header is written (the first row, or a resume).
    writer: Option<csv::Writer<File>>,
    /// Data rows written (the header not counted).
    rows: usize,
}

impl CsvLog {
    /// A log at `path`, created (over any older file) when its first row is appended.
    pub(crate) fn new(path: PathBuf) -> CsvLog {
        CsvLog { path, columns: Vec::new(), writer: None, rows: 0 }
    }

    /// Continues the log at `path` after a resume: the file is cut back to its header and its
    /// first `rows` data rows (a run that went on past the checkpoint wrote more), and the next
    /// rows are appended after them, in the header's columns.
    ///
    /// # Errors
    /// [`Error::File`] naming the file when it is missing, not CSV, or holds fewer rows than
    /// `rows`.
    pub(crate) fn resume(path: PathBuf, rows: usize) -> Result<CsvLog> {
        // A log the checkpoint saw empty may never have been created (validation before its
        // first epoch's end): it starts afresh.
        if rows == 0 && !path.exists() {
            return Ok(CsvLog::new(path));
        }
        let invalid = |reason: String| Error::File { path: path.clone(), reason };
        let file = File::open(&path).map_err(|e| invalid(format!("the checkpoint says this log has {rows} rows, but it cannot be opened: {e}")))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(std::io::BufReader::new(file));
        let columns: Vec<String> = reader.headers().map_err(|e| invalid(format!("expected a CSV header row: {e}")))?.iter().map(String::from).collect();
        if columns.is_empty() {
            return Err(invalid(format!("expected a CSV header row and {rows} rows, found an empty file")));
        }
        let mut record = csv::StringRecord::new();
        for found in 0..rows {
            let more = reader.read_record(&mut record).map_err(|e| invalid(format!("row {} is not CSV: {e}", found + 1)))?;
            if !more {
                return Err(invalid(format!(
                    "the checkpoint says this log has {rows} rows, but it holds only {found}: it is shorter than the run it logs"
                )));
            }
        }
        // Where the rows to keep end: the start of the first row written after the checkpoint.
        let end = reader.position().byte();
        drop(reader);
        let unwritable = |e: std::io::Error| Error::File { path: path.clone(), reason: format!("cannot cut it back to {rows} rows: {e}") };
        let mut file = OpenOptions::new().read(true).append(true).open(&path).map_err(unwritable)?;
        file.set_len(end).map_err(unwritable)?;
        // A last kept row without its line end (a file edited by hand) would merge with the next.
        if end > 0 && !ends_with_newline(&mut file, end).map_err(unwritable)? {
            file.write_all(b"\n").map_err(unwritable)?;
        }
        Ok(CsvLog { path, columns, writer: Some(writer(file)), rows })
    }

    /// Data rows written so far (some may still be in the buffer: see [`flush`](Self::flush)).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one row of `(column, value)` cells. The first row of a new log decides the
    /// columns and writes the header; a later row may leave a column out (written empty) but not
    /// bring a new one.
    ///
    /// # Errors
    /// [`Error::Data`] naming the new column and the file's columns; [`Error::File`] when the
    /// file cannot be written.
    pub(crate) fn append(&mut self, cells: &[(String, String)]) -> Result<()> {
        if self.writer.is_none() {
            self.create(cells.iter().map(|(column, _)| column.clone()).collect())?;
        }
        if let Some((column, _)) = cells.iter().find(|(column, _)| !self.columns.contains(column)) {
            return Err(Error::data(format!(
                "{}: a row has column `{column}`, which the log's header (decided by its first row) does not have: {}",
                self.path.display(),
                self.columns.join(",")
            )));
        }
        let row = self.columns.iter().map(|column| cells.iter().find(|(c, _)| c == column).map_or("", |(_, value)| value.as_str()));
        let path = &self.path;
        let writer = self.writer.as_mut().ok_or_else(|| Error::File { path: path.clone(), reason: "the log is not open".into() })?;
        writer.write_record(row).map_err(|e| Error::File { path: path.clone(), reason: format!("cannot append a row: {e}") })?;
        self.rows += 1;
        Ok(())
    }

    /// Hands the buffered rows to the operating system (they survive the program's crash).
    ///
    /// # Errors
    /// [`Error::File`] when they cannot be written.
    pub(crate) fn flush(&mut self) -> Result<()> {
        let Some(writer) = &mut self.writer else { return Ok(()) };
        writer.flush().map_err(|e| Error::File { path: self.path.clone(), reason: format!("cannot write the buffered rows: {e}") })
    }

    /// Flushes and syncs the file to the disk: a checkpoint that records the row count is
    /// synced too, and a log shorter than its checkpoint after a power cut would stop the resume.
    ///
    /// # Errors
    /// [`Error::File`] when the rows cannot be written.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.flush()?;
        let Some(writer) = &self.writer else { return Ok(()) };
        writer.get_ref().sync_data().map_err(|e| Error::File { path: self.path.clone(), reason: format!("cannot sync the log to the disk: {e}") })
    }

    /// Creates the file (and its folder) with the header `columns`.
    fn create(&mut self, columns: Vec<String>) -> Result<()> {
        let unwritable = |e: std::io::Error| Error::File { path: self.path.clone(), reason: format!("cannot create the log: {e}") };
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(unwritable)?;
        }
        let mut writer = writer(File::create(&self.path).map_err(unwritable)?);
        writer.write_record(&columns).map_err(|e| Error::File { path: self.path.clone(), reason: format!("cannot write the header: {e}") })?;
        self.columns = columns;
        self.writer = Some(writer);
        self.rows = 0;
        Ok(())
    }
}

/// The writer every log uses: no header of its own (the log writes it), `\n` line ends.
fn writer(file: File) -> csv::Writer<File> {
    csv::WriterBuilder::new().has_headers(false).terminator(csv::Terminator::Any(b'\n')).from_writer(file)
}

/// Whether the byte before `end` is a line end.
fn ends_with_newline(file: &mut File, end: u64) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(end - 1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// A number as a cell: the shortest text that reads back as the same `f64` (`NaN` and `inf`
/// as pandas reads them).
pub(crate) fn cell(value: f64) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("ml-csv-log-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn row(cells: &[(&str, &str)]) -> Vec<(String, String)> {
        cells.iter().map(|(c, v)| (c.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_first_row_decides_the_columns() {
        let dir = temp_dir();
        let path = dir.join("sub").join("log.csv");
        let mut log = CsvLog::new(path.clone());
        log.append(&row(&[("a", "1"), ("b", "x,y")])).unwrap();
        log.append(&row(&[("b", "2")])).unwrap();
        let error = log.append(&row(&[("a", "3"), ("c", "4")])).unwrap_err().to_string();
        assert!(error.contains("column `c`") && error.contains("a,b") && error.contains("log.csv"), "{error}");
        log.flush().unwrap();
        assert_eq!(log.rows(), 2);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n1,\"x,y\"\n,2\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_resume_cuts_the_rows_written_after_the_checkpoint() {
        let dir = temp_dir();
        let path = dir.join("log.csv");
        std::fs::write(&path, "epoch,loss\n1,0.5\n2,0.25\n3,0.125\n").unwrap();
        let mut log = CsvLog::resume(path.clone(), 2).unwrap();
        assert_eq!(log.rows(), 2);
        log.append(&row(&[("epoch", "3"), ("loss", "0.2")])).unwrap();
        log.sync().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "epoch,loss\n1,0.5\n2,0.25\n3,0.2\n");

        // No rows kept: the header alone; a last row without its line end gets one.
        std::fs::write(&path, "epoch,loss\n1,0.5").unwrap();
        CsvLog::resume(path.clone(), 0).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "epoch,loss\n");
        std::fs::write(&path, "epoch,loss\n1,0.5").unwrap();
        let mut log = CsvLog::resume(path.clone(), 1).unwrap();
        log.append(&row(&[("epoch", "2")])).unwrap();
        log.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "epoch,loss\n1,0.5\n2,\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_log_shorter_than_its_checkpoint_is_an_error() {
        let dir = temp_dir();
        let path = dir.join("log.csv");
        std::fs::write(&path, "epoch,loss\n1,0.5\n").unwrap();
        match CsvLog::resume(path.clone(), 3) {
            Err(Error::File { path: named, reason }) => {
                assert_eq!(named, path);
                assert!(reason.contains("3 rows") && reason.contains("only 1"), "{reason}");
            }
            other => panic!("expected a file error, found {:?}", other.err()),
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "epoch,loss\n1,0.5\n", "left as it was");
        assert!(matches!(CsvLog::resume(dir.join("missing.csv"), 1), Err(Error::File { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_read_back_exactly() {
        for x in [0.1, 1e-8, 1.0 / 3.0, 12345.678, f64::NAN, f64::INFINITY] {
            let text = cell(x);
            let back: f64 = text.parse().unwrap();
            assert!(back == x || (x.is_nan() && back.is_nan()), "{x} -> {text}");
        }
    }
}
