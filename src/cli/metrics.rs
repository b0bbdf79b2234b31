//! The metrics endpoint that `serve` and `consume` share (`/metrics` in OpenMetrics text,
//! `/healthz`, served by hyper), and the metrics of the bus: what the collector publishes,
//! and what a worker fetches, publishes and acknowledges.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use xdrmap::bus::raw::Forwarded;
use xdrmap::sinks::BusStats;
use xdrmap::sources::jetstream::SourceStats;

/// What the endpoint serves.
pub trait Scrape: Send + Sync + 'static {
    /// The metrics, as OpenMetrics text.
    fn render(&self) -> String;
    /// Whether the process is draining (`/healthz` then answers 503).
    fn draining(&self) -> bool {
        false
    }
}

/// Writes one counter.
fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: &AtomicU64) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value.load(Ordering::Relaxed));
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// Writes one counter of seconds, from microseconds.
fn seconds(encoder: &mut DescriptorEncoder, name: &str, help: &str, micros: &AtomicU64) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(micros.load(Ordering::Relaxed) as f64 / 1e6);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// The collector's publishing (`serve --nats`), read at each scrape.
#[derive(Debug)]
pub struct Forwarding(pub Arc<Forwarded>);

impl Collector for Forwarding {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let f = &self.0;
        counter(&mut e, "xdrmap_bus_published", "Raw messages JetStream acknowledged", &f.messages)?;
        counter(
            &mut e,
            "xdrmap_bus_refused",
            "Messages refused by the framing, published to the rejects subject",
            &f.rejected,
        )?;
        counter(&mut e, "xdrmap_bus_publish_retries", "Batches published again (the bus away, or slow)", &f.retries)?;
        counter(&mut e, "xdrmap_bus_publish_batches", "Batches the bus took", &f.batches)?;
        let help = "Time from a batch's first publish to its last acknowledgement, summed (divide by the batches for the mean)";
        seconds(&mut e, "xdrmap_bus_publish_seconds", help, &f.publish_micros)
    }
}

/// The events `serve --where` left out, read at each scrape.
#[derive(Debug)]
pub struct Unmatched(pub Arc<AtomicU64>);

impl Collector for Unmatched {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let help = "Events mapped but not written: they did not match --where";
        counter(&mut e, "xdrmap_events_unmatched", help, &self.0)
    }
}

/// The events each `serve --route` took, by its file.
#[derive(Debug)]
pub struct Routed(pub Vec<(String, Arc<AtomicU64>)>);

impl Collector for Routed {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let help = "Events sent to a --route, by its file";
        let kind = ConstCounter::new(0u64).metric_type();
        let mut family = e.encode_descriptor("xdrmap_routed_events", help, None, kind)?;
        for (file, n) in &self.0 {
            let metric = ConstCounter::new(n.load(Ordering::Relaxed));
            metric.encode(family.encode_family(&vec![("route", file.clone())])?)?;
        }
        Ok(())
    }
}

/// A worker's metrics (`consume --metrics`): the raw messages it fetched and acknowledged,
/// the events and rejects it published.
pub struct Worker {
    registry: Registry,
}

#[derive(Debug)]
struct WorkerStats {
    source: Arc<SourceStats>,
    sink: Arc<BusStats>,
}

impl Worker {
    pub fn new(source: Arc<SourceStats>, sink: Arc<BusStats>) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(WorkerStats { source, sink }));
        Worker { registry }
    }
}

impl Scrape for Worker {
    fn render(&self) -> String {
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Collector for WorkerStats {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (source, sink) = (&self.source, &self.sink);
        counter(&mut e, "xdrmap_bus_delivered", "Raw messages delivered to this worker", &source.delivered)?;
        let help = "Raw messages delivered again (not acknowledged in time before, by this worker or another)";
        counter(&mut e, "xdrmap_bus_redelivered", help, &source.redelivered)?;
        counter(&mut e, "xdrmap_bus_raw_acked", "Raw messages acknowledged (their events durable)", &source.acked)?;
        let pending = ConstGauge::new(source.pending.load(Ordering::Relaxed) as i64);
        let help = "Raw messages of the stream not yet delivered to the consumer, as of the last fetch";
        pending.encode(e.encode_descriptor("xdrmap_bus_consumer_pending", help, None, pending.metric_type())?)?;
        counter(&mut e, "xdrmap_bus_published", "Events and rejects published", &sink.published)?;
        counter(&mut e, "xdrmap_bus_acked", "Publishes JetStream acknowledged", &sink.acked)?;
        let help = "Publishes JetStream acknowledged as duplicates (a redelivery mapped again)";
        counter(&mut e, "xdrmap_bus_duplicates", help, &sink.duplicates)?;
        let help = "Windows of publishes not acknowledged within --publish-timeout (their raw messages come again)";
        counter(&mut e, "xdrmap_bus_abandoned_windows", help, &sink.abandoned)?;
        counter(&mut e, "xdrmap_bus_publish_windows", "Windows of publishes waited for", &sink.windows)?;
        let help = "Time spent waiting for publish acknowledgements, summed (divide by the windows for the mean)";
        seconds(&mut e, "xdrmap_bus_publish_seconds", help, &sink.ack_wait_micros)
    }
}

/// Binds the metrics listener (before anything is received, so that a port in use stops
/// the start).
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    let fail = |e: io::Error| format!("cannot serve metrics on {addr}: {e}");
    let socket = std::net::TcpListener::bind(addr).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    Ok(socket)
}

/// Serves `/metrics` and `/healthz` on `socket`; gives its address.
pub fn serve(
    socket: std::net::TcpListener,
    metrics: Arc<dyn Scrape>,
    runtime: &tokio::runtime::Handle,
) -> Result<SocketAddr, String> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper::{Method, Request, Response, StatusCode};
    use hyper_util::rt::{TokioIo, TokioTimer};
    let _entered = runtime.enter();
    let fail = |e: io::Error| format!("cannot serve metrics: {e}");
    let socket = tokio::net::TcpListener::from_std(socket).map_err(fail)?;
    let bound = socket.local_addr().map_err(fail)?;
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = socket.accept().await else {
                // Out of descriptors: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move {
                let respond = move |req: Request<hyper::body::Incoming>| {
                    let metrics = Arc::clone(&metrics);
                    async move {
                        let (status, kind, body) = match (req.method(), req.uri().path()) {
                            (&Method::GET, "/metrics") => (
                                StatusCode::OK,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                metrics.render(),
                            ),
                            (&Method::GET, "/healthz") if metrics.draining() => {
                                (StatusCode::SERVICE_UNAVAILABLE, "text/plain", "draining\n".to_string())
                            }
                            (&Method::GET, "/healthz") => (StatusCode::OK, "text/plain", "ok\n".to_string()),
                            _ => (StatusCode::NOT_FOUND, "text/plain", "not found: try /metrics or /healthz\n".into()),
                        };
                        let mut response = Response::new(Full::new(Bytes::from(body)));
                        *response.status_mut() = status;
                        response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static(kind));
                        Ok::<_, std::convert::Infallible>(response)
                    }
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(std::time::Duration::from_secs(5))
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(respond))
                    .await;
            });
        }
    });
    Ok(bound)
}
