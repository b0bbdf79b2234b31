//! The map pipeline: a [`Source`] hands out batches of whole lines, workers map them with the
//! engine in use ([`Current`]), and a [`Sink`] takes the results in input order. A bounded number of batches is in
//! flight, so memory stays flat however long the input is; one worker maps in the calling
//! thread, more map in parallel while a reader thread fills them and this thread writes.

mod batch;
mod current;

pub use batch::map_batch;
pub use current::{Current, Engine};

use crate::runtime::Mapper;
use crate::sinks::{Counts, Mapped, Sink};
use crate::sources::{Batch, Pool, ReadError, Source};
use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a mapped batch waits in a sink's buffers: with a slow input the pipeline flushes
/// whenever it waits, with a fast one at least this often, so an event is written within
/// about this long of its line being read.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// The stack of a worker thread: the main thread's usual 8 MiB, so that a deeply nested line
/// parses (or hits the grammar's depth guard) the same with one thread or many.
pub const STACK_BYTES: usize = 8 << 20;

/// The engine to map with and how many workers map.
pub struct Pipeline<'a> {
    /// The compiled guides and settings in use (a reload may swap them during the run).
    pub engine: &'a Current,
    /// Worker threads; 1 (or 0) maps in the calling thread.
    pub threads: usize,
}

/// How a run ended.
#[derive(Debug)]
pub struct Ended {
    /// What became of the lines.
    pub counts: Counts,
    /// The inputs that could not be opened or read to their end.
    pub read_errors: Vec<ReadError>,
    /// Whether the sink took and flushed everything; the run stops at its first failure, and
    /// a batch read but never written (a worker that died) is a failure too.
    pub output: io::Result<()>,
    /// Worker threads that could not be started (the run then used fewer, or this thread),
    /// and why.
    pub unstarted_workers: Option<(usize, io::Error)>,
}

impl Ended {
    fn new() -> Self {
        Ended { counts: Counts::default(), read_errors: Vec::new(), output: Ok(()), unstarted_workers: None }
    }
}

