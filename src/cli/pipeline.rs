//! The map pipeline: a reader cuts the input into chunks of whole lines, workers map the
//! chunks, and the writer puts the results back in input order. A bounded number of chunks
//! is in flight, so memory stays flat however long the input is.

use chrono::{DateTime, SubsecRound, Utc};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::AddAssign;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

use super::progress::Progress;
use xdrmap::guide::Plan;
use xdrmap::output::{write_key, write_str, write_u64};
use xdrmap::runtime::{Mapper, Outcome, Settings};
use xdrmap::syntax::line_text;

/// Bytes of input per chunk (whole lines; a chunk ends at the first line ending past this).
const CHUNK_BYTES: usize = 256 * 1024;

/// Buffers larger than this (a chunk with a huge line) go back to the allocator.
const KEEP_BYTES: usize = 8 << 20;

/// Buffers handed back after use: chunks and their events reuse memory instead of asking the
/// allocator, and the kernel, for fresh pages each time (which also kept peak memory creeping
/// up on long runs, as freed blocks fragmented).
struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    limit: usize,
}

impl Pool {
    fn new(limit: usize) -> Self {
        Pool { free: Mutex::new(Vec::new()), limit }
    }

    /// An empty buffer with room for `capacity` bytes.
    fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buf = self.free.lock().ok().and_then(|mut free| free.pop()).unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    fn give(&self, buf: Vec<u8>) {
        if buf.capacity() > KEEP_BYTES {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.limit {
                free.push(buf);
            }
        }
    }
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    pub lines: u64,
    pub blank: u64,
    pub events: u64,
    pub with_errors: u64,
    pub rejected: u64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.lines += o.lines;
        self.blank += o.blank;
        self.events += o.events;
        self.with_errors += o.with_errors;
        self.rejected += o.rejected;
    }
}

/// What a run needs besides the plan.
pub struct Job<'a> {
    pub inputs: &'a [PathBuf],
    pub threads: usize,
    pub plan: &'a Plan,
    pub settings: &'a Settings,
    /// A fixed receive time; otherwise the clock, per line, to the millisecond.
    pub received_at: Option<DateTime<Utc>>,
}

/// How a run ended.
pub struct Ended {
    pub counts: Counts,
    /// An input could not be opened or read (already reported on stderr).
    pub read_failed: bool,
    /// Writing events or rejects failed.
    pub output: io::Result<()>,
}

/// Whole lines of one input, numbered from `first_line`.
struct Chunk {
    seq: u64,
    source: Arc<str>,
    first_line: u64,
    data: Vec<u8>,
}

/// A mapped chunk: its events and rejects, ready to write.
struct Mapped {
    seq: u64,
    bytes: u64,
    events: Vec<u8>,
    rejects: Vec<u8>,
    counts: Counts,
}

