//! Mapping one batch: every message through the engine, counted, rejects kept with their origin.

use crate::runtime::{DerivedIds, Mapper, Outcome};
use crate::sinks::{Counts, Mapped, Rejected, Stored};
use crate::sources::{Batch, Framing, Pool};
use crate::syntax::line_text;

/// Maps the messages of batch number `seq` into its events and rejects, and gives the batch's
/// buffer back to `pool`. The batch's transport, if any, is every message's.
pub fn map_batch(mapper: &mut Mapper<'_>, seq: u64, batch: Batch, pool: &Pool) -> Mapped {
    let mut events = pool.take(batch.data.len() * 2);
    let mut rejects = Vec::new();
    let mut counts = Counts::default();
    let first = batch.origin.line;
    let mut stored = batch.stored.then(|| Stored { store: batch.origin.source.clone(), events: Vec::new() });
    let mut n = 0;
    let mut each = |text: &str, outcome: &Outcome| {
        counts.lines += 1;
        match outcome {
            Outcome::Mapped { field_errors, .. } => {
                counts.events += 1;
                counts.with_errors += u64::from(*field_errors > 0);
                if let Some(stored) = &mut stored {
                    stored.events.push(first + n);
                }
            }
            Outcome::Blank => counts.blank += 1,
            Outcome::Rejected(reject) => {
                counts.rejected += 1;
                let origin = batch.origin.later(n);
                rejects.push(Rejected { origin, reject: reject.clone(), text: text.to_string() });
            }
        }
        n += 1;
    };
    mapper.set_transport(batch.origin.peer.clone());
    mapper.set_ids(batch.stored.then(|| DerivedIds::new(&batch.origin.source, first)));
    let (received, data) = (batch.received, &batch.data);
    match &batch.framing {
        Framing::Lines => mapper.map_batch(data, received, &mut events, &mut each),
        Framing::Message | Framing::Truncated(_) => {
            let text = String::from_utf8_lossy(data);
            let text = line_text(&text);
            let outcome = match &batch.framing {
                Framing::Truncated(length) => mapper.map_truncated(text, length.clone(), received, &mut events),
                _ => mapper.map(text, received, &mut events),
            };
            each(text, &outcome);
        }
        Framing::Rejected(reject) => each(&String::from_utf8_lossy(data), &Outcome::Rejected(reject.clone())),
    }
    mapper.set_ids(None);
    let mut field_errors = Vec::new();
    mapper.drain_error_counts(|token, n| field_errors.push((token.to_string(), n)));
    let bytes = batch.data.len() as u64;
    pool.give(batch.data);
    let (peer, ack) = (batch.origin.peer, batch.ack);
    Mapped { seq, bytes, events, rejects, counts, field_errors, peer, ack, stored }
}
