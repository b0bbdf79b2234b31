//! `xdrmap map`: read log lines, write one JSON event per line, reject what cannot be mapped.

use super::common::{prepare, GuideArgs, ReadArgs};
use super::pipeline::{self, Counts, Job};
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Map log lines to normalized events (JSON Lines).
///
/// Reads each FILE (or standard input), maps every line with the guide that claims it, and
/// writes one JSON object per line. Lines that cannot be parsed or claimed go to the rejects
/// output with their file, line number and reason; a summary line ends the run on stderr.
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

    /// Write rejected lines (JSON Lines: file, line, reason, text) to FILE instead of stderr.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Exit 1 when any line was rejected.
    #[arg(long)]
    strict: bool,

    /// Worker threads, 1 to 256 (default: all cores); 1 maps in a single thread. Output keeps
    /// input order.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

pub fn run(args: MapArgs) -> ExitCode {
    let (plan, settings) = match prepare(&args.guides, &args.read) {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    if let Some(problem) = clashing_paths(&args) {
        eprintln!("xdrmap: {problem}");
        return ExitCode::from(2);
    }
    let mut out: Box<dyn Write> = match &args.output {
        None => Box::new(BufWriter::with_capacity(1 << 16, io::stdout().lock())),
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(BufWriter::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("xdrmap: cannot create {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let mut rejects: Box<dyn Write> = match &args.rejects {
        None => Box::new(io::stderr()),
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(BufWriter::new(f)),
            Err(e) => {
                eprintln!("xdrmap: cannot create {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
    };
    let inputs: Vec<PathBuf> = if args.files.is_empty() { vec![PathBuf::from("-")] } else { args.files.clone() };
    let threads = args.threads.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from);
    let job = Job { inputs: &inputs, threads, plan: &plan, settings: &settings, received_at: args.read.received_at };
    let ended = pipeline::run(&job, &mut out, &mut rejects);
    let flushed = ended.output.and_then(|()| out.flush()).and_then(|()| rejects.flush());
    if let Err(e) = flushed {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
        eprintln!("xdrmap: cannot write output: {e}");
        return ExitCode::from(2);
    }
    eprintln!("{}", summary(&ended.counts));
    if ended.read_failed {
        ExitCode::from(2)
    } else if args.strict && ended.counts.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Refuses outputs that would overwrite an input or each other (checked before any file is
/// created, so nothing is truncated).
fn clashing_paths(args: &MapArgs) -> Option<String> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    };
    let outputs = [("-o", args.output.as_deref()), ("--rejects", args.rejects.as_deref())];
    for (flag, output) in outputs {
        let Some(output) = output else { continue };
        if let Some(input) = args.files.iter().find(|f| f.as_os_str() != "-" && same(f, output)) {
            return Some(format!("{flag} {} is also an input; refusing to overwrite it", input.display()));
        }
    }
    if let (Some(o), Some(r)) = (&args.output, &args.rejects) {
        if same(o, r) {
            return Some(format!("-o and --rejects both name {}; give them different files", o.display()));
        }
    }
    None
}

fn summary(c: &Counts) -> String {
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
