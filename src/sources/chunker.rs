//! Cutting a byte stream into chunks of whole lines: about [`CHUNK_BYTES`] at a time, the part
//! after the last line ending carried over to the next chunk.

use std::io::{self, Read};

/// Bytes of input per chunk (whole lines; a chunk ends at the first line ending past this).
pub const CHUNK_BYTES: usize = 256 * 1024;

/// How much more is read at a time once a chunk is full but holds no line ending yet.
const STEP: usize = 64 * 1024;

/// The room to give a chunk's buffer so that an ordinary chunk needs no reallocation.
pub const CHUNK_BUFFER: usize = CHUNK_BYTES + STEP;

/// Cuts a reader into chunks of whole lines. A line longer than a chunk makes its chunk
/// longer; the last line of the stream need not end with `\n`.
pub struct Chunker<R> {
    reader: R,
    carry: Vec<u8>,
    eof: bool,
    /// The number of the next chunk's first line.
    line: u64,
}

impl<R: Read> Chunker<R> {
    /// A chunker at the start of `reader` (line 1).
    pub fn new(reader: R) -> Self {
        Chunker { reader, carry: Vec::new(), eof: false, line: 1 }
    }

    /// Reads the next chunk into `data` (cleared first) and gives the number of its first
    /// line; `None` at the end of the stream (`data` is then empty).
    ///
    /// # Errors
    /// A read error. The stream then ends: what was read before it was handed out, the rest
    /// (including a partial line) is dropped, and later calls give `None`.
    pub fn next_chunk(&mut self, data: &mut Vec<u8>) -> io::Result<Option<u64>> {
        let read = self.read_chunk(data);
        if read.is_err() {
            self.eof = true;
            self.carry.clear();
            data.clear();
        }
        read
    }

    fn read_chunk(&mut self, data: &mut Vec<u8>) -> io::Result<Option<u64>> {
        while !self.eof || !self.carry.is_empty() {
            data.clear();
            data.append(&mut self.carry);
            // Read until the chunk is full and holds a line ending, or the input ends, or the
            // input pauses (a read comes back short, as from a pipe or a terminal) with whole
            // lines to hand out: `tail -f | xdrmap map` maps each line as it comes.
            while !self.eof && (data.len() < CHUNK_BYTES || memchr::memrchr(b'\n', data).is_none()) {
                let short = self.fill(data)?;
                if short && !self.eof && memchr::memchr(b'\n', data).is_some() {
                    break;
                }
            }
            if !self.eof {
                if let Some(last) = memchr::memrchr(b'\n', data) {
                    self.carry.extend_from_slice(&data[last + 1..]);
                    data.truncate(last + 1);
                }
            }
            if data.is_empty() {
                continue;
            }
            let first = self.line;
            self.line += memchr::memchr_iter(b'\n', data).count() as u64 + u64::from(data.last() != Some(&b'\n'));
            return Ok(Some(first));
        }
        data.clear();
        Ok(None)
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
        std::iter::from_fn(|| chunker.next_chunk(&mut data).unwrap().map(|first| (first, data.clone()))).collect()
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
        assert_eq!(chunker.next_chunk(&mut data).unwrap(), Some(1), "the whole lines read before the error");
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
}
