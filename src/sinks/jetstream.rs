//! Events and rejects as JetStream messages: one message per event (its JSON object) on the
//! events subject, one per reject (its JSON Lines record) on the rejects subject. A batch is
//! durable once the server has acknowledged every publish; only then are the sources'
//! acknowledgements fired.

use super::{Mapped, Sink};
use crate::bus::Bus;
use crate::output::write_reject;
use crate::sources::Ack;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Publishes awaiting their acknowledgement before the sink waits for them: below the
/// client's own bound of 5,000, at which a publish would wait for a permit that only waiting
/// for the acknowledgements gives back.
const MAX_PENDING: usize = 4_000;

/// What becomes of a window of publishes that the server did not acknowledge in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unacked {
    /// The run fails (`map -o nats://`: nothing would deliver them again).
    Fail,
    /// Their sources' acknowledgements are refused, not fired: the bus delivers the raw
    /// messages again (at once after the nak, or after its ack wait when the nak is lost
    /// too), and the events' `Nats-Msg-Id` keeps a second publish from being a duplicate
    /// (`consume`).
    Redeliver,
}

/// What the sink has done, for the metrics and the summary.
#[derive(Debug, Default)]
pub struct BusStats {
    /// Messages published (events and rejects).
    pub published: AtomicU64,
    /// Publishes the server acknowledged.
    pub acked: AtomicU64,
    /// Publishes the server acknowledged as duplicates (a redelivery mapped again).
    pub duplicates: AtomicU64,
    /// Windows given up (not acknowledged within the deadline).
    pub abandoned: AtomicU64,
    /// Windows of publishes waited for (acknowledged or given up).
    pub windows: AtomicU64,
    /// Time spent waiting for acknowledgements, in microseconds.
    pub ack_wait_micros: AtomicU64,
}

/// Publishes events and rejects to JetStream.
pub struct JetStream {
    bus: Arc<Bus>,
    events: Arc<str>,
    rejects: Arc<str>,
    deadline: Duration,
    unacked: Unacked,
    pending: Vec<PublishAckFuture>,
    held: Vec<Ack>,
    stats: Arc<BusStats>,
}

impl JetStream {
    /// A sink publishing events to `events` and rejects to `rejects` (subjects), waiting at most
    /// `deadline` for a window of acknowledgements.
    pub fn new(bus: Arc<Bus>, events: String, rejects: String, deadline: Duration, unacked: Unacked) -> Self {
        let (events, rejects) = (Arc::from(events), Arc::from(rejects));
        let (pending, held, stats) = (Vec::new(), Vec::new(), Arc::default());
        JetStream { bus, events, rejects, deadline, unacked, pending, held, stats }
    }

    /// What the sink has done so far.
    pub fn stats(&self) -> Arc<BusStats> {
        Arc::clone(&self.stats)
    }

    /// Waits, under one deadline, for every publish in flight; then fires the acknowledgements
    /// held, or (past the deadline) does what `unacked` says.
    fn settle(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let count = pending.len() as u64;
        let started = std::time::Instant::now();
        let stats = Arc::clone(&self.stats);
        let all = async move {
            for ack in pending {
                let ack = ack.await.map_err(|e| e.to_string())?;
                stats.duplicates.fetch_add(u64::from(ack.duplicate), Ordering::Relaxed);
            }
            Ok::<(), String>(())
        };
        // The timer is made inside the runtime, which owns the clock.
        let deadline = self.deadline;
        let waited = self.bus.block_on(async move { tokio::time::timeout(deadline, all).await });
        self.stats.ack_wait_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats.windows.fetch_add(1, Ordering::Relaxed);
        let failure = match waited {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(_) => Some(format!("no acknowledgement within {} s", self.deadline.as_secs_f32())),
        };
        let Some(failure) = failure else {
            self.stats.acked.fetch_add(count, Ordering::Relaxed);
            for ack in self.held.drain(..) {
                ack.fire();
            }
            return self.bus.flush().map_err(io::Error::other);
        };
        self.stats.abandoned.fetch_add(1, Ordering::Relaxed);
        match self.unacked {
            Unacked::Fail => Err(io::Error::other(format!("the bus did not take the events: {failure}"))),
            Unacked::Redeliver => {
                eprintln!(
                    "xdrmap: the bus did not take a window of {count} publishes ({failure}); their messages will be delivered again"
                );
                for ack in self.held.drain(..) {
                    ack.refuse();
                }
                Ok(())
            }
        }
    }

    /// Publishes `messages` (subject, payload, `Nats-Msg-Id`), in one pass on the bus's
    /// runtime per window of at most [`MAX_PENDING`] publishes in flight.
    fn publish(&mut self, messages: Vec<(Arc<str>, PublishMessage)>) -> io::Result<()> {
        let mut messages = messages.into_iter().peekable();
        while messages.peek().is_some() {
            if self.pending.len() >= MAX_PENDING {
                self.settle()?;
            }
            let room = MAX_PENDING - self.pending.len();
            let (js, pending, stats) = (self.bus.jetstream(), &mut self.pending, &self.stats);
            let sent = self.bus.block_on(async {
                for (subject, message) in messages.by_ref().take(room) {
                    let future = js.send_publish(subject.to_string(), message).await;
                    pending.push(future.map_err(|e| io::Error::other(format!("cannot publish to {subject}: {e}")))?);
                    stats.published.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), io::Error>(())
            });
            sent?;
        }
        Ok(())
    }
}

/// A message of `payload`, with the id `id` when it has one.
fn message(payload: &[u8], id: Option<String>) -> PublishMessage {
    let message = PublishMessage::build().payload(payload.to_vec().into());
    match id {
        Some(id) => message.message_id(id),
        None => message,
    }
}

impl Sink for JetStream {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        let events = batch.events.split_inclusive(|&b| b == b'\n');
        let ids = batch.stored.as_ref().map(|s| (&s.store, s.events.as_slice()));
        let mut messages = Vec::with_capacity(batch.counts.events as usize + batch.rejects.len());
        for (i, event) in events.enumerate() {
            let id = ids.and_then(|(store, seqs)| seqs.get(i).map(|seq| format!("{store}:{seq}")));
            messages.push((Arc::clone(&self.events), message(event.strip_suffix(b"\n").unwrap_or(event), id)));
        }
        for r in &batch.rejects {
            let mut line = Vec::new();
            write_reject(&mut line, &r.origin, batch.stored.is_some(), r.reject.code, &r.reject.detail, &r.text);
            let id = batch.stored.as_ref().map(|s| format!("{}:{}:reject", s.store, r.origin.line));
            messages.push((Arc::clone(&self.rejects), message(line.strip_suffix(b"\n").unwrap_or(&line), id)));
        }
        self.publish(messages)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() && self.held.is_empty() {
            return Ok(());
        }
        self.settle()
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        if !ack.is_none() {
            self.held.push(ack);
        }
        Ok(())
    }
}
