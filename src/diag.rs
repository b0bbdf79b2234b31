//! Diagnostics: problems in guides as data (a stable code, a place, a message, a hint),
//! rendered in one place.

use std::fmt;
use std::path::{Path, PathBuf};

/// Stable diagnostic codes. A code is never reused for another meaning.
pub mod codes {
    /// A guide or grammar file cannot be read.
    pub const READ: &str = "E001";
    /// The YAML is malformed or does not have the guide's shape.
    pub const YAML: &str = "E002";
    /// No guide was found where one was expected.
    pub const NO_GUIDE: &str = "E003";
    /// Two guides share a name.
    pub const DUPLICATE_GUIDE: &str = "E004";
    /// A row writes a token the data model does not know.
    pub const UNKNOWN_TOKEN: &str = "E101";
    /// Two rows write the same token.
    pub const DUPLICATE_TOKEN: &str = "E102";
    /// A type name is not one of the known types.
    pub const UNKNOWN_TYPE: &str = "E103";
    /// A row's type disagrees with its token's type in the model.
    pub const TYPE_MISMATCH: &str = "E104";
    /// A row must say exactly one way to get its value.
    pub const VALUE_SOURCE: &str = "E105";
    /// The guide names a grammar that is not loaded.
    pub const UNKNOWN_GRAMMAR: &str = "E106";
    /// A row reads `@field` that the grammar never produces.
    pub const UNKNOWN_GRAMMAR_FIELD: &str = "E107";
    /// A sample value does not pass its row's type.
    pub const BAD_SAMPLE: &str = "E108";
    /// An expression does not compile.
    pub const EXPR_SYNTAX: &str = "E109";
    /// An expression reads a variable that is not a token of the guide.
    pub const EXPR_UNDEFINED: &str = "E110";
    /// A row asks for a run-time parameter that does not exist.
    pub const UNKNOWN_PARAM: &str = "E111";
    /// A row asks for a generator that does not exist.
    pub const UNKNOWN_GENERATOR: &str = "E112";
    /// A transform cannot produce the row's type, or a mapped value is not in the vocabulary.
    pub const TRANSFORM: &str = "E113";
    /// An option value is not one of the accepted ones.
    pub const BAD_OPTION: &str = "E114";
    /// An output name of the guide collides with a token.
    pub const NAME_COLLISION: &str = "E115";
    /// A grammar file does not load (pest syntax or validation error, no `line` rule).
    pub const GRAMMAR: &str = "E116";
    /// Warning: in a grammar, an optional part can swallow what follows it.
    pub const PEG_SWALLOW: &str = "W201";
}

/// Where a problem is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The YAML path, e.g. `fields[7].token`.
    pub path: Option<String>,
    /// The row's source key, as the vendor's table names it.
    pub row: Option<String>,
}

/// One problem, with what would be right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `E...` codes are errors; `W...` codes are warnings, which do not stop a compile.
    pub code: &'static str,
    pub message: String,
    pub location: Box<Location>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { code, message: message.into(), location: Box::default(), hint: None }
    }

    pub fn in_file(mut self, file: &Path) -> Self {
        self.location.file = Some(file.to_path_buf());
        self
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.location.line = Some(line);
        self.location.column = Some(column);
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.location.path = Some(path.into());
        self
    }

    pub fn row(mut self, row: Option<&str>) -> Self {
        self.location.row = row.map(str::to_string);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    /// `error[E101]: message`, then `  --> file:line:col (path, source "Row")`, then `  = help: hint`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.code.starts_with('W') { "warning" } else { "error" };
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

/// All the problems found in one compile, in the order they were found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}
