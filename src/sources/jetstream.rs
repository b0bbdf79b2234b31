//! A JetStream pull consumer as a source: raw messages fetched in batches, each batch of
//! consecutive messages from one sender mapped as one. A durable consumer's messages are
//! acknowledged to the server only once the sink has made their events durable
//! (at-least-once); a replay reads the stream as it stands, through an ephemeral consumer
//! without acknowledgements.

use super::{Ack, Batch, Framing, Origin, Pool, ReadError, Source};
use crate::bus::raw::TRUNCATED;
use crate::bus::{headers, Bus};
use crate::syntax::Transport;
use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer, DeliverPolicy};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::AckKind;
use async_nats::HeaderMap;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a fetch waits for messages before it asks again (and looks at the stop flag).
const FETCH_WAIT: Duration = Duration::from_millis(500);

/// How the consumer is set up and read.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// The durable consumer's name: workers that give the same name share the work. None
    /// replays the stream: an ephemeral consumer from the first message to the last one the
    /// stream held when the source opened, nothing acknowledged (`map --input nats://`).
    pub durable: Option<String>,
    /// The raw subjects it takes (`xdrmap.raw.>`).
    pub filter: String,
    /// Messages per fetch.
    pub batch: usize,
    /// How long the server waits for an acknowledgement before it delivers a message again.
    pub ack_wait: Duration,
    /// Messages delivered and not yet acknowledged, at most, over all the workers.
    pub max_ack_pending: i64,
    /// Stop when a fetch finds nothing (read what is there, then end), instead of waiting.
    pub until_idle: bool,
}

/// What the source has seen, for the metrics.
#[derive(Debug, Default)]
pub struct SourceStats {
    /// Raw messages delivered to this worker.
    pub delivered: AtomicU64,
    /// Of those, messages delivered before (to this worker or another).
    pub redelivered: AtomicU64,
    /// Raw messages acknowledged.
    pub acked: AtomicU64,
    /// Messages of the stream not yet delivered to the consumer, as of the last fetch.
    pub pending: AtomicU64,
}

/// Raw messages of one stream, through a durable pull consumer.
pub struct JetStreamSource {
    bus: Arc<Bus>,
    consumer: Consumer<pull::Config>,
    stream: Arc<str>,
    config: ConsumerConfig,
    stop: Arc<AtomicBool>,
    ready: std::collections::VecDeque<Batch>,
    last_transport: Option<Arc<Transport>>,
    /// For a replay, the last sequence it reads.
    end: Option<u64>,
    /// A replay has read its last message.
    done: bool,
    stats: Arc<SourceStats>,
}

impl JetStreamSource {
    /// Opens (or creates) the durable consumer `config.durable` on `stream`, or for a replay
    /// an ephemeral one. Setting `stop` ends the source after the fetch in flight.
    ///
    /// # Errors
    /// When the stream is missing or the server refuses the consumer.
    pub fn open(bus: Arc<Bus>, stream: &str, config: ConsumerConfig, stop: Arc<AtomicBool>) -> Result<Self, String> {
        let shared = pull::Config {
            durable_name: config.durable.clone(),
            ack_policy: AckPolicy::Explicit,
            ack_wait: config.ack_wait,
            max_ack_pending: config.max_ack_pending,
            ..Default::default()
        };
        let replay = pull::Config { ack_policy: AckPolicy::None, ..Default::default() };
        let consumer_config = pull::Config {
            deliver_policy: DeliverPolicy::All,
            filter_subject: config.filter.clone(),
            ..if config.durable.is_some() { shared } else { replay }
        };
        let opened = bus.block_on(async {
            let mut stream = bus.jetstream().get_stream(stream).await.map_err(|e| e.to_string())?;
            let last = stream.info().await.map_err(|e| e.to_string())?.state.last_sequence;
            let consumer = match &config.durable {
                Some(name) => stream.get_or_create_consumer(name, consumer_config).await,
                None => stream.create_consumer(consumer_config).await,
            };
            Ok::<_, String>((consumer.map_err(|e| e.to_string())?, last))
        });
        let (consumer, last) = opened.map_err(|e| match &config.durable {
            Some(name) => format!("cannot open the consumer {name} on {stream}: {e}"),
            None => format!("cannot replay the stream {stream}: {e}"),
        })?;
        let end = config.durable.is_none().then_some(last);
        Ok(JetStreamSource {
            bus,
            consumer,
            stream: Arc::from(stream),
            config,
            stop,
            ready: Default::default(),
            last_transport: None,
            end,
            done: end == Some(0),
            stats: Arc::default(),
        })
    }

    /// What the source has seen so far.
    pub fn stats(&self) -> Arc<SourceStats> {
        Arc::clone(&self.stats)
    }

    /// One fetch: the messages that came, with their sequence numbers, or an error.
    fn fetch(&self) -> Result<Vec<(u64, async_nats::Message, Acker)>, String> {
        self.bus.block_on(async {
            let mut batch = self
                .consumer
                .fetch()
                .max_messages(self.config.batch)
                .expires(FETCH_WAIT)
                .messages()
                .await
                .map_err(|e| e.to_string())?;
            let mut messages = Vec::new();
            while let Some(message) = batch.next().await {
                let message = message.map_err(|e| e.to_string())?;
                let info = message.info().map_err(|e| e.to_string())?;
                let (seq, again, pending) = (info.stream_sequence, info.delivered > 1, info.pending);
                self.stats.redelivered.fetch_add(u64::from(again), Ordering::Relaxed);
                self.stats.pending.store(pending, Ordering::Relaxed);
                let (message, acker) = message.split();
                messages.push((seq, message, acker));
            }
            self.stats.delivered.fetch_add(messages.len() as u64, Ordering::Relaxed);
            Ok(messages)
        })
    }

