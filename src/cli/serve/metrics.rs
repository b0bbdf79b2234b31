//! What `serve` has seen, as Prometheus metrics (prometheus-client, served by hyper):
//! messages, bytes and connections per listener, events and rejects by listener and reason,
//! field errors by token, UDP drops, queue depth, reloads and the plan in use; with
//! `--nats`, publishing to the bus.

use crate::cli::metrics::Scrape;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use xdrmap::pipeline::Current;
use xdrmap::sinks::{Mapped, Sink};
use xdrmap::sources::net::Control;
use xdrmap::sources::Ack;

type Labels = Vec<(&'static str, String)>;

/// The registry and the metrics the sink and the reloader update.
pub struct Metrics {
    registry: Registry,
    events: Family<Labels, Counter>,
    with_errors: Family<Labels, Counter>,
    field_errors: Family<Labels, Counter>,
    rejects: Family<Labels, Counter>,
    reloads: Family<Labels, Counter>,
    control: Arc<Control>,
}

impl Metrics {
    /// The metrics of the listeners and the plan, and those `extras` read at each scrape
    /// (publishing to the bus, `--where`, `--route`).
    pub fn new(control: Arc<Control>, current: Arc<Current>, extras: Vec<Box<dyn Collector>>) -> Self {
        let mut registry = Registry::default();
        let events = Family::<Labels, Counter>::default();
        let with_errors = Family::<Labels, Counter>::default();
        let field_errors = Family::<Labels, Counter>::default();
        let rejects = Family::<Labels, Counter>::default();
        let reloads = Family::<Labels, Counter>::default();
        registry.register(
            "xdrmap_events",
            "Events mapped (and written, unless --where left them out), by listener",
            events.clone(),
        );
        registry.register(
            "xdrmap_events_with_field_errors",
            "Events with at least one field error, by listener",
            with_errors.clone(),
        );
        registry.register("xdrmap_field_errors", "Field errors, by token", field_errors.clone());
        registry.register("xdrmap_rejects", "Messages rejected, by listener and reason code", rejects.clone());
        registry.register("xdrmap_reloads", "Guide reloads, by result (ok, failed)", reloads.clone());
        for result in ["ok", "failed"] {
            let _ = reloads.get_or_create(&vec![("result", result.to_string())]);
        }
        registry.register_collector(Box::new(Live { control: Arc::clone(&control), current }));
        for extra in extras {
            registry.register_collector(extra);
        }
        Metrics { registry, events, with_errors, field_errors, rejects, reloads, control }
    }

    /// Counts a reload.
    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&vec![("result", result.to_string())]).inc();
    }
}

