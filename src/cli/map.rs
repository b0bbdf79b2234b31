//! `xdrmap map`: read log lines, write one JSON event per line, reject what cannot be mapped.

use super::config::{filtered, plan_files, refuse_overwrite, where_query, Loaded};
use super::error::Error;
use super::flags::{parse_bytes, BusArgs, GuideArgs, ReadArgs};
use super::progress::Progress;
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use xdrmap::bus::{self, Bus, StreamSpec};
use xdrmap::pipeline::{Current, Ended, Engine, Pipeline};
use xdrmap::query::Query;
use xdrmap::sinks::{BusStats, Counts, JetStream, JsonLines, Sink, Unacked};
use xdrmap::sources::jetstream::{ConsumerConfig, JetStreamSource};
use xdrmap::sources::{Batch, Files, Pool, ReadError, Source};

/// Map log lines to normalized events (JSON Lines).
///
/// Reads each FILE (or standard input), maps every line with the guide that claims it, and
/// writes one JSON object per line. Lines that cannot be parsed or claimed go to the rejects
/// output with their file, line number, reason code and reason; a summary line ends the run
/// on stderr.
///
/// The bus works as a file does: `--input nats://...` replays a raw stream (what `serve
/// --nats` collected) from its first message to its last, and `-o nats://...` publishes each
/// event to a subject, and each reject to xdrmap.rejects.xdr.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap map ns.log\n  xdrmap map --date-format DDMMYYYY --timezone Europe/Berlin -o events.jsonl ns.log\n  tail -f ns.log | xdrmap map --rejects rejects.jsonl\n  xdrmap map ns.log -o nats://127.0.0.1:4222                   # events to xdrmap.events.xdr\n  xdrmap map --input nats://127.0.0.1:4222/XDRMAP_RAW -o replayed.jsonl"
)]
pub struct MapArgs {
    /// Log files to read; `-` (or none) reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Read the raw messages of a JetStream stream instead of files, from its first message
    /// to the last it holds when the run starts: nats://HOST:PORT[,nats://HOST:PORT...][/STREAM]
    /// (default stream XDRMAP_RAW). Nothing is acknowledged or removed; event ids are those
    /// `consume` gives (derived from stream and sequence).
    #[arg(long, value_name = "URL", conflicts_with = "files")]
    input: Option<String>,

    /// Write events to FILE instead of standard output; or publish them, one message each,
    /// to nats://HOST:PORT[,...][/SUBJECT] (default subject xdrmap.events.xdr, rejects to
    /// xdrmap.rejects.xdr), each acknowledged by JetStream before the run ends.
    #[arg(short, long, value_name = "FILE|URL")]
    output: Option<PathBuf>,

    #[command(flatten)]
    guides: GuideArgs,

    #[command(flatten)]
    read: ReadArgs,

    /// Write rejected lines (JSON Lines: file, line, code, reason, text) to FILE instead of
    /// stderr.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Write only the events this QQL query matches (`xdrmap query --help` has the syntax);
    /// the others are counted in the summary, not rejected.
    #[arg(long = "where", value_name = "QUERY")]
    filter: Option<String>,

    /// Exit 1 when any line was rejected.
    #[arg(long)]
    strict: bool,

    /// The longest line mapped, in bytes (K, M, G suffixes); a longer one is rejected (R307)
    /// with its first BYTES kept, and the rest is not held in memory.
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_bytes)]
    max_line: u64,

    /// Worker threads, 1 to 256 (default: all cores); 1 maps in a single thread. Output keeps
    /// input order.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,

    #[command(flatten, next_help_heading = "NATS JetStream (--input nats://, -o nats://)")]
    bus: BusArgs,
}

/// Where lines come from.
enum Input {
    Files(Vec<PathBuf>),
    /// A stream of raw messages: the servers and the stream.
    Bus(Vec<String>, String),
}

/// Where events go.
enum Output {
    /// Standard output, or a file.
    File(Option<PathBuf>),
    /// A subject: the servers and the subject.
    Bus(Vec<String>, String),
}

/// A sink, and for the bus what it counts.
type Opened = (Box<dyn Sink>, Option<Arc<BusStats>>);

