//! `--route QUERY=FILE`: events sent by QQL to sinks of their own. Each event goes to the
//! first route whose query it matches, or else to the main sink, which also takes every
//! reject. The sources' acknowledgements are held until every route has been flushed, then
//! handed to the main sink, so that none fires before its events are durable wherever they
//! went.

use super::{Counts, Mapped, Sink, Stored};
use crate::query::{Query, RawEvent};
use crate::sources::Ack;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Acknowledgements held before the sink flushes on its own (as `JsonLines` does).
const HELD_ACKS: usize = 64;

/// One route: its query, its sink, and how many events it took.
pub struct Route {
    /// Which events it takes.
    pub query: Query,
    /// Where they go.
    pub sink: Box<dyn Sink + Send>,
    /// Events it took, so far.
    pub taken: Arc<AtomicU64>,
}

/// Events to routes by query, the rest (and every reject) to `main`.
pub struct Routes<S> {
    routes: Vec<Route>,
    main: S,
    held: Vec<Ack>,
}

impl<S: Sink> Routes<S> {
    /// Routes in the order given (the first match wins), then `main`.
    pub fn new(routes: Vec<Route>, main: S) -> Self {
        Routes { routes, main, held: Vec::new() }
    }
}

/// A batch of some of `batch`'s events (and, for the main sink, its rejects).
fn part(batch: &Mapped, events: Vec<u8>, numbers: Vec<u64>, n: u64, main: bool) -> Mapped {
    let counts = if main { Counts { events: n, ..batch.counts } } else { Counts { events: n, ..Counts::default() } };
    Mapped {
        seq: batch.seq,
        bytes: if main { batch.bytes } else { 0 },
        events,
        rejects: if main { batch.rejects.clone() } else { Vec::new() },
        counts,
        field_errors: if main { batch.field_errors.clone() } else { Vec::new() },
        peer: batch.peer.clone(),
        ack: Ack::none(),
        stored: batch.stored.as_ref().map(|s| Stored { store: Arc::clone(&s.store), events: numbers }),
    }
}

impl<S: Sink> Sink for Routes<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        let ways = self.routes.len() + 1;
        let mut events = vec![Vec::new(); ways];
        let mut numbers = vec![Vec::new(); ways];
        let mut counts = vec![0u64; ways];
        for (i, event) in batch.events.split_inclusive(|&b| b == b'\n').enumerate() {
            let line = event.strip_suffix(b"\n").unwrap_or(event);
            let way = RawEvent::parse(line)
                .ok()
                .and_then(|e| self.routes.iter().position(|r| r.query.matches(&e)))
                .unwrap_or(ways - 1);
            events[way].extend_from_slice(event);
            counts[way] += 1;
            if let Some(n) = batch.stored.as_ref().and_then(|s| s.events.get(i)) {
                numbers[way].push(*n);
            }
        }
        let mut parts = events.into_iter().zip(numbers).zip(counts);
        for route in &mut self.routes {
            let ((events, numbers), n) = parts.next().expect("a part per route");
            if n > 0 {
                route.taken.fetch_add(n, Ordering::Relaxed);
                route.sink.write(&part(batch, events, numbers, n, false))?;
            }
        }
        let ((events, numbers), n) = parts.next().expect("the main part");
        self.main.write(&part(batch, events, numbers, n, true))
    }

    fn flush(&mut self) -> io::Result<()> {
        for route in &mut self.routes {
            route.sink.flush()?;
        }
        for ack in self.held.drain(..) {
            self.main.acknowledge(ack)?;
        }
        self.main.flush()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        if !ack.is_none() {
            self.held.push(ack);
        }
        if self.held.len() >= HELD_ACKS {
            self.flush()?;
        }
        Ok(())
    }
}
