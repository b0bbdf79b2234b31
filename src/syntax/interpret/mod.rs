//! The interpreter of grammars loaded at run time: a guide's own `.pest` file, as pest_meta
//! parses, validates and optimizes it (`OptimizedRule`), compiled once into a tree of
//! [`Op`]s with every rule name resolved to an index and every built-in to what it matches,
//! then run over a line's bytes with the runtime of the generated scanners (`scan.rs`): no
//! `ParserState`, no pairs, no rule looked up by name.
//!
//! It is pest_vm's semantics, step for step: implicit `WHITESPACE` and `COMMENT` between the
//! items of a sequence and a repetition outside atomic rules, the atomicity of each rule type,
//! and a pair for every rule that would make one, of which the leaves (pairs with no pair
//! inside, what [`PestFile`](super::pest_file::PestFile) reads) are kept. It counts the calls
//! pest would count; [`STEPS`](super::scan::STEPS) is a quarter of pest's call limit and
//! [`DEPTH`](super::scan::DEPTH) bounds the interpreter's own recursion, so a line it matches
//! within them pest_vm matches too. Every other line, and every line of a grammar that uses
//! what it does not support (the stack: `PUSH`, `PEEK`, `POP`, `DROP`; Unicode properties such
//! as `XID_START`), goes to pest_vm, which gives the verdict and the reason.

use super::scan::Scan;
use ops::Op;
use pest_meta::ast::RuleType;
use pest_meta::optimizer::OptimizedRule;
use std::collections::HashMap;

mod ops;

/// The rule index an `EOI` pair carries (it is a pair in pest, but no rule of the file).
pub const EOI: u32 = u32::MAX;

/// A grammar file, compiled for the interpreter.
pub struct Program {
    rules: Vec<Code>,
    line: u32,
    whitespace: Option<u32>,
    comment: Option<u32>,
}

/// One rule: its type, whether it is `WHITESPACE` or `COMMENT` (which pest_vm runs atomic),
/// and its body.
struct Code {
    ty: RuleType,
    implicit: bool,
    body: Op,
}

/// How atomic the rule being matched is (pest's `Atomicity`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Atom {
    Atomic,
    Compound,
    Non,
}

impl Program {
    /// The program of `rules`, or why the interpreter cannot run them (pest_vm does).
    pub fn compile(rules: &[OptimizedRule]) -> Result<Program, String> {
        let names: HashMap<&str, u32> = rules.iter().enumerate().map(|(i, r)| (r.name.as_str(), i as u32)).collect();
        let index = |name: &str| names.get(name).copied();
        let line = index("line").ok_or("no `line` rule")?;
        let (whitespace, comment) = (index("WHITESPACE"), index("COMMENT"));
        // Fused ops read several items as one, which holds only where no blanks go between.
        let fuse = whitespace.is_none() && comment.is_none();
        let mut code = Vec::with_capacity(rules.len());
        for rule in rules {
            let implicit = rule.name == "WHITESPACE" || rule.name == "COMMENT";
            code.push(Code { ty: rule.ty, implicit, body: ops::compile(&rule.expr, &index, fuse)? });
        }
        Ok(Program { rules: code, line, whitespace, comment })
    }

    /// Matches `line` from its start: whether it matches (the leaf pairs in `s.tokens`), or
    /// `None` when the budget ran out first.
    pub fn run(&self, s: &mut Scan<'_, u32>) -> Option<bool> {
        let ok = self.call(self.line, s, Atom::Non);
        (!s.exhausted).then_some(ok)
    }

    fn call(&self, rule: u32, s: &mut Scan<'_, u32>, atom: Atom) -> bool {
        let code = &self.rules[rule as usize];
        // pest_vm's wrappers per rule type: the calls pest counts, whether the rule makes a
        // pair (never inside an atomic rule), and the atomicity of its body.
        let (calls, pair, inner) = match (code.implicit, code.ty) {
            (false, RuleType::Normal) => (1, atom != Atom::Atomic, atom),
            (false, RuleType::Silent) => (0, false, atom),
            (true, RuleType::Silent) => (1, false, Atom::Atomic),
            (_, RuleType::Normal | RuleType::Atomic) => (2, atom != Atom::Atomic, Atom::Atomic),
            (_, RuleType::CompoundAtomic) => (2, true, Atom::Compound),
            (false, RuleType::NonAtomic) => (2, true, Atom::Non),
            (true, RuleType::NonAtomic) => (2, false, Atom::Atomic),
        };
        if !s.spend(calls) || !s.descend() {
            return false;
        }
        let (start, first) = (s.pos, s.tokens.len());
        let ok = self.eval(&code.body, s, inner);
        if ok && pair && s.tokens.len() == first {
            s.tokens.push((rule, start, s.pos));
        }
        s.leave();
        ok
    }

