//! `--where`: a sink in front of another that passes on only the events a QQL query matches.
//! The others are counted, not rejected (they were mapped; they are not wanted here). Rejects
//! and acknowledgements pass through untouched.

use super::{Mapped, Sink, Stored};
use crate::query::{Query, RawEvent};
use crate::sources::Ack;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Passes on the events `query` matches.
pub struct Where<S> {
    inner: S,
    query: Query,
    unmatched: Arc<AtomicU64>,
}

impl<S: Sink> Where<S> {
    /// A filter of `inner`'s events.
    pub fn new(inner: S, query: Query) -> Self {
        Where { inner, query, unmatched: Arc::default() }
    }

    /// Counts the events that do not match into `counter` (shared with the metrics).
    pub fn counting_into(mut self, counter: Arc<AtomicU64>) -> Self {
        self.unmatched = counter;
        self
    }

    /// How many events did not match, so far.
    pub fn unmatched(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.unmatched)
    }
}

impl<S: Sink> Sink for Where<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        let mut events = Vec::with_capacity(batch.events.len());
        let mut numbers = Vec::new();
        let mut kept = 0u64;
        for (i, event) in batch.events.split_inclusive(|&b| b == b'\n').enumerate() {
            // Events are xdrmap's own JSON objects; one that did not parse would be a bug, and
            // is passed on rather than lost.
            let line = event.strip_suffix(b"\n").unwrap_or(event);
            if RawEvent::parse(line).is_ok_and(|e| !self.query.matches(&e)) {
                continue;
            }
            kept += 1;
            events.extend_from_slice(event);
            if let Some(number) = batch.stored.as_ref().and_then(|s| s.events.get(i)) {
                numbers.push(*number);
            }
        }
        let total = batch.counts.events;
        self.unmatched.fetch_add(total.saturating_sub(kept), Ordering::Relaxed);
        let filtered = Mapped {
            seq: batch.seq,
            bytes: batch.bytes,
            events,
            rejects: batch.rejects.clone(),
            counts: batch.counts,
            field_errors: batch.field_errors.clone(),
            peer: batch.peer.clone(),
            ack: Ack::none(),
            stored: batch.stored.as_ref().map(|s| Stored { store: Arc::clone(&s.store), events: numbers }),
        };
        self.inner.write(&filtered)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        self.inner.acknowledge(ack)
    }
}
