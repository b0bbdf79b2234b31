//! Limits a grammar file must keep before pest_meta sees it. pest_meta's parser and optimizer
//! recurse and copy in proportion to a grammar's shape, and a grammar is data that may come
//! from anyone: `"x"{100000}` or thousands of alternatives in one rule overflow its stack,
//! `"x"{, 4294967295}` panics in its optimizer, 4,000 `"x"?` in sequence take gigabytes.
//! These are far above what a device grammar needs (the NetScaler grammar: 17 KB, at most
//! 60 operators in a rule, bounds up to 8, parentheses 3 deep).

use super::pest_file::{problem, GrammarProblem};
use crate::limits::Limits;

/// How deep parentheses, brackets and block comments may nest (pest_meta's stack; not a
/// setting).
pub const MAX_NESTING: usize = 32;

/// Every limit the text breaks, with its place; empty when it keeps them all. The limits
/// that are settings (`--limit grammar-*`): size, repetition bounds, operators per rule, and
/// expansion, where each `+` counts two (`e+` is `e ~ e*`) and each bound `{n,m}` its largest
/// number, multiplied over the rule (nested repetitions multiply: `ASCII_ALPHA` followed by
/// 33 `+` took 2 GB; the NetScaler grammar's largest rule counts 16).
pub fn check(text: &str, limits: &Limits) -> Vec<GrammarProblem> {
    if text.len() as u64 > limits.grammar_bytes {
        let most = limits.grammar_bytes;
        let message = format!("the grammar is {} bytes; at most {most} are read (--limit grammar-bytes)", text.len());
        return vec![problem(1, 1, message, false)];
    }
    let max_expansion = limits.grammar_expansion as f64;
    let mut problems = Vec::new();
    let mut scan = Scan { chars: text.char_indices().peekable(), line: 1, column: 1 };
    let (mut depth, mut operators, mut rule_start) = (0usize, 0usize, (1, 1));
    let mut expansion = 1.0f64;
    let grows = |expansion: &mut f64, by: f64, problems: &mut Vec<GrammarProblem>, at: (usize, usize)| {
        let before = *expansion;
        *expansion *= by.max(1.0);
        if before <= max_expansion && *expansion > max_expansion {
            let message = format!(
                "a rule's repetitions expand it more than {max_expansion} times; bound them less, or split the rule"
            );
            problems.push(problem(at.0, at.1, message, false));
        }
    };
    // Block comments nest in pest; an unclosed one made pest_meta's parser take 36 s on
    // 717 bytes, so its openers are counted and it must be closed.
    let mut comments: Vec<(usize, usize)> = Vec::new();
    // pest's grammar lets a choice open with `|` inside parentheses too, but only a rule's
    // own leading `|` is skipped: pest_meta's Pratt parser panics on `( | "x")` (found by
    // the grammar fuzz target).
    let mut just_opened = false;
    while let Some((at, c)) = scan.next() {
        let here = (scan.line, scan.column - 1);
        if c == '/' && scan.peek() == Some('*') {
            scan.next();
            comments.push(here);
            if comments.len() == MAX_NESTING + 1 {
                problems.push(problem(
                    here.0,
                    here.1,
                    format!("block comments nest more than {MAX_NESTING} deep"),
                    false,
                ));
            }
            continue;
        }
        if !comments.is_empty() {
            if c == '*' && scan.peek() == Some('/') {
                scan.next();
                comments.pop();
            }
            continue;
        }
        let opened = std::mem::take(&mut just_opened);
        match c {
            c if c.is_whitespace() => just_opened = opened,
            '/' if scan.peek() == Some('/') => {
                scan.skip_line();
                just_opened = opened;
            }
            '|' if opened => {
                let message = "a choice inside parentheses cannot open with `|`; remove it".to_string();
                problems.push(problem(here.0, here.1, message, false));
            }
            '"' | '\'' => scan.skip_literal(c),
            '(' | '[' => {
                just_opened = c == '(';
                depth += 1;
                if depth == MAX_NESTING + 1 {
                    problems.push(problem(
                        here.0,
                        here.1,
                        format!("parentheses nest more than {MAX_NESTING} deep"),
                        false,
                    ));
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            '~' | '|' | '?' | '*' | '+' | '!' | '&' => {
                if c == '+' {
                    grows(&mut expansion, 2.0, &mut problems, rule_start);
                }
                operators += 1;
                if operators as u64 == limits.grammar_operators + 1 {
                    let most = limits.grammar_operators;
                    let message = format!("a rule has more than {most} operators; split it into rules");
                    problems.push(problem(rule_start.0, rule_start.1, message, false));
                }
            }
            '=' => (operators, rule_start, expansion) = (0, here, 1.0),
            '{' => {
                let bound = repetition(&text[at + 1..]);
                if let Some(bound) = bound.filter(|&b| b > limits.grammar_repeat) {
                    let message = format!("a repetition bound of {bound} is more than {}", limits.grammar_repeat);
                    problems.push(problem(here.0, here.1, message, false));
                }
                if let Some(bound) = bound {
                    grows(&mut expansion, bound as f64, &mut problems, rule_start);
                }
            }
            _ => {}
        }
    }
    if let Some(&(line, column)) = comments.first() {
        problems.push(problem(line, column, "a block comment (`/*`) is never closed".into(), false));
    }
    problems
}

/// The largest number of a repetition `{n}`, `{n,}`, `{,m}` or `{n,m}` starting the text,
/// when it is one (saturating at `u64::MAX`).
fn repetition(text: &str) -> Option<u64> {
    let end = text.find('}')?;
    let inner = &text[..end];
    if inner.is_empty() || !inner.chars().all(|c| c.is_ascii_digit() || c == ',' || c.is_whitespace()) {
        return None;
    }
    let numbers = inner.split(',').filter_map(|n| {
        let n = n.trim();
        (!n.is_empty()).then(|| n.parse::<u64>().unwrap_or(u64::MAX))
    });
    numbers.max()
}

/// Characters with their line and column.
struct Scan<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    line: usize,
    column: usize,
}

impl Scan<'_> {
    fn next(&mut self) -> Option<(usize, char)> {
        let (at, c) = self.chars.next()?;
        if c == '\n' {
            (self.line, self.column) = (self.line + 1, 1);
        } else {
            self.column += 1;
        }
        Some((at, c))
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|(_, c)| *c)
    }

    /// Past a string or character literal (its escapes too).
    fn skip_literal(&mut self, quote: char) {
        while let Some((_, c)) = self.next() {
            match c {
                '\\' => {
                    self.next();
                }
                c if c == quote => return,
                _ => {}
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some((_, c)) = self.next() {
            if c == '\n' {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammars_that_broke_pest_meta_are_refused_with_their_place() {
        let refused = |text: &str, says: &str| {
            let problems = check(text, &Limits::default());
            assert!(problems.iter().any(|p| p.message.contains(says) && p.line >= 1), "{text:.60}: {problems:?}");
        };
        refused("line = { \"x\"{100000} }", "bound of 100000");
        refused("line = { \"x\"{, 4294967295} }", "bound of 4294967295");
        refused("line = { \"x\"{99999999999999999999999} }", "bound of");
        refused(&format!("line = {{ {} }}", vec!["\"x\""; 2000].join(" | ")), "more than 500 operators");
        refused(&format!("line = {{ {} }}", vec!["\"x\"?"; 4000].join(" ~ ")), "more than 500 operators");
        refused(&format!("line = {{ {}\"x\"{} }}", "(".repeat(40), ")".repeat(40)), "nest more than 32");
        refused(&"a".repeat(256 * 1024 + 1), "bytes; at most");
        refused("line = { \"x\" } /* one /* two */", "never closed");
        refused(&format!("line = {{ ASCII_ALPHA{} }}", "+".repeat(33)), "expand it more than");
        refused("line = { ((\"x\"{1000}){1000}) }", "expand it more than");
        refused("line = { ( | \"x\" ) }", "cannot open with `|`");
        refused("line = { PUSH( // a comment\n | \"x\") ~ POP }", "cannot open with `|`");
    }

    #[test]
    fn ordinary_grammars_keep_the_limits() {
        let netscaler =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/netscaler.pest")).unwrap();
        let defaults = Limits::default();
        assert!(check(&netscaler, &defaults).is_empty(), "{:?}", check(&netscaler, &defaults));
        // Braces inside literals and comments are not bounds; `{` opening a rule is not one.
        assert!(check("line = { \"{99999}\" ~ '{' } // {99999}\n", &defaults).is_empty());
        assert!(check("/* a /* nested */ comment {99999} */ line = { \"x\" }", &defaults).is_empty());
        // A user who needs a larger bound says so.
        let mut more = Limits::default();
        more.set("grammar-repeat=5000").unwrap();
        more.set("grammar-expansion=5000").unwrap();
        assert!(check("line = { \"x\"{5000} }", &more).is_empty());
    }
}