    /// Whether `op` matches at `s.pos`; when it does not, position and pairs are as they were.
    fn eval(&self, op: &Op, s: &mut Scan<'_, u32>, atom: Atom) -> bool {
        match op {
            Op::Lit(text) => s.lit(text),
            Op::Insens(text) => s.insens(text),
            Op::Bytes(from, to) => s.byte_range(*from, *to),
            Op::Chars(from, to) => s.char_range(*from, *to),
            Op::Set(set) => s.byte_class(|b| in_set(*set, b)),
            Op::SetRep(set) => {
                let n = s.b[s.pos..].iter().take_while(|&&b| in_set(*set, b)).count();
                // pest: sequence and optional, then repeat and a sequence per further pass.
                let calls = if n == 0 { 2 } else { u32::try_from(n).map_or(u32::MAX, |n| n.saturating_add(3)) };
                s.pos += n;
                s.spend(calls)
            }
            Op::NotSet(set) => match s.b.get(s.pos) {
                Some(&b) if !in_set(*set, b) => s.spend(1) && s.any(),
                _ => {
                    s.spend(1);
                    false
                }
            },
            Op::Any => s.any(),
            Op::Soi => s.pos == 0,
            Op::Eoi => {
                let at_end = s.spend(1) && s.pos == s.b.len();
                if at_end && atom != Atom::Atomic {
                    s.tokens.push((EOI, s.pos, s.pos));
                }
                at_end
            }
            Op::Call(rule) => self.call(*rule, s, atom),
            Op::SkipUntil(strings) => s.skip_until(strings),
            _ => {
                if !s.descend() {
                    return false;
                }
                let ok = self.nested(op, s, atom);
                s.leave();
                ok
            }
        }
    }

    /// The expressions that hold others, one level deeper.
    fn nested(&self, op: &Op, s: &mut Scan<'_, u32>, atom: Atom) -> bool {
        match op {
            Op::Seq(items, calls) => {
                let m = s.here();
                let ok = s.spend(*calls)
                    && items
                        .iter()
                        .enumerate()
                        .all(|(i, item)| (i == 0 || self.skip(s, atom)) && self.eval(item, s, atom));
                ok || s.back(m)
            }
            Op::Choice(items) => items.iter().any(|item| self.eval(item, s, atom)),
            Op::Opt(inner) => {
                let _ = s.spend(1) && self.eval(inner, s, atom);
                true
            }
            Op::Rep(inner) => {
                if s.spend(3) && self.eval(inner, s, atom) {
                    while s.spend(1) {
                        let (m, p) = (s.here(), s.pos);
                        if !(self.skip(s, atom) && self.eval(inner, s, atom)) {
                            s.reset(m);
                            break;
                        }
                        if s.stuck(p) {
                            break;
                        }
                    }
                }
                true
            }
            Op::Pos(inner) | Op::Neg(inner) => {
                let m = s.here();
                let ok = s.spend(1) && self.eval(inner, s, atom);
                s.reset(m);
                ok == matches!(op, Op::Pos(_))
            }
            _ => unreachable!("eval matches every other op"),
        }
    }

    /// pest_vm's implicit blanks between items, outside atomic rules: `WHITESPACE*`, then
    /// `(COMMENT ~ WHITESPACE*)*` when the grammar has a `COMMENT`.
    fn skip(&self, s: &mut Scan<'_, u32>, atom: Atom) -> bool {
        if atom != Atom::Non {
            return true;
        }
        match (self.whitespace, self.comment) {
            (None, None) => true,
            (Some(rule), None) | (None, Some(rule)) => self.repeat(rule, s),
            (Some(ws), Some(comment)) => {
                if !s.spend(2) || !self.repeat(ws, s) {
                    return false;
                }
                while s.spend(1) {
                    let m = s.here();
                    if !(self.call(comment, s, Atom::Non) && self.repeat(ws, s)) {
                        s.reset(m);
                        break;
                    }
                }
                true
            }
        }
    }

    /// `rule*` as pest's `repeat` runs it.
    fn repeat(&self, rule: u32, s: &mut Scan<'_, u32>) -> bool {
        if !s.spend(1) {
            return false;
        }
        loop {
            let p = s.pos;
            if !self.call(rule, s, Atom::Non) {
                return !s.exhausted;
            }
            if s.stuck(p) {
                return false;
            }
        }
    }
}

/// Whether `b` is in the ASCII byte set.
#[inline]
fn in_set(set: u128, b: u8) -> bool {
    b < 128 && set & (1 << b) != 0
}