    /// Cuts fetched messages into batches: consecutive numbers, one receive time, one sender,
    /// no line break inside (a message with one, or one the collector truncated, is a batch of
    /// its own).
    fn cut(&mut self, messages: Vec<(u64, async_nats::Message, Acker)>, pool: &Pool) {
        let mut open: Option<(Batch, Vec<Acker>, u64)> = None;
        for (seq, message, acker) in messages {
            if let Some(end) = self.end {
                // A replay ends where the stream ended when it began.
                if seq >= end {
                    self.done = true;
                }
                if seq > end {
                    break;
                }
            }
            let received = message.headers.as_ref().and_then(received).unwrap_or_else(Utc::now);
            let transport = self.transport(message.headers.as_ref());
            let payload = &message.payload[..];
            let truncated = message.headers.as_ref().and_then(|h| h.get(TRUNCATED)).map(|v| v.as_str().to_string());
            let whole = truncated.is_some() || payload.contains(&b'\n');
            let fits = open.as_ref().is_some_and(|(batch, _, last)| {
                !whole && seq == last + 1 && batch.received == received && batch.origin.peer == transport
            });
            if !fits {
                self.close(open.take());
                let origin = Origin { source: Arc::clone(&self.stream), line: seq, peer: transport };
                let framing = match (truncated, whole) {
                    (Some(length), _) => Framing::Truncated(length),
                    (None, true) => Framing::Message,
                    (None, false) => Framing::Lines,
                };
                let batch =
                    Batch { framing, stored: true, ..Batch::lines(origin, pool.take(payload.len() + 1), received) };
                open = Some((batch, Vec::new(), seq));
            }
            let (batch, ackers, last) = open.as_mut().expect("a batch is open");
            batch.data.extend_from_slice(payload);
            if !whole {
                batch.data.push(b'\n');
            }
            ackers.push(acker);
            *last = seq;
            if whole {
                self.close(open.take());
            }
        }
        self.close(open);
    }

    /// Queues a cut batch, with the acknowledgement of its messages.
    fn close(&mut self, open: Option<(Batch, Vec<Acker>, u64)>) {
        let Some((mut batch, ackers, _)) = open else { return };
        if self.end.is_some() {
            self.ready.push_back(batch);
            return;
        }
        let (bus, stats) = (Arc::clone(&self.bus), Arc::clone(&self.stats));
        // Fired by the sink, on its thread, once the events are durable: the acks are handed
        // to the client before the sink flushes it, so that a graceful stop sends them all.
        // Refused (the sink gave the window up), the messages are asked for again at once
        // (a nak), not after the ack wait; their ids keep a second publish from counting.
        batch.ack = Ack::or_refuse(move |durable| {
            bus.block_on(async move {
                for acker in ackers {
                    if durable {
                        let acked = acker.ack().await.is_ok();
                        stats.acked.fetch_add(u64::from(acked), Ordering::Relaxed);
                    } else {
                        let _ = acker.ack_with(AckKind::Nak(None)).await;
                    }
                }
            });
        });
        self.ready.push_back(batch);
    }

    /// The transport a message's headers name, shared with the message before when the same.
    fn transport(&mut self, headers: Option<&HeaderMap>) -> Option<Arc<Transport>> {
        let headers = headers?;
        let peer: SocketAddr = headers.get(headers::PEER)?.as_str().parse().ok()?;
        let listener = headers.get(headers::LISTENER).map_or("", |v| v.as_str());
        let protocol = match headers.get(headers::PROTOCOL).map(|v| v.as_str()) {
            Some("udp") => "udp",
            Some("tls") => "tls",
            _ => "tcp",
        };
        let tls_subject = headers.get(headers::TLS_SUBJECT).map(|v| v.as_str().to_string());
        if let Some(last) = &self.last_transport {
            if last.peer == peer
                && &*last.listener == listener
                && last.protocol == protocol
                && last.tls_subject == tls_subject
            {
                return Some(Arc::clone(last));
            }
        }
        let transport = Arc::new(Transport::new(Arc::from(listener), protocol, peer, tls_subject));
        self.last_transport = Some(Arc::clone(&transport));
        Some(transport)
    }
}

/// The receive time a raw message's headers give.
fn received(headers: &HeaderMap) -> Option<DateTime<Utc>> {
    let text = headers.get(headers::RECEIVED)?.as_str();
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

impl Source for JetStreamSource {
    fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>> {
        loop {
            if let Some(batch) = self.ready.pop_front() {
                return Some(Ok(batch));
            }
            if self.done || self.stop.load(Ordering::Relaxed) {
                return None;
            }
            match self.fetch() {
                Ok(messages) if messages.is_empty() && self.config.until_idle => return None,
                Ok(messages) => self.cut(messages, pool),
                Err(e) => {
                    // The bus is away (a restart, a leader change): say so, wait, ask again.
                    eprintln!("xdrmap: fetching from {}: {e}; trying again", self.stream);
                    std::thread::sleep(FETCH_WAIT);
                }
            }
        }
    }
}
