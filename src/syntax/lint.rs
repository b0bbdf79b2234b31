//! A lint for `.pest` files: the PEG pitfalls that make a grammar fail on lines it looks like
//! it reads (reported by `xdrmap check` as warnings, `W201`).

use super::conventions::single_child;
use super::pest_file::{problem, GrammarProblem};
use pest_meta::ast::{Expr, Rule as AstRule};
use std::collections::HashMap;

/// The PEG pitfall: `(a ~ " ")? ~ b` where `a` can also match how `b` starts. PEG never
/// backtracks into a successful optional, so when the optional part is absent it swallows
/// the start of `b` (`(host ~ " ")? ~ ppe` eats `0-PPE-0` when the host is missing).
pub(super) fn swallowing_optionals(rules: &[AstRule], text: &str) -> Vec<GrammarProblem> {
    let by_name: HashMap<&str, &Expr> = rules.iter().map(|r| (r.name.as_str(), &r.expr)).collect();
    let mut found = Vec::new();
    for rule in rules {
        walk_sequences(&rule.expr, &mut |items| {
            for pair in items.windows(2) {
                let (Expr::Opt(optional), next) = (pair[0], pair[1]) else { continue };
                let (a, b) = (first(optional, &by_name, 0), first(next, &by_name, 0));
                if a.intersects(&b) {
                    let (line, column) = rule_position(text, &rule.name);
                    found.push(problem(
                        line,
                        column,
                        format!(
                            "in rule `{}`, the optional part `{a}` can also match how `{b}` starts; PEG does not \
                             backtrack into it, so a line without the optional part fails. Try the longer form first: \
                             `({a} ~ {b} | {b})`",
                            rule.name,
                            a = brief(optional),
                            b = brief(next)
                        ),
                        true,
                    ));
                }
            }
        });
    }
    found
}

/// Calls `f` with every flattened sequence in an expression.
fn walk_sequences<'e>(expr: &'e Expr, f: &mut dyn FnMut(&[&'e Expr])) {
    match expr {
        Expr::Seq(..) => {
            let mut items = Vec::new();
            flatten_seq(expr, &mut items);
            f(&items);
            for item in items {
                walk_sequences(item, f);
            }
        }
        Expr::Choice(a, b) => {
            walk_sequences(a, f);
            walk_sequences(b, f);
        }
        other => {
            if let Some(e) = single_child(other) {
                walk_sequences(e, f);
            }
        }
    }
}

fn flatten_seq<'e>(expr: &'e Expr, out: &mut Vec<&'e Expr>) {
    if let Expr::Seq(a, b) = expr {
        flatten_seq(a, out);
        flatten_seq(b, out);
    } else {
        out.push(expr);
    }
}

/// The bytes a match can start with (ASCII; bit 128 stands for any non-ASCII character).
#[derive(Clone, Copy, Default)]
struct First([u64; 3]);

impl First {
    fn add(&mut self, b: u8) {
        let i = usize::from(b.min(128));
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.add(b);
        }
    }
    fn all() -> First {
        First([u64::MAX; 3])
    }
    fn union(mut self, o: First) -> First {
        for i in 0..3 {
            self.0[i] |= o.0[i];
        }
        self
    }
    fn intersects(&self, o: &First) -> bool {
        (0..3).any(|i| self.0[i] & o.0[i] != 0)
    }
}

/// An over-approximation of the first character of what `expr` matches.
fn first(expr: &Expr, rules: &HashMap<&str, &Expr>, depth: usize) -> First {
    let mut set = First::default();
    if depth > 32 {
        return set;
    }
    match expr {
        Expr::Str(s) => {
            if let Some(b) = s.bytes().next() {
                set.add(b);
            }
        }
        Expr::Insens(s) => {
            if let Some(b) = s.bytes().next() {
                set.add(b.to_ascii_lowercase());
                set.add(b.to_ascii_uppercase());
            }
        }
        Expr::Range(lo, hi) => {
            if let (Some(lo), Some(hi)) = (lo.bytes().next(), hi.bytes().next()) {
                set.range(lo, hi.min(127));
            }
        }
        Expr::Ident(name) => match name.as_str() {
            "ANY" => return First::all(),
            "ASCII_DIGIT" => set.range(b'0', b'9'),
            "ASCII_ALPHA" => {
                set.range(b'a', b'z');
                set.range(b'A', b'Z');
            }
            "ASCII_ALPHA_UPPER" => set.range(b'A', b'Z'),
            "ASCII_ALPHA_LOWER" => set.range(b'a', b'z'),
            "ASCII_ALPHANUMERIC" => {
                set.range(b'a', b'z');
                set.range(b'A', b'Z');
                set.range(b'0', b'9');
            }
            "ASCII_HEX_DIGIT" => {
                set.range(b'0', b'9');
                set.range(b'a', b'f');
                set.range(b'A', b'F');
            }
            other => {
                if let Some(e) = rules.get(other) {
                    return first(e, rules, depth + 1);
                }
            }
        },
        Expr::Seq(a, b) => {
            let mut items = Vec::new();
            flatten_seq(expr, &mut items);
            let _ = (a, b);
            for item in items {
                match item {
                    Expr::NegPred(_) | Expr::PosPred(_) => continue,
                    Expr::Opt(e) | Expr::Rep(e) => set = set.union(first(e, rules, depth + 1)),
                    other => return set.union(first(other, rules, depth + 1)),
                }
            }
        }
        Expr::Choice(a, b) => return first(a, rules, depth + 1).union(first(b, rules, depth + 1)),
        Expr::PosPred(_) | Expr::NegPred(_) => {}
        other => {
            if let Some(e) = single_child(other) {
                return first(e, rules, depth + 1);
            }
        }
    }
    set
}

fn brief(expr: &Expr) -> String {
    let text = match expr {
        Expr::Ident(name) => name.clone(),
        Expr::Str(s) => format!("{s:?}"),
        other => format!("{other}"),
    };
    if text.chars().count() > 40 {
        text.chars().take(39).collect::<String>() + "…"
    } else {
        text
    }
}

fn rule_position(text: &str, name: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(name) {
            if rest.trim_start().starts_with('=') {
                return (i + 1, line.len() - trimmed.len() + 1);
            }
        }
    }
    (1, 1)
}
