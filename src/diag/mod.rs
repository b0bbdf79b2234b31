//! Diagnostics: problems in guides and grammars as data (a stable [`Code`], a [`Severity`], a
//! place, a message, a hint), rendered in one place.

mod codes;
mod suggest;

pub use codes::{Code, Severity};
pub use suggest::did_you_mean;

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a problem is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The guide or grammar file.
    pub file: Option<PathBuf>,
    /// 1-based line in the file.
    pub line: Option<usize>,
    /// 1-based column in the line.
    pub column: Option<usize>,
    /// The YAML path, e.g. `fields[7].token`.
    pub path: Option<String>,
    /// The row's source key, as the vendor's table names it.
    pub row: Option<String>,
}

/// One problem, with what would be right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// What kind of problem it is.
    pub code: Code,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Where it is.
    pub location: Box<Location>,
    /// What would be right.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A problem with no place yet.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { code, message: message.into(), location: Box::default(), hint: None }
    }

    /// Errors stop the compile; warnings do not (the code says which).
    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    /// Names the file the problem is in.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.location.file = Some(file.to_path_buf());
        self
    }

    /// Sets the 1-based line and column.
    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.location.line = Some(line);
        self.location.column = Some(column);
        self
    }

    /// Sets the YAML path (`fields[7].token`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.location.path = Some(path.into());
        self
    }

    /// Names the row by its vendor source key.
    pub fn row(mut self, row: Option<&str>) -> Self {
        self.location.row = row.map(str::to_string);
        self
    }

    /// Says what would be right.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// `error[E101]: message`, then `  --> file:line:col (path, source "Row")`, then `  = help: hint`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{level}[{}]: {}", self.code, self.message)?;
        let loc = &self.location;
        let mut place = String::new();
        if let Some(file) = &loc.file {
            place.push_str(&file.display().to_string());
            if let Some(line) = loc.line {
                place.push_str(&format!(":{line}"));
                if let Some(col) = loc.column {
                    place.push_str(&format!(":{col}"));
                }
            }
        }
        let mut within = Vec::new();
        if let Some(path) = &loc.path {
            within.push(path.clone());
        }
        if let Some(row) = &loc.row {
            within.push(format!("source \"{row}\""));
        }
        if !within.is_empty() {
            if !place.is_empty() {
                place.push(' ');
            }
            place.push_str(&format!("({})", within.join(", ")));
        }
        if !place.is_empty() {
            writeln!(f, "  --> {place}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "  = help: {hint}")?;
        }
        Ok(())
    }
}

/// All the problems found in one compile: errors and warnings, each kind in the order found
/// (a failed compile lists its errors, then its warnings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The number of errors (problems that stop a compile).
    pub fn errors(&self) -> usize {
        self.0.iter().filter(|d| d.severity() == Severity::Error).count()
    }

    /// The number of warnings.
    pub fn warnings(&self) -> usize {
        self.0.len() - self.errors()
    }

    /// Adds every problem of `other`, after these.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}
