//! Cutting a byte stream into chunks of whole lines: about [`CHUNK_BYTES`] at a time, the part
//! after the last line ending carried over to the next chunk.

use std::io::{self, Read};

/// Bytes of input per chunk (whole lines; a chunk ends at the first line ending past this).
pub const CHUNK_BYTES: usize = 256 * 1024;

/// How much more is read at a time once a chunk is full but holds no line ending yet.
const STEP: usize = 64 * 1024;

/// The room to give a chunk's buffer so that an ordinary chunk needs no reallocation.
pub const CHUNK_BUFFER: usize = CHUNK_BYTES + STEP;

/// The most lines in one chunk.
pub const BATCH_LINES: usize = 4096;

/// The longest line taken whole by default (`--max-line`).
pub const MAX_LINE: usize = 1 << 20;

/// Cuts a reader into chunks of whole lines. A line longer than a chunk makes its chunk
/// longer, up to the line limit; a line past the limit is handed out alone, cut to it, with
/// its length (the rest is read and dropped, never held). The last line of the stream need
/// not end with `\n`. Every byte is looked at once however long the line.
pub struct Chunker<R> {
    reader: R,
    carry: Vec<u8>,
    eof: bool,
    /// The number of the next chunk's first line.
    line: u64,
    max_line: usize,
}

/// A chunk's place: the number of its first line, and for a line past the limit, its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The 1-based number of the chunk's first line.
    pub first_line: u64,
    /// When the chunk is one line cut to the limit: the line's whole length in bytes.
    pub cut_from: Option<u64>,
}

impl<R: Read> Chunker<R> {
    /// A chunker at the start of `reader` (line 1), with the default line limit.
    pub fn new(reader: R) -> Self {
        Chunker { reader, carry: Vec::new(), eof: false, line: 1, max_line: MAX_LINE }
    }

    /// The same, with lines of at most `max_line` bytes taken whole.
    pub fn with_max_line(reader: R, max_line: usize) -> Self {
        Chunker { max_line: max_line.max(1), ..Chunker::new(reader) }
    }

    /// Reads the next chunk into `data` (cleared first); `None` at the end of the stream
    /// (`data` is then empty).
    ///
    /// # Errors
    /// A read error. The stream then ends: what was read before it was handed out, the rest
    /// (including a partial line) is dropped, and later calls give `None`.
    pub fn next_chunk(&mut self, data: &mut Vec<u8>) -> io::Result<Option<Chunk>> {
        let read = self.read_chunk(data);
        if read.is_err() {
            self.eof = true;
            self.carry.clear();
            data.clear();
        }
        read
    }

    fn read_chunk(&mut self, data: &mut Vec<u8>) -> io::Result<Option<Chunk>> {
        while !self.eof || !self.carry.is_empty() {
            data.clear();
            data.append(&mut self.carry);
            // Where the last line ending is; bytes before `scanned` have been looked at.
            let mut last = memchr::memrchr(b'\n', data);
            let mut scanned = data.len();
            // Read until the chunk is full and holds a line ending, or the input ends, or the
            // input pauses (a read comes back short, as from a pipe or a terminal) with whole
            // lines to hand out: `tail -f | xdrmap map` maps each line as it comes.
            while !self.eof && (data.len() < CHUNK_BYTES || last.is_none()) {
                if last.is_none() && data.len() > self.max_line {
                    return self.cut_line(data).map(Some);
                }
                let short = self.fill(data)?;
                if let Some(at) = memchr::memrchr(b'\n', &data[scanned..]) {
                    last = Some(scanned + at);
                }
                scanned = data.len();
                if short && !self.eof && last.is_some() {
                    break;
                }
            }
            if last.is_none() && data.len() > self.max_line {
                return self.cut_line(data).map(Some);
            }
            // A chunk of very short lines ends after BATCH_LINES of them: what a batch holds per
            // line (a reject's reason and text) stays bounded, whatever the lines' length.
            if let Some(cut) = memchr::memchr_iter(b'\n', data).nth(BATCH_LINES - 1).filter(|&at| at + 1 < data.len()) {
                self.carry = data.split_off(cut + 1);
                last = None;
            }
            if !self.eof {
                if let Some(last) = last {
                    self.carry.extend_from_slice(&data[last + 1..]);
                    data.truncate(last + 1);
                }
            }
            if data.is_empty() {
                continue;
            }
            let first_line = self.line;
            self.line += memchr::memchr_iter(b'\n', data).count() as u64 + u64::from(data.last() != Some(&b'\n'));
            return Ok(Some(Chunk { first_line, cut_from: None }));
        }
        data.clear();
        Ok(None)
    }

    /// `data` starts a line longer than the limit and holds no line ending: keeps its first
    /// `max_line` bytes, reads the rest of the line and drops it, and carries what follows.
    fn cut_line(&mut self, data: &mut Vec<u8>) -> io::Result<Chunk> {
        let mut rest = data.split_off(self.max_line);
        let mut length = self.max_line as u64;
        loop {
            if let Some(at) = memchr::memchr(b'\n', &rest) {
                length += at as u64;
                self.carry = rest.split_off(at + 1);
                break;
            }
            length += rest.len() as u64;
            if self.eof {
                break;
            }
            rest.clear();
            self.fill(&mut rest)?;
        }
        let first_line = self.line;
        self.line += 1;
        Ok(Chunk { first_line, cut_from: Some(length) })
    }

