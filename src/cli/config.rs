//! Flags validated once, before any work, into what the commands run on: compiled guides,
//! settings, a clock (as ripgrep turns its low-level flags into high-level arguments).

use super::error::Error;
use super::flags::{GuideArgs, ReadArgs};
use std::path::{Path, PathBuf};
use xdrmap::diag::Diagnostics;
use xdrmap::guide::{self, GuideSource, Plan};
use xdrmap::runtime::Settings;
use xdrmap::sources::Clock;
use xdrmap::syntax::builtin_grammars;
use xdrmap::value::time::TimeSettings;

/// Compiled guides and the settings to run them with.
pub struct Loaded {
    pub plan: Plan,
    pub settings: Settings,
    /// Where receive times come from (`--received-at` or the clock).
    pub clock: Clock,
}

impl Loaded {
    /// Compiles the guides the flags name and resolves the rest of the flags against them.
    ///
    /// # Errors
    /// Guides that do not compile, or a `--guide` that names none of them.
    pub fn from_flags(guides: &GuideArgs, read: &ReadArgs) -> Result<Loaded, Error> {
        let paths: Vec<PathBuf> = guides.mapping.iter().cloned().collect();
        let plan = compile(&paths, "; nothing was processed")?;
        let forced_guide = match &guides.guide {
            None => None,
            Some(name) => Some(plan.guides.iter().position(|g| &g.name == name).ok_or_else(|| {
                let names: Vec<&str> = plan.guides.iter().map(|g| g.name.as_str()).collect();
                Error::Usage(format!("no guide named '{name}' (loaded: {})", names.join(", ")))
            })?),
        };
        let settings = Settings {
            time: TimeSettings { order: read.date_format, zone: read.timezone, year: None },
            customer_id: read.customer_id.clone(),
            collector_id: read.collector_id.clone(),
            event_source_id: read.event_source_id.clone(),
            forced_guide,
            date_order_by_device: read.date_format_for.clone(),
        };
        let clock = read.received_at.map_or(Clock::System, Clock::Fixed);
        Ok(Loaded { plan, settings, clock })
    }
}

/// Reads and compiles the guides at `paths` (the built-in devices when there are none).
///
/// # Errors
/// Every problem met reading and compiling them, errors and warnings; `tail` follows the count.
pub fn compile(paths: &[PathBuf], tail: &'static str) -> Result<Plan, Error> {
    let sources = gather(paths, tail)?;
    guide::compile(&sources, builtin_grammars()).map_err(|diagnostics| Error::Guides { diagnostics, tail })
}

/// Reads the guides at `paths` (files or folders), or the built-in guides when there are none.
///
/// # Errors
/// Every guide that cannot be read; `tail` follows the count.
pub fn gather(paths: &[PathBuf], tail: &'static str) -> Result<Vec<GuideSource>, Error> {
    let (sources, problems) = gather_all(paths);
    match problems.0.is_empty() {
        true => Ok(sources),
        false => Err(Error::Guides { diagnostics: problems, tail }),
    }
}

/// What [`gather`] could read, and every problem met reading the rest (for `check`, which
/// reports them together with the compile's).
pub fn gather_all(paths: &[PathBuf]) -> (Vec<GuideSource>, Diagnostics) {
    if paths.is_empty() {
        return (guide::builtin_sources(), Diagnostics::default());
    }
    let mut sources = Vec::new();
    let mut problems = Diagnostics::default();
    for path in paths {
        match guide::load_sources(path) {
            Ok(mut found) => sources.append(&mut found),
            Err(d) => problems.extend(d),
        }
    }
    (sources, problems)
}

/// Whether two paths name the same file (or would, once created).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    }
}