/// The subject `-o nats://` publishes rejects to.
const REJECTS_SUBJECT: &str = "xdrmap.rejects.xdr";

/// What `map` runs on, validated from the flags before anything is read or created.
struct MapConfig {
    loaded: Loaded,
    input: Input,
    output: Output,
    rejects: Option<PathBuf>,
    filter: Option<Query>,
    bus: BusArgs,
    threads: usize,
    strict: bool,
    max_line: usize,
}

impl MapConfig {
    fn from_args(args: MapArgs) -> Result<MapConfig, Error> {
        let loaded = Loaded::from_flags(&args.guides, &args.read)?;
        let input = match &args.input {
            None => Input::Files(args.files.clone()),
            Some(url) => {
                let (servers, stream) = address(url, "--input")?;
                Input::Bus(servers, stream.unwrap_or_else(|| bus::RAW_STREAM.to_string()))
            }
        };
        let output = match args.output.as_deref().and_then(Path::to_str).filter(|o| bus::is_address(o)) {
            None => Output::File(args.output.clone()),
            Some(_) if args.rejects.is_some() => {
                return Err(Error::Usage(format!(
                    "with -o nats://, rejects are published to {REJECTS_SUBJECT}: drop --rejects"
                )))
            }
            Some(url) => {
                let (servers, subject) = address(url, "-o")?;
                Output::Bus(servers, subject.unwrap_or_else(|| "xdrmap.events.xdr".to_string()))
            }
        };
        let mut reads = match &input {
            Input::Files(files) if files.is_empty() => vec![PathBuf::from("-")],
            Input::Files(files) => files.clone(),
            Input::Bus(..) => Vec::new(),
        };
        reads.extend(plan_files(&loaded.plan));
        let file = match &output {
            Output::File(path) => path.as_deref(),
            Output::Bus(..) => None,
        };
        refuse_overwrite(&[("-o", file), ("--rejects", args.rejects.as_deref())], &reads)?;
        let threads =
            args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
        let filter = where_query(args.filter.as_deref())?;
        Ok(MapConfig {
            loaded,
            input,
            output,
            rejects: args.rejects,
            filter,
            bus: args.bus,
            threads,
            strict: args.strict,
            max_line: args.max_line.min(1 << 30) as usize,
        })
    }

    /// Connects to `servers`.
    fn connect(&self, servers: &[String]) -> Result<Arc<Bus>, Error> {
        let config = self.bus.config(&servers.join(","));
        Ok(Arc::new(Bus::connect(&config).map_err(Error::Other)?))
    }

    /// The source the flags name.
    fn source(&mut self) -> Result<Box<dyn Source>, Error> {
        match std::mem::replace(&mut self.input, Input::Files(Vec::new())) {
            Input::Files(files) => Ok(Box::new(Files::new(files, self.loaded.clock).max_line(self.max_line))),
            Input::Bus(servers, stream) => {
                let bus = self.connect(&servers)?;
                let replay = ConsumerConfig {
                    durable: None,
                    filter: String::new(),
                    batch: 1000,
                    ack_wait: Duration::from_secs(30),
                    max_ack_pending: 0,
                    until_idle: true,
                };
                let stop = Arc::new(AtomicBool::new(false));
                Ok(Box::new(JetStreamSource::open(bus, &stream, replay, stop).map_err(Error::Other)?))
            }
        }
    }

    /// The sink the flags name, and for the bus what it counts.
    fn sink(&self) -> Result<Opened, Error> {
        match &self.output {
            Output::File(path) => {
                let events: Box<dyn Write> = match path {
                    None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
                    Some(path) => Box::new(BufWriter::with_capacity(1 << 16, create(path)?)),
                };
                let rejects: Box<dyn Write> = match &self.rejects {
                    None => Box::new(io::stderr()),
                    Some(path) => Box::new(BufWriter::new(create(path)?)),
                };
                Ok((Box::new(JsonLines::new(events, rejects)), None))
            }
            Output::Bus(servers, subject) => {
                let bus = self.connect(servers)?;
                for (name, subjects) in
                    [(bus::EVENTS_STREAM, "xdrmap.events.>"), (bus::REJECTS_STREAM, "xdrmap.rejects.>")]
                {
                    let spec = StreamSpec { name: name.into(), subjects: subjects.into() };
                    bus.ensure_stream(&spec).map_err(Error::Other)?;
                }
                let mut raw = vec![bus::RAW_STREAM];
                if let Input::Bus(_, stream) = &self.input {
                    raw.push(stream);
                }
                bus.output_stream(subject, "events", "xdrmap.events.>", &raw).map_err(Error::Other)?;
                let deadline = Duration::from_secs(10);
                let sink = JetStream::new(bus, subject.clone(), REJECTS_SUBJECT.into(), deadline, Unacked::Fail);
                let stats = sink.stats();
                Ok((Box::new(sink), Some(stats)))
            }
        }
    }
}

