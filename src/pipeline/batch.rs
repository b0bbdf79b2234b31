//! Mapping one batch: every line through the engine, counted, rejects kept with their origin.

use crate::runtime::{Mapper, Outcome};
use crate::sinks::{Counts, Mapped, Rejected};
use crate::sources::{Batch, Origin, Pool};
use std::sync::Arc;

/// Maps the lines of batch number `seq` into its events and rejects, and gives the batch's
/// buffer back to `pool`.
pub fn map_batch(mapper: &mut Mapper<'_>, seq: u64, batch: Batch, pool: &Pool) -> Mapped {
    let mut events = pool.take(batch.data.len() * 2);
    let mut rejects = Vec::new();
    let mut counts = Counts::default();
    let mut line = batch.origin.line;
    mapper.map_batch(&batch.data, batch.received, &mut events, |text, outcome| {
        counts.lines += 1;
        match outcome {
            Outcome::Mapped { field_errors, .. } => {
                counts.events += 1;
                counts.with_errors += u64::from(*field_errors > 0);
            }
            Outcome::Blank => counts.blank += 1,
            Outcome::Rejected(reject) => {
                counts.rejected += 1;
                let origin = Origin { source: Arc::clone(&batch.origin.source), line };
                rejects.push(Rejected { origin, reject: reject.clone(), text: text.to_string() });
            }
        }
        line += 1;
    });
    let bytes = batch.data.len() as u64;
    pool.give(batch.data);
    Mapped { seq, bytes, events, rejects, counts, ack: batch.ack }
}