/// Maps every input into `out` (events) and `rejects`, in input order.
pub fn run(job: &Job<'_>, out: &mut dyn Write, rejects: &mut dyn Write) -> Ended {
    if job.threads <= 1 {
        return run_here(job, out, rejects);
    }
    let mut counts = Counts::default();
    let mut output = Ok(());
    let mut read_failed = false;
    let mut progress = Progress::new(total_bytes(job.inputs));
    let mut started = true;
    let pool = &Pool::new(job.threads * 6 + 4);
    std::thread::scope(|s| {
        let (work_tx, work_rx) = sync_channel::<Chunk>(job.threads * 2);
        let work_rx = Arc::new(Mutex::new(work_rx));
        let (done_tx, done_rx) = sync_channel::<Mapped>(job.threads * 2);
        let mut workers = 0;
        for _ in 0..job.threads {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            let spawned = std::thread::Builder::new().name("xdrmap-worker".into()).spawn_scoped(s, move || {
                let mut mapper = Mapper::new(job.plan, job.settings);
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok(chunk) = next else { break };
                    let mapped = map_chunk(&mut mapper, &chunk, job.received_at, pool);
                    pool.give(chunk.data);
                    if done_tx.send(mapped).is_err() {
                        break;
                    }
                }
            });
            match spawned {
                Ok(_) => workers += 1,
                Err(e) => {
                    // Fewer workers than asked for still map everything.
                    eprintln!("xdrmap: started {workers} of {} worker threads: {e}", job.threads);
                    break;
                }
            }
        }
        if workers == 0 {
            started = false;
            return;
        }
        // Only the workers hold these ends now: when they stop, the reader's sends fail.
        drop(work_rx);
        drop(done_tx);
        let reader = s.spawn(move || read_inputs(job.inputs, pool, &mut |chunk| work_tx.send(chunk).is_ok()));
        let mut pending = BTreeMap::new();
        let mut next = 0u64;
        for mapped in done_rx {
            pending.insert(mapped.seq, mapped);
            while let Some(m) = pending.remove(&next) {
                counts += m.counts;
                progress.advance(m.counts.lines, m.bytes);
                output = out.write_all(&m.events).and_then(|()| rejects.write_all(&m.rejects));
                pool.give(m.events);
                next += 1;
                if output.is_err() {
                    break;
                }
            }
            if output.is_err() {
                // Dropping the receiver stops the workers, which stops the reader.
                break;
            }
        }
        read_failed = reader.join().unwrap_or(true);
    });
    progress.finish();
    if !started {
        return run_here(job, out, rejects);
    }
    Ended { counts, read_failed, output }
}

/// The single-threaded mode: read, map and write in this thread.
fn run_here(job: &Job<'_>, out: &mut dyn Write, rejects: &mut dyn Write) -> Ended {
    let mut mapper = Mapper::new(job.plan, job.settings);
    let mut counts = Counts::default();
    let mut output = Ok(());
    let mut progress = Progress::new(total_bytes(job.inputs));
    let pool = Pool::new(4);
    let read_failed = read_inputs(job.inputs, &pool, &mut |chunk| {
        let m = map_chunk(&mut mapper, &chunk, job.received_at, &pool);
        pool.give(chunk.data);
        counts += m.counts;
        progress.advance(m.counts.lines, m.bytes);
        output = out.write_all(&m.events).and_then(|()| rejects.write_all(&m.rejects));
        pool.give(m.events);
        output.is_ok()
    });
    progress.finish();
    Ended { counts, read_failed, output }
}

/// The size of the inputs when all are files (for the progress ETA).
fn total_bytes(inputs: &[PathBuf]) -> Option<u64> {
    inputs.iter().map(|p| if p.as_os_str() == "-" { None } else { std::fs::metadata(p).ok().map(|m| m.len()) }).sum()
}

/// Reads every input into chunks and hands them to `emit`, which says whether to go on.
/// Returns whether an input could not be read (the problem is reported on stderr).
fn read_inputs(inputs: &[PathBuf], pool: &Pool, emit: &mut dyn FnMut(Chunk) -> bool) -> bool {
    let mut seq = 0u64;
    let mut failed = false;
    for input in inputs {
        let name: Arc<str> = Arc::from(input.display().to_string());
        let result = if input.as_os_str() == "-" {
            read_chunks(io::stdin().lock(), &name, &mut seq, pool, emit)
        } else {
            match File::open(input) {
                Ok(f) => read_chunks(f, &name, &mut seq, pool, emit),
                Err(e) => {
                    eprintln!("xdrmap: cannot read {name}: {e}");
                    failed = true;
                    continue;
                }
            }
        };
        match result {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                eprintln!("xdrmap: error reading {name}: {e}");
                failed = true;
            }
        }
    }
    failed
}

