//! `--where`: a sink in front of another that passes on only the events a QQL query matches.
//! The others are counted, not rejected (they were mapped; they are not wanted here). Rejects
//! and acknowledgements pass through untouched.

use super::part::split;
use super::{Mapped, Sink};
use crate::query::Query;
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

    /// How many events did not match, so far.
    pub fn unmatched(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.unmatched)
    }
}

impl<S: Sink> Sink for Where<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        let query = &self.query;
        let mut parts = split(batch, 2, 0, |e| usize::from(!query.matches(e)));
        let (unmatched, kept) = (parts.pop().expect("two parts"), parts.pop().expect("two parts"));
        self.unmatched.fetch_add(unmatched.count, Ordering::Relaxed);
        self.inner.write(&kept.into_batch(batch, true))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        self.inner.acknowledge(ack)
    }
}
