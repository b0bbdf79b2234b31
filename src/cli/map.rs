//! `xdrmap map`: read log lines, write one JSON event per line, reject what cannot be mapped.

use super::config::{plan_files, refuse_overwrite, Loaded};
use super::error::Error;
use super::flags::{parse_bytes, GuideArgs, ReadArgs};
use super::progress::Progress;
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xdrmap::pipeline::{Current, Ended, Engine, Pipeline};
use xdrmap::sinks::{Counts, JsonLines};
use xdrmap::sources::{Batch, Files, Pool, ReadError, Source};

/// Map log lines to normalized events (JSON Lines).
///
/// Reads each FILE (or standard input), maps every line with the guide that claims it, and
/// writes one JSON object per line. Lines that cannot be parsed or claimed go to the rejects
/// output with their file, line number, reason code and reason; a summary line ends the run
/// on stderr.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap map ns.log\n  xdrmap map --date-format DDMMYYYY --timezone Europe/Berlin -o events.jsonl ns.log\n  tail -f ns.log | xdrmap map --rejects rejects.jsonl"
)]
pub struct MapArgs {
    /// Log files to read; `-` (or none) reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Write events to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    guides: GuideArgs,

    #[command(flatten)]
    read: ReadArgs,

    /// Write rejected lines (JSON Lines: file, line, code, reason, text) to FILE instead of
    /// stderr.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

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
}

/// What `map` runs on, validated from the flags before anything is read or created.
struct MapConfig {
    loaded: Loaded,
    inputs: Vec<PathBuf>,
    output: Option<PathBuf>,
    rejects: Option<PathBuf>,
    threads: usize,
    strict: bool,
    max_line: usize,
}

impl MapConfig {
    fn from_args(args: MapArgs) -> Result<MapConfig, Error> {
        let loaded = Loaded::from_flags(&args.guides, &args.read)?;
        let mut reads = if args.files.is_empty() { vec![PathBuf::from("-")] } else { args.files.clone() };
        reads.extend(plan_files(&loaded.plan));
        let outputs = [("-o", args.output.as_deref()), ("--rejects", args.rejects.as_deref())];
        refuse_overwrite(&outputs, &reads)?;
        let threads =
            args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
        Ok(MapConfig {
            loaded,
            inputs: args.files,
            output: args.output,
            rejects: args.rejects,
            threads,
            strict: args.strict,
            max_line: args.max_line.min(1 << 30) as usize,
        })
    }
}

pub fn run(args: MapArgs) -> Result<ExitCode, Error> {
    let config = MapConfig::from_args(args)?;
    let events: Box<dyn Write> = match &config.output {
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
        Some(path) => Box::new(BufWriter::with_capacity(1 << 16, create(path)?)),
    };
    let rejects: Box<dyn Write> = match &config.rejects {
        None => Box::new(io::stderr()),
        Some(path) => Box::new(BufWriter::new(create(path)?)),
    };
    let files = Files::new(config.inputs, config.loaded.clock).max_line(config.max_line);
    let mut source = Reported { source: files, printed: 0 };
    let mut sink = Progress::new(JsonLines::new(events, rejects), source.size());
    let engine = Current::new(Engine { plan: config.loaded.plan, settings: config.loaded.settings });
    let pipeline = Pipeline { engine: &engine, threads: config.threads };
    let ended = pipeline.run(&mut source, &mut sink);
    sink.finish();
    for e in ended.read_errors.iter().skip(source.printed) {
        eprintln!("xdrmap: {e}");
    }
    report(ended, config.threads, config.strict)
}

fn create(path: &Path) -> Result<File, Error> {
    File::create(path).map_err(|error| Error::File { action: "create", path: path.to_path_buf(), error })
}

/// A source whose read errors are printed as they happen, as a user watching the run expects.
struct Reported<S> {
    source: S,
    printed: usize,
}

impl<S: Source> Source for Reported<S> {
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
fn report(ended: Ended, threads: usize, strict: bool) -> Result<ExitCode, Error> {
    if let Some((unstarted, e)) = &ended.unstarted_workers {
        eprintln!("xdrmap: started {} of {threads} worker threads: {e}", threads - unstarted);
    }
    ended.output.map_err(Error::Output)?;
    eprintln!("{}", summary(&ended.counts));
    Ok(if !ended.read_errors.is_empty() {
        ExitCode::from(2)
    } else if strict && ended.counts.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub(super) fn summary(c: &Counts) -> String {
    let mut s = format!("xdrmap: {} lines read, {} events written", c.lines, c.events);
    if c.with_errors > 0 {
        s.push_str(&format!(" ({} with field errors)", c.with_errors));
    }
    s.push_str(&format!(", {} lines rejected", c.rejected));
    if c.blank > 0 {
        s.push_str(&format!(", {} blank lines skipped", c.blank));
    }
    s
}
