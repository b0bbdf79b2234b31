//! The collector's side of the bus: every received message published, as it came, to the raw
//! subject, with its receive time and transport as headers; a batch counts as taken (its
//! source's acknowledgement fired) only once JetStream has acknowledged all of it.

use super::{headers, Bus};
use crate::output::write_reject;
use crate::sources::{Batch, Framing, Pool, ReadError, Source};
use async_nats::jetstream::message::PublishMessage;
use async_nats::HeaderMap;
use std::time::Duration;

/// Header of a message cut to the size limit: how long it was.
pub const TRUNCATED: &str = "Xdrmap-Truncated";

/// How long to wait before publishing a batch again when the bus did not take it.
const RETRY: Duration = Duration::from_millis(500);

/// What forwarding did.
#[derive(Debug, Default)]
pub struct Forwarded {
    /// Messages published to the raw subject and acknowledged.
    pub messages: u64,
    /// Messages refused at the door (framing), published to the rejects subject.
    pub rejected: u64,
    /// Times a batch had to be published again (the bus away, or slow).
    pub retries: u64,
    /// Inputs that failed.
    pub read_errors: Vec<ReadError>,
}

/// Publishes everything `source` hands out: messages to `raw`, messages refused by the
/// framing to `rejects`, each batch retried until the bus takes it (meanwhile the source's
/// queue fills and TCP senders are pushed back). Returns when the source is done.
pub fn forward(source: &mut dyn Source, bus: &Bus, raw: &str, rejects: &str, deadline: Duration) -> Forwarded {
    let pool = Pool::new(4);
    let mut done = Forwarded::default();
    while let Some(next) = source.next_batch(&pool) {
        let batch = match next {
            Ok(batch) => batch,
            Err(e) => {
                done.read_errors.push(e);
                continue;
            }
        };
        let messages = messages(&batch, raw, rejects);
        loop {
            match publish_all(bus, &messages, deadline) {
                Ok(()) => break,
                Err(e) => {
                    if done.retries == 0 || done.retries % 20 == 0 {
                        eprintln!(
                            "xdrmap: the bus did not take a batch of {} messages ({e}); trying again",
                            messages.len()
                        );
                    }
                    done.retries += 1;
                    std::thread::sleep(RETRY);
                }
            }
        }
        let refused = matches!(batch.framing, Framing::Rejected(_));
        done.rejected += u64::from(refused);
        done.messages += messages.len() as u64 - u64::from(refused);
        batch.ack.fire();
        pool.give(batch.data);
    }
    done
}

/// The messages of a batch, each with its subject and headers.
fn messages(batch: &Batch, raw: &str, rejects: &str) -> Vec<(String, PublishMessage)> {
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
    let message =
        |payload: &[u8], headers: HeaderMap| PublishMessage::build().payload(payload.to_vec().into()).headers(headers);
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
