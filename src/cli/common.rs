//! Flags shared by the subcommands, validated once into a plan and settings.

use chrono::{DateTime, Utc};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xdrmap::diag::Diagnostics;
use xdrmap::guide::{self, GuideSource, Plan};
use xdrmap::runtime::convert::{DateOrder, TimeSettings};
use xdrmap::runtime::Settings;
use xdrmap::syntax::builtin_grammars;

/// Which guides to load, and which one to force.
#[derive(Debug, Args)]
pub struct GuideArgs {
    /// A guide file, or a folder of guides (*.yaml), instead of the built-in Citrix guide.
    #[arg(long, value_name = "PATH")]
    pub mapping: Option<PathBuf>,

    /// Map every line with this guide instead of the one that claims it.
    #[arg(long, value_name = "NAME")]
    pub guide: Option<String>,
}

/// How to read times and what to put in the run-time fields.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Order of native dates, as the appliance's `-dateFormat` (YYYY/MM/DD is always read).
    #[arg(long, value_name = "ORDER", default_value = "MMDDYYYY", value_parser = parse_order)]
    pub date_format: DateOrder,

    /// Zone of times written without one (`-timeZone LOCAL_TIME`), as an IANA name.
    #[arg(long, value_name = "ZONE", default_value = "UTC", value_parser = parse_zone)]
    pub timezone: chrono_tz::Tz,

    /// Value of the CustomerId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_CUSTOMER_ID")]
    pub customer_id: Option<String>,

    /// Value of the CollectorId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_COLLECTOR_ID")]
    pub collector_id: Option<String>,

    /// Value of the EventSourceId field.
    #[arg(long, value_name = "ID", env = "XDRMAP_EVENT_SOURCE_ID")]
    pub event_source_id: Option<String>,

    /// Use this receive time (RFC 3339) instead of the clock, for reproducible output.
    #[arg(long, value_name = "TIME", value_parser = parse_received)]
    pub received_at: Option<DateTime<Utc>>,
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

/// Compiles the guides and the settings; on any error prints it and gives the exit code.
pub fn prepare(guides: &GuideArgs, read: &ReadArgs) -> Result<(Plan, Settings), ExitCode> {
    let plan = load_plan(guides.mapping.as_deref())?;
    let forced_guide = match &guides.guide {
        None => None,
        Some(name) => match plan.guides.iter().position(|g| &g.name == name) {
            Some(i) => Some(i),
            None => {
                let names: Vec<&str> = plan.guides.iter().map(|g| g.name.as_str()).collect();
                eprintln!("xdrmap: no guide named '{name}' (loaded: {})", names.join(", "));
                return Err(ExitCode::from(2));
            }
        },
    };
    let settings = Settings {
        time: TimeSettings { order: read.date_format, zone: read.timezone },
        customer_id: read.customer_id.clone(),
        collector_id: read.collector_id.clone(),
        event_source_id: read.event_source_id.clone(),
        forced_guide,
    };
    Ok((plan, settings))
}

/// Compiles the built-in guide or the guides at `path`; on errors prints them all.
pub fn load_plan(path: Option<&Path>) -> Result<Plan, ExitCode> {
    let paths: Vec<PathBuf> = path.map(Path::to_path_buf).into_iter().collect();
    let (sources, problems) = gather(&paths);
    if problems.errors() > 0 {
        return Err(report(&problems, "; nothing was processed"));
    }
    guide::compile(&sources, builtin_grammars()).map_err(|d| report(&d, "; nothing was processed"))
}

/// Reads the guides at `paths` (files or folders), or the built-in guide when there are none.
/// Returns what could be read and every problem met reading the rest.
pub fn gather(paths: &[PathBuf]) -> (Vec<GuideSource>, Diagnostics) {
    if paths.is_empty() {
        return (guide::builtin_sources(), Diagnostics::default());
    }
    let mut sources = Vec::new();
    let mut problems = Diagnostics::default();
    for path in paths {
        match guide::load_sources(path) {
            Ok(mut found) => sources.append(&mut found),
            Err(mut d) => problems.0.append(&mut d.0),
        }
    }
    (sources, problems)
}

/// Prints diagnostics, then a count with `tail` after it, and returns exit code 2.
pub fn report(d: &Diagnostics, tail: &str) -> ExitCode {
    let (n, w) = (d.errors(), d.warnings());
    eprint!("{d}");
    let warnings = match w {
        0 => String::new(),
        1 => " and 1 warning".to_string(),
        w => format!(" and {w} warnings"),
    };
    eprintln!("xdrmap: {n} error{}{warnings} in the guides{tail}", if n == 1 { "" } else { "s" });
    ExitCode::from(2)
}
