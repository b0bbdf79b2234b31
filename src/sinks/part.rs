//! A batch's events sorted by query into parts, each kept with the stored numbers of its
//! events, and each made a batch of its own: what `Where` and `Routes` share.

use super::{Counts, Mapped, Stored};
use crate::query::RawEvent;
use crate::sources::Ack;
use std::sync::Arc;

/// Some of a batch's events, in their order.
#[derive(Default)]
pub(super) struct Part {
    /// The events, each ended by `\n`.
    events: Vec<u8>,
    /// Their stored message numbers, for a batch of stored messages.
    numbers: Vec<u64>,
    /// How many there are.
    pub(super) count: u64,
}

/// Sorts `batch`'s events into `ways` parts: `way` names each event's part. An event that is
/// not a JSON object would be a bug of xdrmap's; it goes to part `fallback` rather than lost.
pub(super) fn split(
    batch: &Mapped,
    ways: usize,
    fallback: usize,
    mut way: impl FnMut(&RawEvent) -> usize,
) -> Vec<Part> {
    let mut parts: Vec<Part> = (0..ways).map(|_| Part::default()).collect();
    for (i, event) in batch.events.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = event.strip_suffix(b"\n").unwrap_or(event);
        let part = &mut parts[RawEvent::parse(line).map_or(fallback, |e| way(&e))];
        part.events.extend_from_slice(event);
        part.count += 1;
        if let Some(n) = batch.stored.as_ref().and_then(|s| s.events.get(i)) {
            part.numbers.push(*n);
        }
    }
    parts
}

impl Part {
    /// The part as a batch of `batch`'s; `whole` gives it the rest of `batch` too (rejects,
    /// counts, field errors), else only its events.
    pub(super) fn into_batch(self, batch: &Mapped, whole: bool) -> Mapped {
        let rest = if whole { batch.counts } else { Counts::default() };
        Mapped {
            seq: batch.seq,
            bytes: if whole { batch.bytes } else { 0 },
            events: self.events,
            rejects: if whole { batch.rejects.clone() } else { Vec::new() },
            counts: Counts { events: self.count, ..rest },
            field_errors: if whole { batch.field_errors.clone() } else { Vec::new() },
            peer: batch.peer.clone(),
            ack: Ack::none(),
            stored: batch.stored.as_ref().map(|s| Stored { store: Arc::clone(&s.store), events: self.numbers }),
        }
    }
}
