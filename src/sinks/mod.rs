//! Sinks: where results go. A [`Sink`] takes each mapped batch (its events and its rejects,
//! in input order), makes them durable on `flush`, and fires the sources' acknowledgements
//! once they are: JSON Lines files and streams ([`JsonLines`]), and JetStream subjects ([`JetStream`]);
//! [`Where`] in front of one passes on only the events a QQL query matches, [`Routes`] sends
//! them to sinks by query.

mod filter;
mod jetstream;
mod json_lines;
mod part;
mod rotating;
mod route;

pub use filter::Where;
pub use jetstream::{BusStats, JetStream, Unacked};
pub use json_lines::JsonLines;
pub use rotating::RotatingFile;
pub use route::{Route, Routes};

use crate::runtime::Reject;
use crate::sources::{Ack, Origin};
use crate::syntax::Transport;
use std::io;
use std::ops::AddAssign;
use std::sync::Arc;

/// A batch after mapping: what a sink writes.
pub struct Mapped {
    /// The batch's place in the run, from 0 (the pipeline numbers batches as it reads them).
    pub seq: u64,
    /// The bytes of input it held.
    pub bytes: u64,
    /// One JSON object per mapped line, each ended by `\n`, in line order.
    pub events: Vec<u8>,
    /// The lines that were rejected, in line order.
    pub rejects: Vec<Rejected>,
    /// What became of its lines.
    pub counts: Counts,
    /// How many of its events failed each token (only tokens that failed).
    pub field_errors: Vec<(String, u64)>,
    /// The transport its messages came by, when they came over the network.
    pub peer: Option<Arc<Transport>>,
    /// The source's acknowledgement, for the sink to fire once the batch is durable.
    pub ack: Ack,
    /// For messages of a durable store ([`Batch::stored`](crate::sources::Batch)): the store,
    /// and each event's message number, in event order (a sink uses them to make a publish
    /// idempotent); `None` otherwise.
    pub stored: Option<Stored>,
}

/// Where the events of a batch of stored messages came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    /// The store (stream) the messages were read from.
    pub store: Arc<str>,
    /// The number of the message each event was mapped from, in event order.
    pub events: Vec<u64>,
}

/// A line that could not be mapped, kept whole with where it came from and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Where the line came from.
    pub origin: Origin,
    /// Why it was rejected.
    pub reject: Reject,
    /// The line (without its line ending).
    pub text: String,
}

/// What became of the lines of a batch, or of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Lines read.
    pub lines: u64,
    /// Lines of blanks, skipped.
    pub blank: u64,
    /// Events written.
    pub events: u64,
    /// Events with at least one field error.
    pub with_errors: u64,
    /// Lines rejected.
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

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        (**self).write(batch)
    }

    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        (**self).acknowledge(ack)
    }
}

/// Takes mapped batches, in input order.
pub trait Sink {
    /// Takes one mapped batch.
    ///
    /// # Errors
    /// When the results cannot be written; the run then stops.
    fn write(&mut self, batch: &Mapped) -> io::Result<()>;

    /// Makes everything written so far durable, then fires the acknowledgements it holds.
    ///
    /// # Errors
    /// When the results cannot be written.
    fn flush(&mut self) -> io::Result<()>;

    /// Takes the acknowledgement of a batch already written, to fire once it is durable.
    ///
    /// # Errors
    /// When making the batch durable fails.
    fn acknowledge(&mut self, ack: Ack) -> io::Result<()>;
}
