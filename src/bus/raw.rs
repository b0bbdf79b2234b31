//! The collector's side of the bus: every received message published, as it came, to the raw
//! subject, with its receive time and transport as headers; a batch counts as taken (its
//! source's acknowledgement fired) only once JetStream has acknowledged all of it. Each
//! message has a `Nats-Msg-Id` of its own (the collector's run and the message's number), so a
//! batch published again after a failover that had stored part of it adds nothing twice.

use super::{headers, Bus};
use crate::output::write_reject;
use crate::sources::{Batch, Framing, Pool, ReadError, Source};
use async_nats::jetstream::message::PublishMessage;
use async_nats::HeaderMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Header of a message cut to the size limit: how long it was.
pub const TRUNCATED: &str = "Xdrmap-Truncated";

/// How long to wait before publishing a batch again when the bus did not take it.
const RETRY: Duration = Duration::from_millis(500);

/// What forwarding has done, as it goes (for the metrics and the summary).
#[derive(Debug, Default)]
pub struct Forwarded {
    /// Messages published to the raw subject and acknowledged.
    pub messages: AtomicU64,
    /// Messages refused at the door (framing), published to the rejects subject.
    pub rejected: AtomicU64,
    /// Times a batch had to be published again (the bus away, or slow).
    pub retries: AtomicU64,
    /// Batches the bus took.
    pub batches: AtomicU64,
    /// Time from a taken batch's first publish to its last acknowledgement, summed, in
    /// microseconds.
    pub publish_micros: AtomicU64,
}

/// Publishes everything `source` hands out: messages to `raw`, messages refused by the
/// framing to `rejects`, each batch retried until the bus takes it (meanwhile the source's
/// queue fills and TCP senders are pushed back), counted in `done`. Returns when the source
/// is done, with the inputs that failed.
pub fn forward(
    source: &mut dyn Source,
    bus: &Bus,
    (raw, rejects): (&str, &str),
    deadline: Duration,
    done: &Forwarded,
) -> Vec<ReadError> {
    let pool = Pool::new(4);
    let mut read_errors = Vec::new();
    let mut ids = Ids::new();
    while let Some(next) = source.next_batch(&pool) {
        let batch = match next {
            Ok(batch) => batch,
            Err(e) => {
                read_errors.push(e);
                continue;
            }
        };
        let messages = messages(&batch, raw, rejects, &mut ids);
        loop {
            let started = Instant::now();
            match publish_all(bus, &messages, deadline) {
                Ok(()) => {
                    done.publish_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    done.batches.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(e) => {
                    let retries = done.retries.fetch_add(1, Ordering::Relaxed);
                    if retries.is_multiple_of(20) {
                        eprintln!(
                            "xdrmap: the bus did not take a batch of {} messages ({e}); trying again",
                            messages.len()
                        );
                    }
                    std::thread::sleep(RETRY);
                }
            }
        }
        let refused = u64::from(matches!(batch.framing, Framing::Rejected(_)));
        done.rejected.fetch_add(refused, Ordering::Relaxed);
        done.messages.fetch_add(messages.len() as u64 - refused, Ordering::Relaxed);
        batch.ack.fire();
        pool.give(batch.data);
    }
    read_errors
}

/// The `Nats-Msg-Id`s of a run: its start and process, and a message's number in it.
struct Ids {
    run: String,
    next: u64,
}

impl Ids {
    fn new() -> Self {
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ids { run: format!("{:x}.{}", started.as_nanos(), std::process::id()), next: 0 }
    }

    fn next(&mut self) -> String {
        self.next += 1;
        format!("{}.{}", self.run, self.next)
    }
}

/// The messages of a batch, each with its subject, headers and id.
fn messages(batch: &Batch, raw: &str, rejects: &str, ids: &mut Ids) -> Vec<(String, PublishMessage)> {
    let mut headers = HeaderMap::new();
    headers.insert(headers::RECEIVED, batch.received.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().as_str());
    if let Some(t) = &batch.origin.peer {
        headers.insert(headers::PEER, t.peer_text().as_str());
        headers.insert(headers::LISTENER, &*t.listener);
        headers.insert(headers::PROTOCOL, t.protocol);
        if let Some(subject) = &t.tls_subject {
            headers.insert(headers::TLS_SUBJECT, subject.as_str());
        }
    }
    let mut message = |payload: &[u8], headers: HeaderMap| {
        PublishMessage::build().payload(payload.to_vec().into()).headers(headers).message_id(ids.next())
    };
    match &batch.framing {
        Framing::Lines => batch
            .data
            .split_inclusive(|&b| b == b'\n')
            .map(|line| (raw.to_string(), message(line.strip_suffix(b"\n").unwrap_or(line), headers.clone())))
            .collect(),
        Framing::Message => vec![(raw.to_string(), message(&batch.data, headers))],
        Framing::Truncated(length) => {
            headers.insert(TRUNCATED, length.as_str());
            vec![(raw.to_string(), message(&batch.data, headers))]
        }
        Framing::Rejected(reject) => {
            let mut line = Vec::new();
            let text = String::from_utf8_lossy(&batch.data);
            write_reject(&mut line, &batch.origin, false, reject.code, &reject.detail, &text);
            line.pop();
            vec![(rejects.to_string(), message(&line, headers))]
        }
    }
}

/// Publishes `messages` and waits, under one deadline, for every acknowledgement.
fn publish_all(bus: &Bus, messages: &[(String, PublishMessage)], deadline: Duration) -> Result<(), String> {
    let js = bus.jetstream();
    bus.block_on(async {
        let all = async {
            let mut pending = Vec::with_capacity(messages.len());
            for (i, (subject, message)) in messages.iter().enumerate() {
                pending.push(js.send_publish(subject.clone(), message.clone()).await.map_err(|e| e.to_string())?);
                // Below the client's bound of acknowledgements in flight (5,000), at which a
                // publish would wait for the ones not yet awaited.
                if pending.len() == 1000 || i + 1 == messages.len() {
                    for ack in pending.drain(..) {
                        ack.await.map_err(|e| e.to_string())?;
                    }
                }
            }
            Ok(())
        };
        tokio::time::timeout(deadline, all)
            .await
            .map_err(|_| format!("no acknowledgement within {} s", deadline.as_secs()))?
    })
}