impl Pipeline<'_> {
    /// Maps everything `source` hands out into `sink`, in input order, and flushes the sink.
    pub fn run(&self, source: &mut dyn Source, sink: &mut dyn Sink) -> Ended {
        if self.threads <= 1 {
            return self.run_here(source, sink);
        }
        match self.run_parallel(source, sink) {
            Ok(ended) => ended,
            Err(spawn_error) => {
                let mut ended = self.run_here(source, sink);
                ended.unstarted_workers = Some((self.threads, spawn_error));
                ended
            }
        }
    }

    /// One thread reads, maps and writes.
    fn run_here(&self, source: &mut dyn Source, sink: &mut dyn Sink) -> Ended {
        let pool = Pool::new(4);
        let mut ended = Ended::new();
        let mut seq = 0;
        let mut next = || source.next_batch(&pool);
        map_each(self.engine, &mut next, |mapper, next| {
            match next {
                Ok(batch) => {
                    let mapped = map_batch(mapper, seq, batch, &pool);
                    seq += 1;
                    // Flushed before the next read, which may wait (a pipe, a quiet network):
                    // one write call per batch, next to the many the batch's events take.
                    ended.output = deliver(sink, mapped, &pool, &mut ended.counts).and_then(|()| sink.flush());
                    ended.output.is_ok()
                }
                Err(e) => {
                    ended.read_errors.push(e);
                    true
                }
            }
        });
        if ended.output.is_ok() {
            ended.output = sink.flush();
        }
        ended
    }

    /// A reader thread fills batches, workers map them, this thread writes them in order.
    /// Fails, having read nothing, when no worker or the reader thread could be started.
    fn run_parallel(&self, source: &mut dyn Source, sink: &mut dyn Sink) -> Result<Ended, io::Error> {
        let threads = self.threads;
        let pool = &Pool::new(threads * 6 + 4);
        let engine = self.engine;
        let mut ended = Ended::new();
        let read_errors = &Mutex::new(Vec::new());
        std::thread::scope(|s| {
            let (work_tx, work_rx) = sync_channel::<(u64, Batch)>(threads * 2);
            let work_rx = Arc::new(Mutex::new(work_rx));
            let (done_tx, done_rx) = sync_channel::<Mapped>(threads * 2);
            let mut workers = 0;
            for _ in 0..threads {
                let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
                let worker = std::thread::Builder::new().name("xdrmap-worker".into()).stack_size(STACK_BYTES);
                let spawned = worker.spawn_scoped(s, move || {
                    let mut next = || work_rx.lock().ok()?.recv().ok();
                    map_each(engine, &mut next, |mapper, (seq, batch)| {
                        done_tx.send(map_batch(mapper, seq, batch, pool)).is_ok()
                    });
                });
                match spawned {
                    Ok(_) => workers += 1,
                    // Fewer workers than asked for still map everything.
                    Err(e) if workers > 0 => {
                        ended.unstarted_workers = Some((threads - workers, e));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
            // Only the workers hold these ends now: when they stop, the reader's sends fail.
            drop(work_rx);
            drop(done_tx);
            // Named, as the workers are, so that a profile tells reading, mapping and writing apart.
            let reader = std::thread::Builder::new().name("xdrmap-reader".into());
            let reader = reader.spawn_scoped(s, move || read_all(source, pool, &work_tx, read_errors))?;
            let written = write_in_order(done_rx, sink, pool, &mut ended.counts);
            // Dropping the receiver (on a write error) stops the workers, which stops the reader.
            let sent = reader.join();
            let mut errors = read_errors.lock().map(|mut e| std::mem::take(&mut *e)).unwrap_or_default();
            if sent.is_err() {
                let error = io::Error::other("the source failed (its thread panicked); the rest is lost");
                errors.push(ReadError { input: Arc::from("<source>"), opening: false, error });
            }
            ended.read_errors = errors;
            ended.output = written.and_then(|next| match sent {
                Ok(sent) if next < sent => {
                    Err(io::Error::other(format!("{} batches were read but never mapped", sent - next)))
                }
                _ => Ok(()),
            });
            Ok(())
        })?;
        if ended.output.is_ok() {
            ended.output = sink.flush();
        }
        Ok(ended)
    }
}

/// Takes items from `next` until it runs dry and hands each to `each` with a mapper of the
/// engine in use, made anew when a reload swaps it (checked before each item, so an item is
/// mapped by one engine whole); stops early when `each` says false.
fn map_each<T>(
    current: &Current,
    next: &mut dyn FnMut() -> Option<T>,
    mut each: impl FnMut(&mut Mapper<'_>, T) -> bool,
) {
    let mut waiting = None;
    loop {
        let (generation, engine) = current.load();
        let mut mapper = Mapper::new(&engine.plan, &engine.settings);
        loop {
            let Some(item) = waiting.take().or_else(&mut *next) else { return };
            if current.generation() != generation {
                waiting = Some(item);
                break;
            }
            if !each(&mut mapper, item) {
                return;
            }
        }
    }
}

/// Hands every batch of the source to the workers, numbered in order, and keeps the read
/// errors; returns how many batches were sent.
fn read_all(
    source: &mut dyn Source,
    pool: &Pool,
    work: &SyncSender<(u64, Batch)>,
    read_errors: &Mutex<Vec<ReadError>>,
) -> u64 {
    let mut sent = 0;
    while let Some(next) = source.next_batch(pool) {
        match next {
            Ok(batch) => {
                if work.send((sent, batch)).is_err() {
                    break;
                }
                sent += 1;
            }
            Err(e) => {
                if let Ok(mut errors) = read_errors.lock() {
                    errors.push(e);
                }
            }
        }
    }
    sent
}

/// Hands mapped batches to the sink in input order, as they come back from the workers, and
/// flushes it whenever no batch is waiting (so that a slow input is written, and its
/// acknowledgements fired, without waiting for the end). Returns how many were written.
fn write_in_order(done: Receiver<Mapped>, sink: &mut dyn Sink, pool: &Pool, counts: &mut Counts) -> io::Result<u64> {
    let mut pending = BTreeMap::new();
    let mut next = 0u64;
    let mut unflushed = false;
    let mut flushed = Instant::now();
    loop {
        let mapped = match done.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                if std::mem::take(&mut unflushed) {
                    sink.flush()?;
                    flushed = Instant::now();
                }
                match done.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
        };
        pending.insert(mapped.seq, mapped);
        while let Some(m) = pending.remove(&next) {
            deliver(sink, m, pool, counts)?;
            next += 1;
            unflushed = true;
        }
        if unflushed && flushed.elapsed() >= FLUSH_EVERY {
            sink.flush()?;
            (unflushed, flushed) = (false, Instant::now());
        }
    }
    Ok(next)
}

/// Writes one mapped batch, hands over its acknowledgement, and returns its buffer.
fn deliver(sink: &mut dyn Sink, mut mapped: Mapped, pool: &Pool, counts: &mut Counts) -> io::Result<()> {
    sink.write(&mapped)?;
    *counts += mapped.counts;
    let ack = std::mem::take(&mut mapped.ack);
    pool.give(mapped.events);
    sink.acknowledge(ack)
}
