//! `xdrmap serve`: a syslog collector. Listeners (UDP, TCP, TLS) are the source, the same
//! pipeline as `map` maps, JSON Lines files or standard output are the sink; signals stop it
//! (draining first) or reload its guides, and `/metrics` tells what it has seen.

mod metrics;
mod reload;

use super::config::{filtered, plan_files, query_at, refuse_overwrite, where_query, Loaded};
use super::error::Error;
use super::flags::{parse_bytes, BusArgs, GuideArgs, ReadArgs};
use super::map::summary_of;
use super::metrics::{self as endpoint, Forwarding, Routed, Unmatched};
use clap::{Args, ValueEnum};
use metrics::{Metered, Metrics};
use prometheus_client::collector::Collector;
use reload::Reloader;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use xdrmap::bus::raw::forward;
use xdrmap::bus::raw::Forwarded;
use xdrmap::bus::{Bus, StreamSpec};
use xdrmap::pipeline::{Current, Engine, Pipeline};
use xdrmap::query::Query;
use xdrmap::sinks::{JsonLines, RotatingFile, Route, Routes, Sink};
use xdrmap::sources::framing::Oversize;
use xdrmap::sources::net::{self, Control, NetConfig, TlsFiles};

/// Receive syslog over UDP, TCP and TLS, and map every message as it arrives.
///
/// Listens on every --udp, --tcp and --tls address (with none, on 127.0.0.1:1514 over UDP and
/// TCP), frames TCP and TLS streams as RFC 6587 says (octet counting or LF, CRLF and NUL
/// terminators, detected per frame), maps each message with the same engine as `map`, and
/// writes its event within 100 ms. The sender's address is the `@peer_ip` field, so
/// deviceIPAddress is filled when the line names no address of its own.
///
/// SIGTERM or SIGINT stops accepting, drains what was received, flushes and exits 0 (a second
/// signal exits at once); SIGHUP recompiles the guides and swaps them in only when they
/// compile (and, with --reload-tests, pass their cases).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap serve\n  xdrmap serve --tcp 0.0.0.0:1514 --udp 0.0.0.0:514 -o events.jsonl --rotate-bytes 100M\n  xdrmap serve --tls 0.0.0.0:6514 --tls-cert cert.pem --tls-key key.pem --tls-client-ca ca.pem\n  xdrmap serve --mapping mappings/ --watch --metrics 127.0.0.1:9898"
)]
pub struct ServeArgs {
    /// Receive syslog datagrams on ADDR (IP:PORT, or PORT for 127.0.0.1); may repeat.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    udp: Vec<SocketAddr>,

    /// Receive syslog streams on ADDR; may repeat.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    tcp: Vec<SocketAddr>,

    /// Receive syslog over TLS on ADDR (needs --tls-cert and --tls-key); may repeat.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    tls: Vec<SocketAddr>,

    /// The server's certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,

    /// The server's private key (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,

    /// Require client certificates signed by this CA (PEM); their subject is @tls_subject.
    #[arg(long, value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,

