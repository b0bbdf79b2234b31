//! Files and standard input (`-`) as a source, read one after the other in chunks of whole
//! lines.

use super::{Batch, Chunk, Chunker, Clock, Framing, Origin, Pool, ReadError, Source, CHUNK_BUFFER, MAX_LINE};
use crate::diag::Code;
use crate::runtime::Reject;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;

/// An open input: its name and its chunker.
type Open = (Arc<str>, Chunker<Box<dyn Read + Send>>);

/// Reads each input in turn; `-` is standard input.
pub struct Files {
    inputs: Vec<PathBuf>,
    next: usize,
    current: Option<Open>,
    clock: Clock,
    max_line: usize,
}

impl Files {
    /// A source over `inputs` (none reads standard input), stamping batches with `clock`.
    pub fn new(inputs: Vec<PathBuf>, clock: Clock) -> Self {
        let inputs = if inputs.is_empty() { vec![PathBuf::from("-")] } else { inputs };
        Files { inputs, next: 0, current: None, clock, max_line: MAX_LINE }
    }

    /// Lines longer than `max_line` bytes are rejected (R307), their first `max_line` bytes
    /// kept, the rest not read into memory.
    pub fn max_line(self, max_line: usize) -> Self {
        Files { max_line, ..self }
    }

    /// Opens the next input; `None` when there is none left.
    fn open_next(&mut self) -> Option<Result<(), ReadError>> {
        let input = self.inputs.get(self.next)?;
        self.next += 1;
        let name: Arc<str> = Arc::from(input.display().to_string());
        let reader: Box<dyn Read + Send> = if input.as_os_str() == "-" {
            Box::new(io::stdin())
        } else {
            match File::open(input) {
                Ok(f) => Box::new(f),
                Err(error) => return Some(Err(ReadError { input: name, opening: true, error })),
            }
        };
        self.current = Some((name, Chunker::with_max_line(reader, self.max_line)));
        Some(Ok(()))
    }
}

impl Source for Files {
    fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>> {
        loop {
            if self.current.is_none() {
                if let Err(e) = self.open_next()? {
                    return Some(Err(e));
                }
            }
            let (name, chunker) = self.current.as_mut()?;
            let mut data = pool.take(CHUNK_BUFFER);
            match chunker.next_chunk(&mut data) {
                Ok(Some(Chunk { first_line, cut_from })) => {
                    let origin = Origin::file(Arc::clone(name), first_line);
                    let batch = Batch::lines(origin, data, self.clock.now());
                    let Some(length) = cut_from else { return Some(Ok(batch)) };
                    let detail = format!(
                        "a line of {length} bytes is longer than --max-line ({} bytes); its first {} bytes are kept",
                        self.max_line,
                        batch.data.len()
                    );
                    return Some(Ok(Batch {
                        framing: Framing::Rejected(Reject::new(Code::LineTooLong, detail)),
                        ..batch
                    }));
                }
                Ok(None) => {
                    pool.give(data);
                    self.current = None;
                }
                Err(error) => {
                    pool.give(data);
                    let input = Arc::clone(name);
                    self.current = None;
                    return Some(Err(ReadError { input, opening: false, error }));
                }
            }
        }
    }

    /// The size of the inputs when all are files.
    fn size(&self) -> Option<u64> {
        let size = |p: &PathBuf| match p.as_os_str() == "-" {
            true => None,
            false => std::fs::metadata(p).ok().map(|m| m.len()),
        };
        self.inputs.iter().map(size).sum()
    }
}