/// Cuts one input into chunks of whole lines: reads about `CHUNK_BYTES` at a time and
/// carries the part after the last line ending over to the next chunk (a line longer than a
/// chunk makes its chunk longer). `Ok(false)` when the consumer stopped.
fn read_chunks(
    mut reader: impl Read,
    source: &Arc<str>,
    seq: &mut u64,
    pool: &Pool,
    emit: &mut dyn FnMut(Chunk) -> bool,
) -> io::Result<bool> {
    let mut line = 1u64;
    let mut carry: Vec<u8> = Vec::new();
    let mut eof = false;
    while !eof || !carry.is_empty() {
        let mut data = pool.take(CHUNK_BYTES + 64 * 1024);
        data.append(&mut carry);
        // Read until the chunk is full and holds a line ending, or the input ends.
        while !eof && (data.len() < CHUNK_BYTES || memchr::memrchr(b'\n', &data).is_none()) {
            // Up to the chunk size, then on in steps until a line ending comes.
            let want = CHUNK_BYTES.saturating_sub(data.len()).max(64 * 1024);
            let len = data.len();
            data.resize(len + want, 0);
            let read = loop {
                match reader.read(&mut data[len..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let read = read.inspect_err(|_| data.truncate(len))?;
            data.truncate(len + read);
            eof = read == 0;
        }
        if !eof {
            if let Some(last) = memchr::memrchr(b'\n', &data) {
                carry.extend_from_slice(&data[last + 1..]);
                data.truncate(last + 1);
            }
        }
        if data.is_empty() {
            continue;
        }
        let lines = memchr::memchr_iter(b'\n', &data).count() as u64 + u64::from(data.last() != Some(&b'\n'));
        let chunk = Chunk { seq: *seq, source: Arc::clone(source), first_line: line, data };
        *seq += 1;
        line += lines;
        if !emit(chunk) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Maps the lines of one chunk: in one pass of the grammar when the chunk is valid UTF-8,
/// and a line at a time for the lines that pass leaves open.
fn map_chunk(mapper: &mut Mapper<'_>, chunk: &Chunk, received_at: Option<DateTime<Utc>>, pool: &Pool) -> Mapped {
    let mut events = pool.take(chunk.data.len() * 2);
    let mut rejects = Vec::new();
    let mut counts = Counts::default();
    let mut number = chunk.first_line;
    // One receive time per chunk (a chunk is read at once), to the millisecond, as collectors
    // report them.
    let received = received_at.unwrap_or_else(|| Utc::now().trunc_subsecs(3));
    let mut each = |mapper: &mut Mapper<'_>, line: &str, settled: Option<Outcome>, events: &mut Vec<u8>| {
        counts.lines += 1;
        let outcome = settled.or_else(|| {
            let line = line_text(line);
            if line.trim().is_empty() {
                counts.blank += 1;
                return None;
            }
            Some(mapper.map(line, received, events))
        });
        match outcome {
            Some(Outcome::Mapped { field_errors, .. }) => {
                counts.events += 1;
                counts.with_errors += u64::from(field_errors > 0);
            }
            Some(Outcome::Rejected(reason)) => {
                counts.rejected += 1;
                write_reject(&mut rejects, &chunk.source, number, &reason, line_text(line));
            }
            None => {}
        }
        number += 1;
    };
    match std::str::from_utf8(&chunk.data) {
        Ok(text) => mapper.map_lines(text, received, &mut events, &mut each),
        Err(_) => {
            for raw in chunk.data.split_inclusive(|&b| b == b'\n') {
                // Invalid UTF-8 is replaced (U+FFFD) rather than losing the line.
                each(mapper, &String::from_utf8_lossy(raw), None, &mut events);
            }
        }
    }
    Mapped { seq: chunk.seq, bytes: chunk.data.len() as u64, events, rejects, counts }
}

/// One rejected line as JSON: file, line number, reason and the line itself.
fn write_reject(buf: &mut Vec<u8>, file: &str, line: u64, reason: &str, text: &str) {
    let mut first = true;
    buf.push(b'{');
    write_key(buf, &mut first, "file");
    write_str(buf, file);
    write_key(buf, &mut first, "line");
    write_u64(buf, line);
    write_key(buf, &mut first, "reason");
    write_str(buf, reason);
    write_key(buf, &mut first, "text");
    write_str(buf, text);
    buf.extend_from_slice(b"}\n");
}