    /// Write events to FILE (appended to) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Start a new events file once it holds BYTES (K, M, G suffixes); old files become
    /// FILE.1, FILE.2, ...
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, requires = "output")]
    rotate_bytes: Option<u64>,

    /// Old events files kept when rotating.
    #[arg(long, value_name = "N", default_value_t = 5)]
    rotate_keep: usize,

    /// Write rejected messages (JSON Lines: listener, peer, line, code, reason, text) to FILE
    /// (appended to) instead of stderr.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Write only the events this QQL query matches (`xdrmap query --help` has the syntax);
    /// the others are counted (xdrmap_events_unmatched_total), not rejected.
    #[arg(long = "where", value_name = "QUERY", conflicts_with = "nats")]
    filter: Option<String>,

    /// Send the events a QQL query matches to FILE (appended to) instead of the main output;
    /// repeat for several routes: an event goes to the first it matches, else to -o. Rejects
    /// stay in --rejects. The last `=` ends the query.
    #[arg(long = "route", value_name = "QUERY=FILE", conflicts_with = "nats")]
    routes: Vec<String>,

    #[command(flatten)]
    guides: GuideArgs,

    #[command(flatten)]
    read: ReadArgs,

    /// The longest message taken whole, in bytes (K, M suffixes).
    #[arg(long, value_name = "BYTES", default_value = "64K", value_parser = parse_bytes)]
    max_message: u64,

    /// What becomes of a longer message: rejected (R305), or truncated and flagged in the
    /// event's errors; counted either way.
    #[arg(long, value_name = "WHAT", default_value = "reject")]
    oversize: OversizeArg,

    /// Join a line that does not begin a message (no <PRI>, no date) to the message before it
    /// on the same connection, as NetScaler continues a message across lines.
    #[arg(long)]
    join_continuations: bool,

    /// TCP and TLS connections open at once; more are refused (and counted).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_connections: usize,

    /// TCP and TLS connections open at once from one address; more from it are refused.
    #[arg(long, value_name = "N", default_value_t = 100)]
    max_connections_per_peer: usize,

    /// Close a connection that sends nothing for this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    idle_timeout: u64,

    /// Start TCP keepalive probes after this many idle seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    keepalive: u64,

    /// The UDP receive buffer to ask the kernel for (capped by net.core.rmem_max).
    #[arg(long, value_name = "BYTES", default_value = "8M", value_parser = parse_bytes)]
    udp_buffer: u64,

    /// Serve Prometheus metrics at http://ADDR/metrics, and /healthz.
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    metrics: Option<SocketAddr>,

    /// Reload when a guide or grammar file under --mapping changes.
    #[arg(long, requires = "mapping")]
    watch: bool,

    /// Swap in reloaded guides only when their own test cases pass too.
    #[arg(long)]
    reload_tests: bool,

    /// On shutdown, how long to keep draining before closing what is still open.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    drain_timeout: u64,

    /// Worker threads, 1 to 256 (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,

    /// Publish every received message, unmapped, to NATS JetStream at URL (comma-separated
    /// for a cluster) instead of mapping it here; `xdrmap consume` workers map them. A message
    /// counts as taken once JetStream acknowledges it; while the bus is away, TCP and TLS
    /// senders are pushed back and UDP drops are counted.
    #[arg(long, value_name = "URL", conflicts_with_all = ["output", "rejects", "rotate_bytes"])]
    nats: Option<String>,

    /// The stream raw messages go to (created when missing, holding xdrmap.raw.>).
    #[arg(long, value_name = "NAME", default_value = xdrmap::bus::RAW_STREAM, requires = "nats")]
    raw_stream: String,

    /// The subject raw messages are published to.
    #[arg(long, value_name = "SUBJECT", default_value = "xdrmap.raw.syslog", requires = "nats")]
    raw_subject: String,

    /// The subject that messages refused by the framing (oversized, say) are published to.
    #[arg(long, value_name = "SUBJECT", default_value = "xdrmap.rejects.xdr", requires = "nats")]
    rejects_subject: String,

    #[command(flatten)]
    bus: BusArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OversizeArg {
    Reject,
    Truncate,
}

