//! A file that rotates by size, as collectors' file outputs do: once it holds `limit` bytes,
//! the next line starts a new file and the old ones shift (`events.jsonl` → `events.jsonl.1`
//! → `events.jsonl.2` …, the oldest past `keep` removed). A line is never split between
//! files, so a file exceeds the limit by at most the line that crossed it.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A size-rotated output file, written to the end (an existing file is appended to).
pub struct RotatingFile {
    path: PathBuf,
    limit: u64,
    keep: usize,
    file: BufWriter<File>,
    size: u64,
    /// Whether the last byte written ended a line.
    at_line_start: bool,
}

impl RotatingFile {
    /// Opens (or creates) `path`, to rotate at `limit` bytes keeping `keep` old files.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open(path: &Path, limit: u64, keep: usize) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        let file = BufWriter::with_capacity(1 << 16, file);
        Ok(RotatingFile { path: path.to_path_buf(), limit: limit.max(1), keep, file, size, at_line_start: true })
    }

    /// The name of old file `n` (`events.jsonl.1`).
    fn old(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Shifts the old files and starts a new one.
    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.keep == 0 {
            let _ = std::fs::remove_file(&self.path);
        } else {
            let _ = std::fs::remove_file(self.old(self.keep));
            for n in (1..self.keep).rev() {
                let _ = std::fs::rename(self.old(n), self.old(n + 1));
            }
            std::fs::rename(&self.path, self.old(1))?;
        }
        let file = OpenOptions::new().create(true).write(true).truncate(true).open(&self.path)?;
        self.file = BufWriter::with_capacity(1 << 16, file);
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.at_line_start && self.size >= self.limit {
                self.rotate()?;
            }
            // Up to the end of the line that reaches the limit (or all of it).
            let room = (self.limit.saturating_sub(self.size) as usize).max(1);
            let end = match rest.len() > room {
                true => memchr::memchr(b'\n', &rest[room - 1..]).map_or(rest.len(), |at| room + at),
                false => rest.len(),
            };
            self.file.write_all(&rest[..end])?;
            self.size += end as u64;
            self.at_line_start = rest[end - 1] == b'\n';
            rest = &rest[end..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_line_boundaries_and_keeps_what_it_is_told() {
        let dir = std::env::temp_dir().join(format!("xdrmap-rotate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.jsonl");
        let mut f = RotatingFile::open(&path, 20, 2).unwrap();
        // 8 lines of 10 bytes, written in pieces that cut lines.
        let all: String = (0..8).map(|i| format!("line {i:04}\n")).collect();
        for piece in all.as_bytes().chunks(7) {
            f.write_all(piece).unwrap();
        }
        f.flush().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap();
        assert_eq!(read(&path), "line 0006\nline 0007\n");
        assert_eq!(read(&dir.join("events.jsonl.1")), "line 0004\nline 0005\n");
        assert_eq!(read(&dir.join("events.jsonl.2")), "line 0002\nline 0003\n");
        assert!(!dir.join("events.jsonl.3").exists(), "only two old files are kept");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
