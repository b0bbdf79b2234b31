//! The command line's one error type, and the one place it is printed.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use xdrmap::diag::Diagnostics;

/// Why a command could not do its job. Every variant exits 2.
#[derive(Debug)]
pub enum Error {
    /// Flags that are wrong together (an output that would overwrite an input).
    Usage(String),
    /// Guides that do not compile or cannot be read; `tail` follows the count.
    Guides { diagnostics: Diagnostics, tail: &'static str },
    /// A file that cannot be opened, created or written.
    File { action: &'static str, path: PathBuf, error: io::Error },
    /// Writing the results failed (a broken pipe exits quietly).
    Output(io::Error),
    /// A QQL query that does not compile.
    Query(Box<xdrmap::query::QueryError>),
    /// Anything else, said in words.
    Other(String),
}

impl Error {
    /// Guides that do not compile, nothing mapped.
    pub fn guides(diagnostics: Diagnostics) -> Self {
        Error::Guides { diagnostics, tail: "" }
    }

    /// Prints the error on stderr and gives the exit code: 0 for a broken pipe (the reader
    /// went away, as with `| head`), 2 for everything else.
    pub fn report(&self) -> ExitCode {
        match self {
            Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            Error::Guides { diagnostics, .. } => eprint!("{diagnostics}"),
            Error::Query(e) => {
                eprint!("{e}");
                return ExitCode::from(2);
            }
            _ => {}
        }
        eprintln!("xdrmap: {self}");
        ExitCode::from(2)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) | Error::Other(message) => f.write_str(message),
            Error::Guides { diagnostics, tail } => {
                let (n, w) = (diagnostics.errors(), diagnostics.warnings());
                write!(f, "{n} error{}", if n == 1 { "" } else { "s" })?;
                match w {
                    0 => {}
                    1 => f.write_str(" and 1 warning")?,
                    w => write!(f, " and {w} warnings")?,
                }
                write!(f, " in the guides{tail}")
            }
            Error::File { action, path, error } => write!(f, "cannot {action} {}: {error}", path.display()),
            Error::Output(error) => write!(f, "cannot write output: {error}"),
            Error::Query(e) => write!(f, "{}", e.diagnostic.message),
        }
    }
}

impl std::error::Error for Error {}
