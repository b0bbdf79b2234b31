//! Syntax phase: a grammar turns one line into a flat list of tokens that borrow from it.
//!
//! Token conventions, shared by every grammar (see `grammar/README.md`):
//! - a `key` (or `key_*`) token opens a pair, the next `value` (or `value_*`) token closes it;
//! - every other token is a field the grammar names itself, read by a guide as `@rule`.

mod conventions;
pub mod grammar_limits;
mod interpret;
mod lint;
mod netscaler;
pub mod pest_file;
pub mod scan;
pub mod transport;

pub use netscaler::NetScaler;
pub use transport::Transport;

use std::fmt;
use std::ops::Range;

pub use crate::value::text::Escape;

/// What a token is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Name<'a> {
    /// A field the grammar names: an index into [`Grammar::fields`].
    Field(u16),
    /// A key the device sent (`Source`, `Start Time`, `src`).
    Key(&'a str),
}

/// One token of a line: its name, its text (borrowed) and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The key or the field.
    pub name: Name<'a>,
    /// The text, as the device wrote it (escapes undone only when used).
    pub value: &'a str,
    /// How the text is escaped.
    pub escape: Escape,
    /// Byte offset of the value in the line.
    pub start: usize,
}

/// Why a line does not fit a grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based column (in characters) where the grammar gave up.
    pub column: usize,
    /// What the grammar expected there, in words.
    pub expected: String,
    /// The grammar gave up at one of its limits (a budget of rule calls), not at a mismatch.
    pub limit: bool,
}

impl SyntaxError {
    /// The error of a pest parse: its column, and what was expected there in words made by
    /// `expected` from the rules pest names (or `fallback` when it names none). A custom error
    /// is a limit the grammar reached.
    pub(crate) fn from_pest<R: pest::RuleType>(
        e: &pest::error::Error<R>,
        expected: impl FnOnce(&[R]) -> String,
        fallback: &str,
    ) -> SyntaxError {
        use pest::error::{ErrorVariant, LineColLocation};
        let column = match e.line_col {
            LineColLocation::Pos((_, c)) | LineColLocation::Span((_, c), _) => c,
        };
        let (expected, limit) = match &e.variant {
            ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => (expected(positives), false),
            ErrorVariant::CustomError { message } => {
                (format!("a line the grammar can read within its limits ({message})"), true)
            }
            ErrorVariant::ParsingError { .. } => (fallback.to_string(), false),
        };
        SyntaxError { column, expected, limit }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: expected {}", self.column, self.expected)
    }
}

/// Where one line of a batch is, and where its tokens are (see [`Grammar::tokenize_lines`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineTokens {
    /// The line's text in the batch (the text its tokens' `start` counts from).
    pub text: Range<usize>,
    /// Its tokens in the output vector; `None` when the line does not fit the grammar (or is
    /// blank, or needs cleaning first): tokenize it alone to learn why.
    pub tokens: Option<Range<usize>>,
}

/// A tokenizer for one device syntax.
pub trait Grammar: Send + Sync {
    /// The name a guide uses in `match.grammar`.
    fn name(&self) -> &str;
    /// The fields this grammar names itself, without the `@`, indexed by [`Name::Field`].
    fn fields(&self) -> &[&str];
    /// Whether the grammar produces device keys at all (it has a `key` rule).
    fn has_keys(&self) -> bool {
        true
    }
    /// Tokenizes one line (without its line ending) into `out`, which is cleared first.
    ///
    /// # Errors
    /// A [`SyntaxError`] when the line does not fit the grammar.
    fn tokenize<'a>(&self, line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), SyntaxError>;

    /// Tokenizes a batch of whole lines, each ended by `\n` (the last one need not be), into
    /// `out`; `lines` gets one entry per line, in order. Both are cleared first. The result is
    /// the same as [`Grammar::tokenize`] line by line (a test holds the built-in grammar to
    /// that); a grammar may do it in one pass, which saves the per-call set-up.
    fn tokenize_lines<'a>(&self, text: &'a str, out: &mut Vec<Token<'a>>, lines: &mut Vec<LineTokens>) {
        tokenize_each_line(self, text, out, lines);
    }
}

