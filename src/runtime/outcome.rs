//! What became of one line: an event, a blank line skipped, or a rejection with a stable code.

use crate::diag::Code;
use std::fmt;

/// What became of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An event was written; `field_errors` fields failed their type and were left out (each
    /// is recorded in the event's errors array, unless its row says `on_invalid: skip`).
    Mapped {
        /// Index of the guide that mapped the line, in [`Plan::guides`](crate::guide::Plan).
        guide: usize,
        /// How many fields failed their type.
        field_errors: usize,
    },
    /// The line holds nothing but blanks: counted, not mapped, not rejected.
    Blank,
    /// No event was written, for this reason.
    Rejected(Reject),
}

/// Why a line was rejected: a stable code (`R3xx`) for metrics, dead-letter routing and guide
/// cases, and the detail in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// What kind of rejection it is.
    pub code: Code,
    /// What happened, e.g. "does not fit grammar 'netscaler' at column 44: expected …".
    pub detail: String,
}

impl Reject {
    /// A rejection with its code and detail.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Reject { code, detail: detail.into() }
    }
}

impl fmt::Display for Reject {
    /// The detail: the code is a separate field wherever a reject is written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}
