//! Command line: raw flags (`flags`) are validated once, before any work, into what a
//! command runs on (`config`); each subcommand is a file; errors are one type (`error`),
//! printed here.

mod check;
mod config;
mod consume;
mod doc;
mod error;
mod explain;
mod flags;
mod map;
mod metrics;
mod progress;
mod query;
mod serve;
mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Normalize device logs into Qualys Context XDR tokens, with data mapping guides you can edit.
///
/// A guide (YAML) mirrors a vendor's data mapping guide row for row; xdrmap compiles it at
/// startup and maps every log line into one JSON event whose keys are the guide's tokens.
/// The Citrix Loadbalancer (NetScaler / ADC) guide is built in.
#[derive(Debug, Parser)]
#[command(name = "xdrmap", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Map(Box<map::MapArgs>),
    Serve(Box<serve::ServeArgs>),
    Consume(Box<consume::ConsumeArgs>),
    Check(check::CheckArgs),
    Explain(explain::ExplainArgs),
    Test(test::TestArgs),
    Doc(doc::DocArgs),
    Query(query::QueryArgs),
}

/// Runs the command line and returns the process exit code:
/// 0 all input read, 1 lines rejected under `--strict`, 2 usage, guide or read errors.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let ran = match cli.command {
        Command::Map(args) => map::run(*args),
        Command::Serve(args) => serve::run(*args),
        Command::Consume(args) => consume::run(*args),
        Command::Check(args) => check::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Test(args) => test::run(args),
        Command::Doc(args) => doc::run(args),
        Command::Query(args) => query::run(args),
    };
    ran.unwrap_or_else(|e| e.report())
}
