//! QQL, compiled once against the data model and run on every event: the query language of
//! Qualys Context XDR (`src/query/qql.pest`; it is not a device grammar, so not in `grammar/`), over the events xdrmap writes. A [`Query`] is a
//! tree of typed tests: text tests on string tokens, interval tests on numbers, times and IP
//! addresses (an equality, a list, a range, a comparison and a CIDR block are all intervals).

mod compile;
mod eval;
mod event;
mod explain;

pub use compile::QueryError;
pub use event::{Fields, RawEvent};

use crate::model::Model;
use chrono::{DateTime, Utc};

/// A compiled query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    root: Pred,
}

impl Query {
    /// Compiles `text` against `model`; relative times (`now-24h`) count from `now`.
    ///
    /// # Errors
    /// The first problem, with its line, column and what would be right: a query that does not
    /// parse, a token the model does not know, a value that cannot be of the token's type, an
    /// operator the type does not have.
    pub fn compile(text: &str, model: &Model, now: DateTime<Utc>) -> Result<Query, QueryError> {
        compile::compile(text, model, now).map(|root| Query { root })
    }

    /// Why `event` matches or not, clause by clause: one line per clause and per AND, OR and
    /// NOT, indented as the query nests, each with its verdict and the event's value.
    pub fn explain<E: Fields + ?Sized>(&self, event: &E) -> String {
        explain::explain(&self.root, event)
    }

    /// Whether `event` matches: a parsed JSON object, or a [`RawEvent`] (much cheaper).
    pub fn matches<E: Fields + ?Sized>(&self, event: &E) -> bool {
        eval::matches(&self.root, event)
    }
}

/// A test on an event.
#[derive(Clone, Debug, PartialEq)]
enum Pred {
    /// Every one holds (an empty query: every event).
    All(Vec<Pred>),
    /// One of them holds.
    Any(Vec<Pred>),
    /// It does not hold.
    Not(Box<Pred>),
    /// The token has a value.
    Present(String),
    /// The token's text passes the test.
    Text(String, Text),
    /// The token's value, read as `kind`, lies in one of the intervals.
    In(String, Kind, Vec<Interval>),
    /// Some string token of the event passes the test (a bare word).
    Anywhere(Vec<String>, Text),
    /// A clause, with its text as the query wrote it (for `explain`).
    Clause(String, Box<Pred>),
}

/// A test on text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Text {
    /// Contains it, case-insensitively (held lowercased).
    Contains(String),
    /// Is it, exactly.
    Exact(String),
}

/// How a token's value is read for an interval test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A JSON number.
    Integer,
    /// An RFC 3339 time, as milliseconds since the epoch.
    Time,
    /// An IP address, IPv4 as its IPv4-mapped IPv6 address.
    Ip,
}

/// An interval of values: each end open or closed, or absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Interval {
    low: Option<(i128, bool)>,
    high: Option<(i128, bool)>,
}

impl Interval {
    fn point(v: i128) -> Self {
        Interval { low: Some((v, true)), high: Some((v, true)) }
    }

    fn contains(&self, v: i128) -> bool {
        let above = self.low.is_none_or(|(l, closed)| if closed { v >= l } else { v > l });
        let below = self.high.is_none_or(|(h, closed)| if closed { v <= h } else { v < h });
        above && below
    }
}