/// The servers and name of a bus address given to `flag`.
fn address(url: &str, flag: &str) -> Result<(Vec<String>, Option<String>), Error> {
    bus::split_address(url).map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

pub fn run(args: MapArgs) -> Result<ExitCode, Error> {
    let mut config = MapConfig::from_args(args)?;
    let (sink, stats) = config.sink()?;
    let (sink, unmatched) = filtered(sink, config.filter.take());
    let mut source = Reported { source: config.source()?, printed: 0 };
    let mut sink = Progress::new(sink, source.size());
    let engine = Current::new(Engine { plan: config.loaded.plan, settings: config.loaded.settings });
    let pipeline = Pipeline { engine: &engine, threads: config.threads };
    let ended = pipeline.run(&mut source, &mut sink);
    sink.finish();
    for e in ended.read_errors.iter().skip(source.printed) {
        eprintln!("xdrmap: {e}");
    }
    let unmatched = unmatched.map(|n| n.load(Ordering::Relaxed));
    let mut tail = String::new();
    if let Some(s) = stats {
        let (published, duplicates) = (s.published.load(Ordering::Relaxed), s.duplicates.load(Ordering::Relaxed));
        tail.push_str(&format!(" ({published} published, {duplicates} duplicates dropped by the stream)"));
    }
    report(ended, config.threads, config.strict, unmatched, &tail)
}

fn create(path: &Path) -> Result<File, Error> {
    File::create(path).map_err(|error| Error::File { action: "create", path: path.to_path_buf(), error })
}

/// A source whose read errors are printed as they happen, as a user watching the run expects.
struct Reported<S> {
    source: S,
    printed: usize,
}

impl Source for Reported<Box<dyn Source>> {
    fn next_batch(&mut self, pool: &Pool) -> Option<Result<Batch, ReadError>> {
        let next = self.source.next_batch(pool);
        if let Some(Err(e)) = &next {
            eprintln!("xdrmap: {e}");
            self.printed += 1;
        }
        next
    }

    fn size(&self) -> Option<u64> {
        self.source.size()
    }
}

/// Prints the summary; gives the exit code.
fn report(ended: Ended, threads: usize, strict: bool, unmatched: Option<u64>, tail: &str) -> Result<ExitCode, Error> {
    if let Some((unstarted, e)) = &ended.unstarted_workers {
        eprintln!("xdrmap: started {} of {threads} worker threads: {e}", threads - unstarted);
    }
    ended.output.map_err(Error::Output)?;
    eprintln!("{}{tail}", summary_of(&ended.counts, unmatched));
    Ok(if !ended.read_errors.is_empty() {
        ExitCode::from(2)
    } else if strict && ended.counts.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The summary; with `unmatched`, of a run whose events were filtered by `--where`.
pub(super) fn summary_of(c: &Counts, unmatched: Option<u64>) -> String {
    let verb = if unmatched.is_some() { "mapped" } else { "written" };
    let mut s = format!("xdrmap: {} lines read, {} events {verb}", c.lines, c.events);
    if c.with_errors > 0 {
        s.push_str(&format!(" ({} with field errors)", c.with_errors));
    }
    if let Some(n) = unmatched {
        s.push_str(&format!(", {} written and {n} not matching --where", c.events.saturating_sub(n)));
    }
    s.push_str(&format!(", {} lines rejected", c.rejected));
    if c.blank > 0 {
        s.push_str(&format!(", {} blank lines skipped", c.blank));
    }
    s
}