pub fn run(args: ServeArgs) -> Result<ExitCode, Error> {
    let loaded = Loaded::from_flags(&args.guides, &args.read)?;
    let filter = where_query(args.filter.as_deref())?;
    let routes = parse_routes(&args.routes)?;
    let certificates = [&args.tls_cert, &args.tls_key, &args.tls_client_ca].into_iter().flatten().cloned();
    let reads: Vec<PathBuf> = plan_files(&loaded.plan).into_iter().chain(certificates).collect();
    let mut outputs = vec![("-o", args.output.as_deref()), ("--rejects", args.rejects.as_deref())];
    outputs.extend(routes.iter().map(|(_, file)| ("--route", Some(file.as_path()))));
    refuse_overwrite(&outputs, &reads)?;
    let routes = open_routes(routes)?;
    let taken: Vec<(String, _)> =
        routes.iter().map(|(file, r)| (file.display().to_string(), Arc::clone(&r.taken))).collect();
    let routes: Vec<Route> = routes.into_iter().map(|(_, r)| r).collect();
    // Everything that can fail is opened before the listeners start: no message is taken
    // that could not be written.
    let bus = args.nats.as_ref().map(|url| open_bus(&args, url)).transpose()?;
    let (events, rejects) = open_outputs(&args)?;
    let metrics_socket = args.metrics.map(endpoint::bind).transpose().map_err(Error::Other)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("xdrmap-net")
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the network runtime: {e}")))?;
    let clock = loaded.clock;
    let current = Arc::new(Current::new(Engine { plan: loaded.plan, settings: loaded.settings }));
    let (mut source, control) = net::listen(net_config(&args, clock), runtime.handle()).map_err(Error::Other)?;
    let control = Arc::new(control);
    let forwarded = Arc::<Forwarded>::default();
    let (written, unmatched) = sink_of(events, rejects, routes, filter);
    let mut extras: Vec<Box<dyn Collector>> = Vec::new();
    if bus.is_some() {
        extras.push(Box::new(Forwarding(Arc::clone(&forwarded))));
    }
    if let Some(n) = &unmatched {
        extras.push(Box::new(Unmatched(Arc::clone(n))));
    }
    if !taken.is_empty() {
        extras.push(Box::new(Routed(taken)));
    }
    let metrics = Arc::new(Metrics::new(Arc::clone(&control), Arc::clone(&current), extras));
    let reloader = Reloader::new(&args, Arc::clone(&current), Arc::clone(&metrics));
    let reloads = reloader.start(args.watch).map_err(Error::Other)?;
    let handlers = {
        let _entered = runtime.enter();
        Signals::install().map_err(|e| Error::Other(format!("cannot handle signals: {e}")))?
    };
    runtime.spawn(handlers.serve(Arc::clone(&control), reloads, Duration::from_secs(args.drain_timeout)));
    // Said once everything is in place (watcher and signal handlers too).
    let names: Vec<&str> = control.listeners().iter().map(|l| &*l.name).collect();
    eprintln!("xdrmap: listening on {}", names.join(", "));
    if let Some(socket) = metrics_socket {
        let bound = endpoint::serve(socket, Arc::clone(&metrics) as _, runtime.handle()).map_err(Error::Other)?;
        eprintln!("xdrmap: metrics on http://{bound}/metrics");
    }
    let received = || -> u64 {
        control.listeners().iter().map(|l| l.stats.messages.load(std::sync::atomic::Ordering::Relaxed)).sum()
    };
    if let Some(bus) = &bus {
        let subjects = (args.raw_subject.as_str(), args.rejects_subject.as_str());
        for e in forward(&mut source, bus, subjects, Duration::from_secs(5), &forwarded) {
            eprintln!("xdrmap: {e}");
        }
        let read = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!(
            "xdrmap: {} messages published to {}, {} refused at the door to {} ({} received, {} retries)",
            read(&forwarded.messages),
            args.raw_stream,
            read(&forwarded.rejected),
            args.rejects_subject,
            received(),
            read(&forwarded.retries)
        );
    } else {
        let mut sink = Metered::new(written, Arc::clone(&metrics));
        let threads =
            args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
        let ended = Pipeline { engine: &current, threads }.run(&mut source, &mut sink);
        ended.output.map_err(Error::Output)?;
        let unmatched = unmatched.map(|n| n.load(std::sync::atomic::Ordering::Relaxed));
        eprintln!("{} ({} messages received)", summary_of(&ended.counts, unmatched), received());
    }
    if let Some(closed) = control.aborted() {
        eprintln!("xdrmap: the drain timeout closed {closed} connections that were still sending; what they had not sent was not read");
    }
    runtime.shutdown_timeout(Duration::from_millis(200));
    Ok(ExitCode::SUCCESS)
}

/// The bus raw messages go to, its raw and rejects streams made when missing.
fn open_bus(args: &ServeArgs, url: &str) -> Result<Bus, Error> {
    let bus = Bus::connect(&args.bus.config(url)).map_err(Error::Other)?;
    let raw = StreamSpec { name: args.raw_stream.clone(), subjects: "xdrmap.raw.>".into() };
    let rejects = StreamSpec { name: xdrmap::bus::REJECTS_STREAM.into(), subjects: "xdrmap.rejects.>".into() };
    for spec in [raw, rejects] {
        bus.ensure_stream(&spec).map_err(Error::Other)?;
    }
    bus.stream_holding(&args.raw_subject, "raw", "xdrmap.raw.>").map_err(Error::Other)?;
    bus.stream_holding(&args.rejects_subject, "rejects", "xdrmap.rejects.>").map_err(Error::Other)?;
    Ok(bus)
}

/// `--route QUERY=FILE` flags: each query compiled, each file named.
fn parse_routes(flags: &[String]) -> Result<Vec<(Query, PathBuf)>, Error> {
    let compile = |flag: &String| {
        let (query, file) = flag
            .rsplit_once('=')
            .filter(|(_, f)| !f.is_empty())
            .ok_or_else(|| Error::Usage(format!("--route '{flag}': give QUERY=FILE")))?;
        Ok((query_at(query, chrono::Utc::now())?, PathBuf::from(file)))
    };
    flags.iter().map(compile).collect()
}

