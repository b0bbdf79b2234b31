//! `xdrmap check`: compile guides and their grammars, report every problem at once.

use super::config::gather_all;
use super::error::Error;
use super::flags::LimitArgs;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use xdrmap::guide;
use xdrmap::syntax::builtin_grammars;

/// Check guides without mapping anything.
///
/// Compiles each guide (a file, or every *.yaml of a folder) the way `map` would, and reports
/// every problem with its file, line and column, a stable code and a hint. Exit 0 when all
/// guides compile, 2 otherwise. Fast enough to run on every save.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  xdrmap check\n  xdrmap check mappings/\n  xdrmap check my_device.yaml")]
pub struct CheckArgs {
    /// Guide files or folders; none checks the built-in guide.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    #[command(flatten)]
    limits: LimitArgs,

    /// Print the limits in force (the defaults with every --limit applied) and their
    /// ceilings, and check nothing.
    #[arg(long = "limits")]
    show_limits: bool,
}

pub fn run(args: CheckArgs) -> Result<ExitCode, Error> {
    let limits = args.limits.limits();
    if args.show_limits {
        print!("limits (set with --limit NAME=VALUE):\n{limits}");
        return Ok(ExitCode::SUCCESS);
    }
    let start = Instant::now();
    // Unreadable guides are reported together with the problems of the readable ones.
    let (sources, mut problems) = gather_all(&args.paths);
    let plan = match guide::compile_with(&sources, builtin_grammars(), &limits) {
        Ok(plan) => {
            if !problems.0.is_empty() {
                // Shown with the unreadable guides' errors, as a failed compile shows them.
                problems.0.extend(plan.warnings.iter().cloned());
            }
            Some(plan)
        }
        Err(d) => {
            problems.extend(d);
            None
        }
    };
    let (Some(plan), true) = (plan, problems.0.is_empty()) else {
        return Err(Error::guides(problems));
    };
    for w in &plan.warnings {
        eprint!("{w}");
    }
    let rows: usize = plan.guides.iter().map(|g| g.fields.len()).sum();
    for g in &plan.guides {
        println!("ok: {} ({}, {} fields)", g.name, g.file.display(), g.fields.len());
    }
    let n = plan.guides.len();
    println!(
        "xdrmap: {n} guide{} checked, {rows} fields, no errors, {} warning{} ({:.1} ms)",
        if n == 1 { "" } else { "s" },
        plan.warnings.len(),
        if plan.warnings.len() == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64() * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}
