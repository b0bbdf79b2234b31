//! Sources: where lines come from. A [`Source`] hands out [`Batch`]es of whole lines, each
//! line with its [`Origin`] and the batch's receive time; files and standard input today
//! ([`Files`]), network listeners and bus consumers later, behind the same trait.

mod chunker;
mod files;
pub mod framing;
mod pool;

pub use chunker::{Chunker, CHUNK_BUFFER, CHUNK_BYTES};
pub use files::Files;
pub use pool::Pool;

use chrono::{DateTime, SubsecRound, Utc};
use std::fmt;
use std::io;
use std::sync::Arc;

/// Where a line came from: its input and line number. A network source will add the peer and
/// transport, a bus consumer the subject and sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The input's name as the user gave it (`ns.log`, `-` for standard input).
    pub source: Arc<str>,
    /// The 1-based line number in that input.
    pub line: u64,
}

/// Whole lines read together, from one input. The pipeline numbers batches in the order the
/// source hands them out, and writes their results in that order.
pub struct Batch {
    /// The origin of the first line; line `i` of the batch is line `origin.line + i`.
    pub origin: Origin,
    /// The lines, each ended by `\n` (the last one need not be).
    pub data: Vec<u8>,
    /// When the batch was read, as every event's receive time.
    pub received: DateTime<Utc>,
    /// What the source wants done once the batch's results are durable.
    pub ack: Ack,
}

/// A source's acknowledgement of a batch, fired by the sink once what it wrote for the batch
/// is durable (written and flushed; for a bus, acknowledged by the server). Files need none.
#[derive(Default)]
pub struct Ack(Option<Box<dyn FnOnce() + Send>>);

impl Ack {
    /// An acknowledgement that does nothing.
    pub fn none() -> Self {
        Ack(None)
    }

    /// An acknowledgement that runs `f`.
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Ack(Some(Box::new(f)))
    }

    /// Whether firing it does anything.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// Fires the acknowledgement.
    pub fn fire(self) {
        if let Some(f) = self.0 {
            f();
        }
    }
}

/// Where receive times come from.
#[derive(Clone, Copy, Debug, Default)]
pub enum Clock {
    /// The system clock, to the millisecond, as collectors report it.
    #[default]
    System,
    /// A fixed time, for reproducible output.
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The receive time of a batch read now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now().trunc_subsecs(3),
            Clock::Fixed(t) => *t,
        }
    }
}

/// An input that could not be opened or read to its end; the source goes on with the next.
#[derive(Debug)]
pub struct ReadError {
    /// The input's name.
    pub input: Arc<str>,
    /// Whether it failed to open (nothing was read) or while reading (the rest is lost).
    pub opening: bool,
    /// What the system said.
    pub error: io::Error,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.opening {
            true => write!(f, "cannot read {}: {}", self.input, self.error),
            false => write!(f, "error reading {}: {}", self.input, self.error),
        }
    }
}

impl std::error::Error for ReadError {}

/// Hands out batches of lines.
pub trait Source: Send {
    /// The next batch, its buffer taken from `pool` (the pipeline gives it back once the batch
    /// is mapped); `None` when the source is done.
    /// An input that fails gives `Some(Err(..))`, and the next call goes on with the rest.
    fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>>;

    /// The bytes the source will hand out, when known (for a progress estimate).
    fn size(&self) -> Option<u64> {
        None
    }
}
