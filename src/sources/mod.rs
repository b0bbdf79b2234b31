//! Sources: where lines come from. A [`Source`] hands out [`Batch`]es of whole lines, each
//! line with its [`Origin`] and the batch's receive time; files and standard input today
//! ([`Files`]), network listeners (`net`) and JetStream consumers (`jetstream`), behind the same trait.

mod chunker;
mod files;
pub mod framing;
pub mod jetstream;
pub mod net;
mod pool;

pub use chunker::{Chunk, Chunker, CHUNK_BUFFER, CHUNK_BYTES, MAX_LINE};
pub use files::Files;
pub use pool::Pool;

use crate::runtime::Reject;
use crate::syntax::Transport;
use chrono::{DateTime, SubsecRound, Utc};
use std::fmt;
use std::io;
use std::sync::Arc;

/// Where a line came from: its input and line number, and for a network message the
/// transport that delivered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The input's name as the user gave it (`ns.log`, `-` for standard input), or the
    /// listener (`tcp://127.0.0.1:1514`).
    pub source: Arc<str>,
    /// The 1-based line number in that input; for a network message, its number among the
    /// messages of its connection (TCP, TLS) or listener (UDP).
    pub line: u64,
    /// The listener and sender of a network message.
    pub peer: Option<Arc<Transport>>,
}

impl Origin {
    /// Line `line` of a file (or standard input).
    pub fn file(source: Arc<str>, line: u64) -> Self {
        Origin { source, line, peer: None }
    }

    /// Line `n` later in the same input.
    pub fn later(&self, n: u64) -> Self {
        Origin { source: Arc::clone(&self.source), line: self.line + n, peer: self.peer.clone() }
    }
}

/// How a batch's data is cut into messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    /// Lines, each ended by `\n` (the last one need not be).
    #[default]
    Lines,
    /// One message, line breaks and all (a network message with line breaks in it).
    Message,
    /// One message, cut to the size limit; the text says how long it was.
    Truncated(String),
    /// One message that was not taken, and why; the data is what arrived of it.
    Rejected(Reject),
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
    /// How the data is cut into messages.
    pub framing: Framing,
    /// Whether its lines are messages numbered in a durable store (a stream): `origin.source`
    /// names it, `origin.line` is the first message's number and the others follow one by one.
    /// Their events then get ids derived from store and number ([`DerivedIds`](crate::runtime::DerivedIds)), the same
    /// however often a message is delivered, and the sink learns each event's number.
    pub stored: bool,
}

impl Batch {
    /// Whole lines read at `received`, the first from `origin`.
    pub fn lines(origin: Origin, data: Vec<u8>, received: DateTime<Utc>) -> Self {
        Batch { origin, data, received, ack: Ack::none(), framing: Framing::Lines, stored: false }
    }
}

/// A source's acknowledgement of a batch, fired by the sink once what it wrote for the batch
/// is durable (written and flushed; for a bus, acknowledged by the server), or refused when
/// the sink gave the batch up (a bus source then asks for it again at once). Files need none.
#[derive(Default)]
pub struct Ack(Option<Box<dyn FnOnce(bool) + Send>>);

impl Ack {
    /// An acknowledgement that does nothing.
    pub fn none() -> Self {
        Ack(None)
    }

    /// An acknowledgement that runs `f` when fired (and nothing when refused).
    pub fn new(f: impl FnOnce() + Send + 'static) -> Self {
        Ack(Some(Box::new(move |durable| {
            if durable {
                f()
            }
        })))
    }

    /// An acknowledgement that runs `f(true)` when fired, `f(false)` when refused.
    pub fn or_refuse(f: impl FnOnce(bool) + Send + 'static) -> Self {
        Ack(Some(Box::new(f)))
    }

    /// Whether firing it does anything.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// Fires the acknowledgement: the batch's results are durable.
    pub fn fire(self) {
        if let Some(f) = self.0 {
            f(true);
        }
    }

    /// Refuses it: the sink gave the batch's results up.
    pub fn refuse(self) {
        if let Some(f) = self.0 {
            f(false);
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