/// [`Grammar::tokenize_lines`] one line at a time.
pub fn tokenize_each_line<'a, G: Grammar + ?Sized>(
    grammar: &G,
    text: &'a str,
    out: &mut Vec<Token<'a>>,
    lines: &mut Vec<LineTokens>,
) {
    out.clear();
    lines.clear();
    let mut scratch = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = strip_line_ending(raw);
        let tokens = grammar.tokenize(line, &mut scratch).ok().map(|()| {
            out.extend_from_slice(&scratch);
            out.len() - scratch.len()..out.len()
        });
        lines.push(LineTokens { text: start..start + line.len(), tokens });
        start += raw.len();
    }
}

/// The grammars compiled into the binary.
pub fn builtin_grammars() -> Vec<Box<dyn Grammar>> {
    // The budget of rule calls per parse is process-wide in pest: set it before any grammar
    // runs, so that a run with a grammar file and one without accept the same lines.
    pest::set_call_limit(std::num::NonZeroUsize::new(pest_file::CALL_LIMIT));
    vec![Box::new(NetScaler)]
}

/// Strips one line ending (`\n` or `\r\n`) from a line.
pub fn strip_line_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The text of a line as grammars see it: no line ending, and no byte-order mark (which
/// editors put at the start of a file).
pub fn line_text(line: &str) -> &str {
    let line = strip_line_ending(line);
    line.strip_prefix('\u{feff}').unwrap_or(line)
}

/// What a grammar's leaf pair is in the token list (the conventions above).
#[derive(Clone, Copy)]
pub(crate) enum Leaf {
    Key,
    Value(Escape),
    Field(u16, Escape),
}

/// Adds one leaf pair to the tokens: a key waits in `open_key` for its value (a value's
/// trailing blanks are not part of it); a key followed by another key gets an empty value.
pub(crate) fn push_leaf<'a>(
    out: &mut Vec<Token<'a>>,
    open_key: &mut Option<&'a str>,
    leaf: Leaf,
    text: &'a str,
    start: usize,
) {
    match leaf {
        Leaf::Key => {
            if let Some(key) = open_key.replace(text) {
                out.push(Token { name: Name::Key(key), value: "", escape: Escape::None, start });
            }
        }
        Leaf::Value(escape) => {
            let key = open_key.take().unwrap_or("");
            out.push(Token { name: Name::Key(key), value: text.trim_end_matches(' '), escape, start });
        }
        Leaf::Field(id, escape) => out.push(Token { name: Name::Field(id), value: text, escape, start }),
    }
}

/// Ends a line: a key still waiting gets an empty value at the line's end.
pub(crate) fn close_line<'a>(out: &mut Vec<Token<'a>>, open_key: &mut Option<&'a str>, line_len: usize) {
    if let Some(key) = open_key.take() {
        out.push(Token { name: Name::Key(key), value: "", escape: Escape::None, start: line_len });
    }
}

/// Empties a token buffer and hands its allocation to a new lifetime, so one
/// buffer serves every line without reallocating.
pub(crate) fn recycle<'b>(mut tokens: Vec<Token<'_>>) -> Vec<Token<'b>> {
    tokens.clear();
    // An empty vector of a type with the same layout: the allocation is reused in place.
    tokens.into_iter().map(|_| unreachable!()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recycle_keeps_the_allocation() {
        let line = String::from("abc");
        let mut tokens: Vec<Token<'_>> = Vec::with_capacity(64);
        tokens.push(Token { name: Name::Key(&line), value: &line, escape: Escape::None, start: 0 });
        let ptr = tokens.as_ptr() as usize;
        let again: Vec<Token<'static>> = recycle(tokens);
        assert!(again.is_empty());
        assert_eq!(again.capacity(), 64);
        assert_eq!(again.as_ptr() as usize, ptr);
    }
}