/// The routes' sinks, each file appended to, by file.
fn open_routes(routes: Vec<(Query, PathBuf)>) -> Result<Vec<(PathBuf, Route)>, Error> {
    let open = |(query, file): (Query, PathBuf)| {
        let events = BufWriter::with_capacity(1 << 16, append(&file)?);
        let sink = Box::new(JsonLines::new(events, io::sink()));
        Ok((file, Route { query, sink, taken: Arc::default() }))
    };
    routes.into_iter().map(open).collect()
}

/// What the pipeline writes to: the outputs, the routes in front of them, `--where` in front
/// of those; and the count of the events `--where` leaves out.
fn sink_of(
    events: Output,
    rejects: Output,
    routes: Vec<Route>,
    filter: Option<Query>,
) -> (Box<dyn Sink>, Option<Arc<std::sync::atomic::AtomicU64>>) {
    let main = JsonLines::new(events, rejects);
    let routed: Box<dyn Sink> = if routes.is_empty() { Box::new(main) } else { Box::new(Routes::new(routes, main)) };
    filtered(routed, filter)
}

/// Where events or rejects are written.
type Output = Box<dyn Write + Send>;

/// The events output (standard output, a file appended to, or a rotated file) and the
/// rejects output (standard error or a file appended to).
fn open_outputs(args: &ServeArgs) -> Result<(Output, Output), Error> {
    let events: Output = match (&args.output, args.rotate_bytes) {
        (None, _) => Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
        (Some(path), Some(limit)) => {
            Box::new(RotatingFile::open(path, limit, args.rotate_keep).map_err(file_error(path))?)
        }
        (Some(path), None) => Box::new(BufWriter::with_capacity(1 << 16, append(path)?)),
    };
    let rejects: Output = match &args.rejects {
        None => Box::new(io::stderr()),
        Some(path) => Box::new(BufWriter::new(append(path)?)),
    };
    Ok((events, rejects))
}

/// The signals `serve` answers, installed before it says it is listening.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (inside the runtime).
    fn install() -> io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The first SIGTERM or SIGINT drains and stops (closing what is still open after
    /// `drain_timeout`), a second exits at once; SIGHUP reloads.
    async fn serve(
        mut self,
        control: Arc<Control>,
        reloads: std::sync::mpsc::Sender<&'static str>,
        drain_timeout: Duration,
    ) {
        loop {
            let name = tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
                _ = self.hup.recv() => {
                    let _ = reloads.send("SIGHUP");
                    continue;
                }
            };
            if control.is_stopping() {
                eprintln!("xdrmap: {name} again: exiting at once");
                std::process::exit(130);
            }
            eprintln!("xdrmap: {name}: no longer accepting; draining what was received");
            control.shutdown();
            let control = Arc::clone(&control);
            tokio::spawn(async move {
                tokio::time::sleep(drain_timeout).await;
                control.abort();
            });
        }
    }
}

fn net_config(args: &ServeArgs, clock: xdrmap::sources::Clock) -> NetConfig {
    let none = args.udp.is_empty() && args.tcp.is_empty() && args.tls.is_empty();
    let loopback: SocketAddr = ([127, 0, 0, 1], 1514).into();
    let tls_files = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(TlsFiles { cert: cert.clone(), key: key.clone(), client_ca: args.tls_client_ca.clone() })
        }
        _ => None,
    };
    NetConfig {
        udp: if none { vec![loopback] } else { args.udp.clone() },
        tcp: if none { vec![loopback] } else { args.tcp.clone() },
        tls: args.tls.clone(),
        tls_files,
        max_message: args.max_message.clamp(1, 16 << 20) as usize,
        oversize: match args.oversize {
            OversizeArg::Reject => Oversize::Reject,
            OversizeArg::Truncate => Oversize::Truncate,
        },
        join_continuations: args.join_continuations,
        max_connections: args.max_connections,
        max_connections_per_peer: args.max_connections_per_peer.max(1),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        keepalive: Duration::from_secs(args.keepalive.max(1)),
        udp_receive_buffer: args.udp_buffer.min(1 << 30) as usize,
        clock,
    }
}

fn append(path: &Path) -> Result<std::fs::File, Error> {
    std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(file_error(path))
}

fn file_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |error| Error::File { action: "open", path: path.to_path_buf(), error }
}

/// `IP:PORT`, `[IPv6]:PORT`, or a bare `PORT` on 127.0.0.1.
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(([127, 0, 0, 1], port).into());
    }
    s.parse().map_err(|_| format!("expected IP:PORT (e.g. 0.0.0.0:514), [IPv6]:PORT or PORT, not '{s}'"))
}