impl Scrape for Metrics {
    fn render(&self) -> String {
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    fn draining(&self) -> bool {
        self.control.is_stopping()
    }
}

/// What the listeners and the engine know now, read at each scrape.
struct Live {
    control: Arc<Control>,
    current: Arc<Current>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the listeners and the plan")
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let listeners = self.control.listeners();
        type Read = fn(&xdrmap::sources::net::Listener) -> Option<u64>;
        let per_listener: [(&str, &str, bool, Read); 7] = [
            ("xdrmap_messages", "Messages received (every frame)", true, |l| {
                Some(l.stats.messages.load(Ordering::Relaxed))
            }),
            ("xdrmap_received_bytes", "Bytes received", true, |l| Some(l.stats.bytes.load(Ordering::Relaxed))),
            ("xdrmap_connections_open", "Connections open", false, |l| Some(l.stats.open.load(Ordering::Relaxed))),
            ("xdrmap_connections_accepted", "Connections accepted", true, |l| {
                Some(l.stats.accepted.load(Ordering::Relaxed))
            }),
            (
                "xdrmap_connections_refused",
                "Connections refused (past --max-connections, or a failed TLS handshake)",
                true,
                |l| Some(l.stats.refused.load(Ordering::Relaxed)),
            ),
            ("xdrmap_oversize_messages", "Messages longer than --max-message", true, |l| {
                Some(l.stats.oversize.load(Ordering::Relaxed))
            }),
            ("xdrmap_udp_receive_buffer_bytes", "The UDP receive buffer the kernel granted", false, |l| {
                (l.protocol == "udp").then(|| l.stats.receive_buffer.load(Ordering::Relaxed))
            }),
        ];
        for (name, help, counter, read) in per_listener {
            if counter {
                let mut family = encoder.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
                for l in listeners {
                    let Some(v) = read(l) else { continue };
                    ConstCounter::new(v).encode(family.encode_family(&vec![("listener", l.name.to_string())])?)?;
                }
            } else {
                let mut family = encoder.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
                for l in listeners {
                    let Some(v) = read(l) else { continue };
                    ConstGauge::new(v as i64).encode(family.encode_family(&vec![("listener", l.name.to_string())])?)?;
                }
            }
        }
        let mut drops = encoder.encode_descriptor(
            "xdrmap_udp_dropped",
            "UDP datagrams dropped, by who dropped them: the kernel (its buffer was full) or xdrmap \
             (never: a full queue stops the reads, so the kernel buffer takes the excess)",
            None,
            ConstCounter::new(0u64).metric_type(),
        )?;
        for l in listeners.iter().filter(|l| l.protocol == "udp") {
            let kernel = l.kernel_drops().unwrap_or(0);
            for (by, v) in [("kernel", kernel), ("xdrmap", 0)] {
                let labels = vec![("listener", l.name.to_string()), ("by", by.to_string())];
                ConstCounter::new(v).encode(drops.encode_family(&labels)?)?;
            }
        }
        let depth = ConstGauge::new(self.control.queue_depth() as i64);
        depth.encode(encoder.encode_descriptor(
            "xdrmap_queue_depth",
            "Batches waiting to be mapped",
            None,
            depth.metric_type(),
        )?)?;
        let (generation, engine) = self.current.load();
        let gauge = ConstGauge::new(generation as i64);
        let help = "The plan in use: 1 at start, one more at each reload that was swapped in";
        gauge.encode(encoder.encode_descriptor("xdrmap_plan_generation", help, None, gauge.metric_type())?)?;
        let guides: Vec<&str> = engine.plan.guides.iter().map(|g| g.name.as_str()).collect();
        let info = ConstGauge::new(1i64);
        let mut family = encoder.encode_descriptor(
            "xdrmap_plan_guides",
            "The guides of the plan in use",
            None,
            info.metric_type(),
        )?;
        let labels = vec![("generation", generation.to_string()), ("guides", guides.join(","))];
        info.encode(family.encode_family(&labels)?)?;
        Ok(())
    }
}

/// A sink that counts what it passes on.
pub struct Metered<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Metered<S> {
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Metered { inner, metrics }
    }
}

impl<S: Sink> Sink for Metered<S> {
    fn write(&mut self, batch: &Mapped) -> io::Result<()> {
        self.inner.write(batch).inspect_err(|_| self.metrics.control.close())?;
        let listener = batch.peer.as_ref().map_or_else(|| "-".to_string(), |p| p.listener.to_string());
        let by_listener = vec![("listener", listener.clone())];
        let m = &self.metrics;
        if batch.counts.events > 0 {
            m.events.get_or_create(&by_listener).inc_by(batch.counts.events);
        }
        if batch.counts.with_errors > 0 {
            m.with_errors.get_or_create(&by_listener).inc_by(batch.counts.with_errors);
        }
        for (token, n) in &batch.field_errors {
            m.field_errors.get_or_create(&vec![("token", token.clone())]).inc_by(*n);
        }
        for r in &batch.rejects {
            let labels = vec![("listener", listener.clone()), ("code", r.reject.code.to_string())];
            m.rejects.get_or_create(&labels).inc();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|_| self.metrics.control.close())
    }

    fn acknowledge(&mut self, ack: Ack) -> io::Result<()> {
        self.inner.acknowledge(ack).inspect_err(|_| self.metrics.control.close())
    }
}
