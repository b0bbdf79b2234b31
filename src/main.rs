//! The `xdrmap` binary: see `xdrmap --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
