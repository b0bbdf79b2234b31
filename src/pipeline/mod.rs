//! The map pipeline: a [`Source`] hands out batches of whole lines, workers map them with the
//! engine, and a [`Sink`] takes the results in input order. A bounded number of batches is in
//! flight, so memory stays flat however long the input is; one worker maps in the calling
//! thread, more map in parallel while a reader thread fills them and this thread writes.

mod batch;

pub use batch::map_batch;

use crate::guide::Plan;
use crate::runtime::{Mapper, Settings};
use crate::sinks::{Counts, Mapped, Sink};
use crate::sources::{Pool, ReadError, Source};
use std::collections::BTreeMap;
use std::io;
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

/// A compiled plan, the run's settings and how many workers map.
pub struct Pipeline<'a> {
    /// The compiled guides.
    pub plan: &'a Plan,
    /// The run's settings.
    pub settings: &'a Settings,
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
    /// Whether the sink took and flushed everything; the run stops at its first failure.
    pub output: io::Result<()>,
    /// Worker threads that could not be started (the run then used fewer, or this thread).
    pub unstarted_workers: usize,
}

impl Pipeline<'_> {
    /// Maps everything `source` hands out into `sink`, in input order, and flushes the sink.
    pub fn run(&self, source: &mut dyn Source, sink: &mut dyn Sink) -> Ended {
        if self.threads > 1 {
            if let Some(ended) = self.run_parallel(source, sink) {
                return ended;
            }
        }
        let mut ended = self.run_here(source, sink);
        if self.threads > 1 {
            ended.unstarted_workers = self.threads;
        }
        ended
    }

    /// One thread reads, maps and writes.
    fn run_here(&self, source: &mut dyn Source, sink: &mut dyn Sink) -> Ended {
        let mut mapper = Mapper::new(self.plan, self.settings);
        let pool = Pool::new(4);
        let mut ended =
            Ended { counts: Counts::default(), read_errors: Vec::new(), output: Ok(()), unstarted_workers: 0 };
        while let Some(next) = source.next_batch(&pool) {
            match next {
                Ok(batch) => {
                    let mapped = map_batch(&mut mapper, batch, &pool);
                    ended.output = deliver(sink, mapped, &pool, &mut ended.counts);
                    if ended.output.is_err() {
                        return ended;
                    }
                }
                Err(e) => ended.read_errors.push(e),
            }
        }
        ended.output = sink.flush();
        ended
    }

    /// A reader thread fills batches, workers map them, this thread writes them in order.
    /// `None` when no worker could be started (nothing was read).
    fn run_parallel(&self, source: &mut dyn Source, sink: &mut dyn Sink) -> Option<Ended> {
        let threads = self.threads;
        let pool = &Pool::new(threads * 6 + 4);
        let (plan, settings) = (self.plan, self.settings);
        let mut ended =
            Ended { counts: Counts::default(), read_errors: Vec::new(), output: Ok(()), unstarted_workers: 0 };
        let started = std::thread::scope(|s| {
            let (work_tx, work_rx) = sync_channel(threads * 2);
            let work_rx = Arc::new(Mutex::new(work_rx));
            let (done_tx, done_rx) = sync_channel::<Mapped>(threads * 2);
            let mut workers = 0;
            for _ in 0..threads {
                let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
                let spawned = std::thread::Builder::new().name("xdrmap-worker".into()).spawn_scoped(s, move || {
                    let mut mapper = Mapper::new(plan, settings);
                    loop {
                        let next = match work_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => break,
                        };
                        let Ok(batch) = next else { break };
                        if done_tx.send(map_batch(&mut mapper, batch, pool)).is_err() {
                            break;
                        }
                    }
                });
                match spawned {
                    Ok(_) => workers += 1,
                    Err(_) => break, // fewer workers than asked for still map everything
                }
            }
            ended.unstarted_workers = threads - workers;
            if workers == 0 {
                return false;
            }
            // Only the workers hold these ends now: when they stop, the reader's sends fail.
            drop(work_rx);
            drop(done_tx);
            let reader = s.spawn(move || {
                let mut read_errors = Vec::new();
                while let Some(next) = source.next_batch(pool) {
                    match next {
                        Ok(batch) => {
                            if work_tx.send(batch).is_err() {
                                break;
                            }
                        }
                        Err(e) => read_errors.push(e),
                    }
                }
                read_errors
            });
            ended.output = write_in_order(done_rx, sink, pool, &mut ended.counts);
            // Dropping the receiver (on a write error) stops the workers, which stops the reader.
            ended.read_errors = reader.join().unwrap_or_default();
            true
        });
        if !started {
            return None;
        }
        if ended.output.is_ok() {
            ended.output = sink.flush();
        }
        Some(ended)
    }
}

/// Hands mapped batches to the sink in input order, as they come back from the workers.
fn write_in_order(
    done: std::sync::mpsc::Receiver<Mapped>,
    sink: &mut dyn Sink,
    pool: &Pool,
    counts: &mut Counts,
) -> io::Result<()> {
    let mut pending = BTreeMap::new();
    let mut next = 0u64;
    for mapped in done {
        pending.insert(mapped.seq, mapped);
        while let Some(m) = pending.remove(&next) {
            deliver(sink, m, pool, counts)?;
            next += 1;
        }
    }
    Ok(())
}

/// Writes one mapped batch, hands over its acknowledgement, and returns its buffer.
fn deliver(sink: &mut dyn Sink, mut mapped: Mapped, pool: &Pool, counts: &mut Counts) -> io::Result<()> {
    sink.write(&mapped)?;
    *counts += mapped.counts;
    let ack = std::mem::take(&mut mapped.ack);
    pool.give(mapped.events);
    sink.acknowledge(ack)
}
