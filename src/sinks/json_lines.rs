//! Events and rejects as JSON Lines, to two writers (files, standard output, standard error).

use super::{Mapped, Sink};
use crate::output::write_reject;
use crate::sources::Ack;
use std::io::{self, Write};

/// Acknowledgements held before the sink flushes on its own, so that a source waiting for
/// them is not kept waiting for the end of the run. The pipeline also flushes whenever its
/// writer has no batch waiting (with workers), and at the end; a single-threaded run over a
/// quiet source fires them at the next of these.
const HELD_ACKS: usize = 64;

/// Writes events to one writer and rejects to another, one JSON object per line.
pub struct JsonLines<E, R> {
    events: E,
    rejects: R,
    scratch: Vec<u8>,
    held: Vec<Ack>,
}

impl<E: Write, R: Write> JsonLines<E, R> {
    /// A sink writing events to `events` and rejects to `rejects`.
    pub fn new(events: E, rejects: R) -> Self {
        JsonLines { events, rejects, scratch: Vec::new(), held: Vec::new() }
    }
}

impl<E: Write, R: Write> Sink for JsonLines<E, R> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        self.events.write_all(&batch.events)?;
        if batch.rejects.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        for r in &batch.rejects {
            write_reject(
                &mut self.scratch,
                &r.origin,
                batch.stored.is_some(),
                r.reject.code,
                &r.reject.detail,
                &r.text,
            );
        }
        self.rejects.write_all(&self.scratch)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.events.flush()?;
        self.rejects.flush()?;
        for ack in self.held.drain(..) {
            ack.fire();
        }
        Ok(())
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        if ack.is_none() {
            return Ok(());
        }
        self.held.push(ack);
        if self.held.len() >= HELD_ACKS {
            self.flush()?;
        }
        Ok(())
    }
}
