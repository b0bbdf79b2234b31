//! `xdrmap consume`: a mapper worker on the bus. Raw messages come from a durable pull
//! consumer shared by every worker of the same name, events and rejects go back to the bus,
//! and a raw message is acknowledged only once its event's publish is (at-least-once).

use super::config::{filtered, where_query, Loaded};
use super::error::Error;
use super::flags::{BusArgs, GuideArgs, ReadArgs};
use super::map::summary_of;
use super::metrics as endpoint;
use clap::Args;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xdrmap::bus::{Bus, StreamSpec, EVENTS_STREAM, RAW_STREAM, REJECTS_STREAM};
use xdrmap::pipeline::{Current, Engine, Pipeline};
use xdrmap::sinks::{JetStream, Unacked};
use xdrmap::sources::jetstream::{ConsumerConfig, JetStreamSource};

/// Map raw messages from NATS JetStream, and publish their events and rejects back to it.
///
/// Any number of workers, on any machines, share the work when they give the same --durable
/// name. Each fetches batches of raw messages, maps them with the same engine as `map`,
/// publishes each event to the events subject with a Nats-Msg-Id derived from the raw
/// message's stream and sequence (its EventId is derived from them too), and acknowledges the
/// raw message only once the server has acknowledged the event. A worker that dies leaves its
/// messages to be delivered again; the ids make their events no duplicates within the dedupe
/// window. Streams that are missing are created. SIGTERM or SIGINT finishes the batch in
/// flight, acknowledges it and exits 0.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap consume nats://127.0.0.1:4222\n  xdrmap consume nats://n1:4222,nats://n2:4222,nats://n3:4222 --replicas 3 --creds worker.creds\n  xdrmap consume nats://127.0.0.1:4222 --until-idle    # map what is there, then exit"
)]
pub struct ConsumeArgs {
    /// The NATS servers, comma-separated (any of a cluster).
    #[arg(value_name = "URL")]
    url: String,

    /// The durable consumer's name; workers with the same name share the work.
    #[arg(long, value_name = "NAME", default_value = "xdrmap")]
    durable: String,

    /// The stream of raw messages.
    #[arg(long, value_name = "NAME", default_value = RAW_STREAM)]
    raw_stream: String,

    /// The raw subjects (the raw stream's, when it is created).
    #[arg(long, value_name = "SUBJECT", default_value = "xdrmap.raw.>")]
    raw_subject: String,

    /// The stream of events, created when missing with the subjects xdrmap.events.>.
    #[arg(long, value_name = "NAME", default_value = EVENTS_STREAM)]
    events_stream: String,

    /// The subject events are published to.
    #[arg(long, value_name = "SUBJECT", default_value = "xdrmap.events.xdr")]
    events_subject: String,

    /// The stream of rejects, created when missing with the subjects xdrmap.rejects.>.
    #[arg(long, value_name = "NAME", default_value = REJECTS_STREAM)]
    rejects_stream: String,

    /// The subject rejects are published to (JSON: stream, sequence, code, reason, text).
    #[arg(long, value_name = "SUBJECT", default_value = "xdrmap.rejects.xdr")]
    rejects_subject: String,

    /// Raw messages per fetch.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    batch: usize,

    /// Seconds the server waits for a raw message's acknowledgement before delivering it again.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    ack_wait: u64,

    /// Seconds to wait for a window of publish acknowledgements before giving it up (its raw
    /// messages are then delivered again).
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    publish_timeout: u64,

    /// Exit once a fetch finds no message, instead of waiting for more.
    #[arg(long)]
    until_idle: bool,

    /// Serve Prometheus metrics (raw messages delivered, redelivered and acknowledged, the
    /// consumer's pending, events published, acknowledged and dropped as duplicates, publish
    /// wait) and /healthz on ADDR (as 127.0.0.1:9101).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,

    /// Publish only the events this QQL query matches (`xdrmap query --help` has the syntax);
    /// the others are counted, not rejected, and their raw messages acknowledged all the same.
    #[arg(long = "where", value_name = "QUERY")]
    filter: Option<String>,

    /// Worker threads, 1 to 256 (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,

    #[command(flatten)]
    bus: BusArgs,

    #[command(flatten)]
    guides: GuideArgs,

    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(args: ConsumeArgs) -> Result<ExitCode, Error> {
    let loaded = Loaded::from_flags(&args.guides, &args.read)?;
    let filter = where_query(args.filter.as_deref())?;
    let metrics_socket = args.metrics.map(endpoint::bind).transpose().map_err(Error::Other)?;
    let bus = Arc::new(Bus::connect(&args.bus.config(&args.url)).map_err(Error::Other)?);
    let streams = [
        (&args.raw_stream, &args.raw_subject),
        (&args.events_stream, &"xdrmap.events.>".to_string()),
        (&args.rejects_stream, &"xdrmap.rejects.>".to_string()),
    ];
    for (name, subjects) in streams {
        bus.ensure_stream(&StreamSpec { name: name.clone(), subjects: subjects.clone() }).map_err(Error::Other)?;
    }
    for (subject, what, expected) in
        [(&args.events_subject, "events", "xdrmap.events.>"), (&args.rejects_subject, "rejects", "xdrmap.rejects.>")]
    {
        bus.output_stream(subject, what, expected, &[&args.raw_stream]).map_err(Error::Other)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = ConsumerConfig {
        durable: Some(args.durable.clone()),
        filter: args.raw_subject.clone(),
        batch: args.batch.clamp(1, 100_000),
        ack_wait: Duration::from_secs(args.ack_wait.max(1)),
        max_ack_pending: 20_000,
        until_idle: args.until_idle,
    };
    let mut source =
        JetStreamSource::open(Arc::clone(&bus), &args.raw_stream, consumer, Arc::clone(&stop)).map_err(Error::Other)?;
    let deadline = Duration::from_secs(args.publish_timeout.max(1));
    let published =
        JetStream::new(Arc::clone(&bus), args.events_subject, args.rejects_subject, deadline, Unacked::Redeliver);
    let stats = published.stats();
    let (mut sink, unmatched) = filtered(Box::new(published), filter);
    bus.handle().spawn(stop_on_signal(Arc::clone(&stop)));
    eprintln!("xdrmap: consuming {} as {} from {}", args.raw_stream, args.durable, args.url);
    if let Some(socket) = metrics_socket {
        let worker = Arc::new(endpoint::Worker::new(source.stats(), Arc::clone(&stats)));
        let bound = endpoint::serve(socket, worker, bus.handle()).map_err(Error::Other)?;
        eprintln!("xdrmap: metrics on http://{bound}/metrics");
    }
    let engine = Current::new(Engine { plan: loaded.plan, settings: loaded.settings });
    let threads = args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
    let ended = Pipeline { engine: &engine, threads }.run(&mut source, &mut sink);
    ended.output.map_err(Error::Output)?;
    let unmatched = unmatched.map(|n| n.load(Ordering::Relaxed));
    eprintln!(
        "{} ({} published, {} duplicates dropped by the stream)",
        summary_of(&ended.counts, unmatched),
        stats.published.load(Ordering::Relaxed),
        stats.duplicates.load(Ordering::Relaxed)
    );
    Ok(ExitCode::SUCCESS)
}

/// The first SIGTERM or SIGINT stops fetching (the batch in flight is finished and
/// acknowledged); a second exits at once.
async fn stop_on_signal(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return;
    };
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        if stop.swap(true, Ordering::Relaxed) {
            eprintln!("xdrmap: {name} again: exiting at once");
            std::process::exit(130);
        }
        eprintln!("xdrmap: {name}: finishing the batch in flight");
    }
}
