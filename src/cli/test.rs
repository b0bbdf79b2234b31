//! `xdrmap test`: run the test cases that guides carry beside them.

use super::config::compile;
use super::error::Error;
use super::flags::LimitArgs;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use xdrmap::cases::{self, Difference};

/// Run guide test cases.
///
/// A device folder keeps its cases in `cases/` beside its `guide.yaml` (a loose guide
/// `NAME.yaml` in `NAME.cases/`), one YAML file per case: `line` (the
/// input), optional `settings` (date_format, timezone, customer_id, ...), and the expected
/// `event`, or `rejected` with part of the expected reason. Each line is mapped at receive
/// time 2026-01-01T00:00:00Z; EventId must be a v4 UUID and is compared as "[uuid]".
/// Ends with `N passed, M failed`; exit 0 when all pass, 1 when any fails, 2 on guide errors.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap test\n  xdrmap test mappings/citrix_loadbalancer\n  xdrmap test --bless my_device.yaml"
)]
pub struct TestArgs {
    /// Guide files, device folders or folders of devices whose cases to run (default: mappings).
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Write the actual events of failing cases as their new expectations, for review.
    #[arg(long)]
    bless: bool,

    #[command(flatten)]
    limits: LimitArgs,
}

pub fn run(args: TestArgs) -> Result<ExitCode, Error> {
    let paths = if args.paths.is_empty() { vec![PathBuf::from("mappings")] } else { args.paths.clone() };
    let plan = compile(&paths, &args.limits.limits(), "")?;
    let (mut passed, mut failed, mut blessed) = (0usize, 0usize, 0usize);
    for (index, g) in plan.guides.iter().enumerate() {
        let files = cases::case_files(&g.file);
        if files.is_empty() {
            println!("{}: no cases in {}", g.name, cases::cases_dir(&g.file).display());
        }
        for file in files {
            let result = cases::run_case(&plan, index, &file);
            if result.passed() {
                passed += 1;
                println!("ok      {}", file.display());
                continue;
            }
            failed += 1;
            println!("FAILED  {}", file.display());
            for d in &result.differences {
                println!("          {}", describe(d));
            }
            if args.bless {
                match cases::bless(&result) {
                    Ok(()) => blessed += 1,
                    Err(e) => println!("          cannot bless: {e}"),
                }
            }
        }
    }
    if blessed > 0 {
        println!("blessed {blessed} case{}; review the changes before committing", if blessed == 1 { "" } else { "s" });
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 || blessed == failed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn describe(d: &Difference) -> String {
    match d {
        Difference::Missing { field, expected } => format!("missing  {field}: expected {expected}"),
        Difference::Extra { field, actual } => format!("extra    {field}: {actual}"),
        Difference::Changed { field, expected, actual } => {
            format!("changed  {field}: expected {expected}, actual {actual}")
        }
        Difference::Problem(why) => format!("problem  {why}"),
    }
}
