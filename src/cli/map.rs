//! `xdrmap map`: read log lines, write one JSON event per line, reject what cannot be mapped.

use super::pipeline::{self, Counts, Job};
use chrono::{DateTime, Utc};
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xdrmap::guide::{self, Plan};
use xdrmap::runtime::convert::{DateOrder, TimeSettings};
use xdrmap::runtime::Settings;
use xdrmap::syntax::builtin_grammars;

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

    /// A guide file, or a folder of guides (*.yaml), instead of the built-in Citrix guide.
    #[arg(long, value_name = "PATH")]
    mapping: Option<PathBuf>,

    /// Map every line with this guide instead of the one that claims it.
    #[arg(long, value_name = "NAME")]
    guide: Option<String>,

    /// Order of native dates, as the appliance's `-dateFormat` (YYYY/MM/DD is always read).
    #[arg(long, value_name = "ORDER", default_value = "MMDDYYYY", value_parser = parse_order)]
    date_format: DateOrder,

    /// Zone of times written without one (`-timeZone LOCAL_TIME`), as an IANA name.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    timezone: chrono_tz::Tz,

    /// Value of the CustomerId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_CUSTOMER_ID")]
    customer_id: Option<String>,

    /// Value of the CollectorId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_COLLECTOR_ID")]
    collector_id: Option<String>,

    /// Value of the EventSourceId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_EVENT_SOURCE_ID")]
    event_source_id: Option<String>,

    /// Write rejected lines (JSON Lines: file, line, reason, text) to FILE instead of stderr.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Exit 1 when any line was rejected.
    #[arg(long)]
    strict: bool,

    /// Worker threads (default: all cores); 1 maps in a single thread. Output keeps input order.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,

    /// Use this receive time (RFC 3339) instead of the clock, for reproducible output.
    #[arg(long, value_name = "TIME", value_parser = parse_received)]
    received_at: Option<DateTime<Utc>>,
}

fn parse_order(s: &str) -> Result<DateOrder, String> {
    s.parse()
}

fn parse_zone(s: &str) -> Result<chrono_tz::Tz, String> {
    s.parse().map_err(|_| format!("unknown time zone '{s}' (expected an IANA name such as Europe/Berlin)"))
}

fn parse_received(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

pub fn run(args: MapArgs) -> ExitCode {
    let plan = match load_plan(args.mapping.as_deref()) {
        Ok(plan) => plan,
        Err(code) => return code,
    };
    let forced_guide = match &args.guide {
        None => None,
        Some(name) => match plan.guides.iter().position(|g| &g.name == name) {
            Some(i) => Some(i),
            None => {
                let names: Vec<&str> = plan.guides.iter().map(|g| g.name.as_str()).collect();
                eprintln!("xdrmap: no guide named '{name}' (loaded: {})", names.join(", "));
                return ExitCode::from(2);
            }
        },
    };
    let settings = Settings {
        time: TimeSettings { order: args.date_format, zone: args.timezone },
        customer_id: args.customer_id.clone(),
        collector_id: args.collector_id.clone(),
        event_source_id: args.event_source_id.clone(),
        forced_guide,
    };
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
    let job = Job { inputs: &inputs, threads, plan: &plan, settings: &settings, received_at: args.received_at };
    let ended = pipeline::run(&job, &mut out, &mut rejects);
    let flushed = ended.output.and_then(|()| out.flush()).and_then(|()| rejects.flush());
    if let Err(e) = flushed {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
        eprintln!("xdrmap: cannot write events: {e}");
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

/// Compiles the built-in guide or the guides at `path`; on errors prints them all.
fn load_plan(path: Option<&Path>) -> Result<Plan, ExitCode> {
    let sources = match path {
        None => guide::builtin_sources(),
        Some(p) => guide::load_sources(p).map_err(|d| report(&d))?,
    };
    guide::compile(&sources, builtin_grammars()).map_err(|d| report(&d))
}

fn report(d: &xdrmap::diag::Diagnostics) -> ExitCode {
    let n = d.0.len();
    eprint!("{d}");
    eprintln!("xdrmap: {n} error{} in the guides; nothing was processed", if n == 1 { "" } else { "s" });
    ExitCode::from(2)
}