    /// Reads once: up to the chunk size, then on in steps until a line ending comes. Says
    /// whether the read gave less than it asked for.
    fn fill(&mut self, data: &mut Vec<u8>) -> io::Result<bool> {
        let want = CHUNK_BYTES.saturating_sub(data.len()).max(STEP);
        let len = data.len();
        data.resize(len + want, 0);
        let read = loop {
            match self.reader.read(&mut data[len..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let read = read.inspect_err(|_| data.truncate(len))?;
        data.truncate(len + read);
        self.eof = read == 0;
        Ok(read < want)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read, as pipes do.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn chunks(text: &[u8], step: usize) -> Vec<(u64, Vec<u8>)> {
        let mut chunker = Chunker::new(Trickle(text, step));
        let mut data = Vec::new();
        std::iter::from_fn(|| chunker.next_chunk(&mut data).unwrap().map(|c| (c.first_line, data.clone()))).collect()
    }

    /// A reader that fails after handing out some bytes.
    struct Failing<'a>(&'a [u8]);

    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = self.0.len().min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_ends_the_stream() {
        let mut chunker = Chunker::new(Failing(b"a\nb\npartial"));
        let mut data = Vec::new();
        assert_eq!(chunker.next_chunk(&mut data).unwrap().map(|c| c.first_line), Some(1), "the lines before the error");
        assert_eq!(data, b"a\nb\n");
        assert!(chunker.next_chunk(&mut data).is_err());
        assert!(data.is_empty(), "the partial line is dropped with the error");
        assert_eq!(chunker.next_chunk(&mut data).unwrap(), None, "nothing after the error");
    }

    #[test]
    fn chunks_hold_whole_lines_and_number_them() {
        let line = |i: usize| format!("line {i} {}\n", "x".repeat(i % 300));
        let text: String = (0..5000).map(line).collect();
        for step in [997, 65_536, 1 << 20] {
            let got = chunks(text.as_bytes(), step);
            assert!(got.len() > 1, "the text spans several chunks");
            let joined: Vec<u8> = got.iter().flat_map(|(_, d)| d.clone()).collect();
            assert_eq!(joined, text.as_bytes(), "nothing lost or repeated (step {step})");
            let mut next = 1;
            for (first, data) in &got {
                assert_eq!(*first, next);
                assert_eq!(data.last(), Some(&b'\n'), "a chunk ends at a line ending");
                next += data.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
    }

    #[test]
    fn a_last_line_without_ending_and_a_line_longer_than_a_chunk() {
        let long = "y".repeat(CHUNK_BYTES * 2 + 5);
        let text = format!("a\n{long}\nb");
        let got = chunks(text.as_bytes(), 1 << 16);
        let joined: Vec<u8> = got.iter().flat_map(|(_, d)| d.clone()).collect();
        assert_eq!(joined, text.as_bytes());
        let firsts: Vec<u64> = got.iter().map(|(first, _)| *first).collect();
        assert_eq!(firsts, [1, 2, 3], "`a`, the long line alone, then `b`");
        assert!(chunks(b"", 10).is_empty());
    }

    /// Short lines are cut into chunks of at most BATCH_LINES lines, nothing lost.
    #[test]
    fn chunks_of_short_lines_hold_a_bounded_number() {
        let text = "x\n".repeat(3 * BATCH_LINES + 5);
        let got = chunks(text.as_bytes(), 1 << 20);
        let counts: Vec<usize> = got.iter().map(|(_, d)| d.iter().filter(|&&b| b == b'\n').count()).collect();
        assert_eq!(counts, [BATCH_LINES, BATCH_LINES, BATCH_LINES, 5]);
        let firsts: Vec<u64> = got.iter().map(|(f, _)| *f).collect();
        assert_eq!(firsts, [1, 4097, 8193, 12289]);
    }

    /// A line past the limit is handed out alone, cut to it, with its length; the lines
    /// around it are read as ever, and a long line costs time in proportion to its length.
    #[test]
    fn a_line_past_the_limit_is_cut_and_the_rest_dropped() {
        let long = "z".repeat(3 * CHUNK_BYTES + 17);
        let text = format!("a\n{long}\nb\n{long}");
        for step in [1000, 1 << 16, 1 << 20] {
            let mut chunker = Chunker::with_max_line(Trickle(text.as_bytes(), step), 100_000);
            let mut data = Vec::new();
            let mut got = Vec::new();
            while let Some(chunk) = chunker.next_chunk(&mut data).unwrap() {
                got.push((chunk, data.len(), data.starts_with(b"zzz")));
            }
            let cut = Some(long.len() as u64);
            let expected = [
                (Chunk { first_line: 1, cut_from: None }, 2, false),
                (Chunk { first_line: 2, cut_from: cut }, 100_000, true),
                (Chunk { first_line: 3, cut_from: None }, 2, false),
                (Chunk { first_line: 4, cut_from: cut }, 100_000, true),
            ];
            assert_eq!(got, expected, "pieces of {step}");
        }
    }
}
