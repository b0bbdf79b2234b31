//! Flags validated once, before any work, into what the commands run on: compiled guides,
//! settings, a clock (as ripgrep turns its low-level flags into high-level arguments).

use super::error::Error;
use super::flags::{GuideArgs, ReadArgs};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use xdrmap::diag::Diagnostics;
use xdrmap::guide::{self, GuideSource, Plan};
use xdrmap::runtime::Settings;
use xdrmap::sinks::{Sink, Where};
use xdrmap::sources::Clock;
use xdrmap::syntax::builtin_grammars;
use xdrmap::value::time::TimeSettings;
use xdrmap::Limits;

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
        let plan = compile(&paths, &guides.limits.limits(), "; nothing was processed")?;
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
pub fn compile(paths: &[PathBuf], limits: &Limits, tail: &'static str) -> Result<Plan, Error> {
    let sources = gather(paths, tail)?;
    guide::compile_with(&sources, builtin_grammars(), limits).map_err(|diagnostics| Error::Guides { diagnostics, tail })
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

/// Refuses outputs that would overwrite a file the command reads, or each other: compared as
/// files (device and inode, so a hard link or a symlink is caught), and standard input (`-`)
/// by the file it is redirected from. Checked before any output is created, so nothing is
/// truncated. Outputs that are not regular files (`/dev/null`, a pipe) never clash.
///
/// # Errors
/// The first clash, naming both.
pub fn refuse_overwrite(outputs: &[(&str, Option<&Path>)], reads: &[PathBuf]) -> Result<(), Error> {
    let mut taken: Vec<(&str, &Path)> = Vec::new();
    for &(flag, output) in outputs {
        let Some(output) = output else { continue };
        if let Some(input) = reads.iter().find(|input| same_file(&stdin_or(input), output)) {
            let what = if input.as_os_str() == "-" { "standard input".into() } else { input.display().to_string() };
            return Err(Error::Usage(format!(
                "{flag} {} is also an input ({what}); refusing to overwrite it",
                output.display()
            )));
        }
        if let Some((other, _)) = taken.iter().find(|(_, o)| same_file(o, output)) {
            return Err(Error::Usage(format!(
                "{other} and {flag} both name {}; give them different files",
                output.display()
            )));
        }
        taken.push((flag, output));
    }
    Ok(())
}

/// The file standard input comes from, for `-`.
fn stdin_or(path: &Path) -> PathBuf {
    match path.as_os_str() == "-" {
        true => PathBuf::from("/dev/stdin"),
        false => path.to_path_buf(),
    }
}

/// Whether writing `output` would overwrite the regular file `input` (or would, once created,
/// be the same path).
fn same_file(input: &Path, output: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(input), std::fs::metadata(output)) {
        (Ok(i), Ok(o)) => o.is_file() && i.is_file() && (i.dev(), i.ino()) == (o.dev(), o.ino()),
        // An output that does not exist yet is a new file, unless it is the input's own path.
        _ => std::path::absolute(input).ok() == std::path::absolute(output).ok(),
    }
}

/// Every file a plan was compiled from: its guide files and its grammar files.
pub fn plan_files(plan: &xdrmap::Plan) -> Vec<PathBuf> {
    let guides = plan.guides.iter().map(|g| g.file.clone());
    let grammars =
        plan.grammars.iter().map(|g| PathBuf::from(g.name())).filter(|p| p.extension().is_some_and(|e| e == "pest"));
    guides.chain(grammars).filter(|p| !p.starts_with("<built-in>")).collect()
}

/// A QQL query compiled against the data model, relative times counted from `now`.
pub fn query_at(text: &str, now: chrono::DateTime<chrono::Utc>) -> Result<xdrmap::query::Query, Error> {
    xdrmap::query::Query::compile(text, xdrmap::model::Model::builtin(), now).map_err(|e| Error::Query(Box::new(e)))
}

/// The query of a `--where` (or `--route`) flag, when one was given, compiled now.
pub fn where_query(text: Option<&str>) -> Result<Option<xdrmap::query::Query>, Error> {
    text.map(|q| query_at(q, chrono::Utc::now())).transpose()
}

/// `sink` behind a `--where` filter when there is a query, with the count of the events the
/// filter leaves out.
pub fn filtered(sink: Box<dyn Sink>, query: Option<xdrmap::query::Query>) -> (Box<dyn Sink>, Option<Arc<AtomicU64>>) {
    match query {
        None => (sink, None),
        Some(query) => {
            let filter = Where::new(sink, query);
            let unmatched = filter.unmatched();
            (Box::new(filter), Some(unmatched))
        }
    }
}
