//! Grammars loaded at startup from a `.pest` file (pest_meta + pest_vm), so that a device with
//! a new syntax is added with data files only. They follow the token conventions of the
//! compiled grammars (see `grammar/README.md`); the entry rule is `line`.

use super::{Escape, Grammar, Name, SyntaxError, Token};
use pest_meta::ast::{Expr, Rule as AstRule, RuleType};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A grammar read from a `.pest` file.
pub struct PestFile {
    name: String,
    vm: pest_vm::Vm,
    /// Field names (rule names), leaked once per load so that [`Grammar::fields`] can lend them.
    fields: Vec<&'static str>,
    kinds: HashMap<String, Kind>,
}

#[derive(Clone, Copy)]
enum Kind {
    Key,
    Value(Escape),
    Field(u16),
}

/// A problem in a grammar file, with its place.
#[derive(Debug, Clone)]
pub struct GrammarProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// A warning does not stop the grammar from loading.
    pub warning: bool,
}

/// Rule calls one line may take. A grammar from a file can be exponential on some input
/// (`a = { "x" ~ a ~ "y" | "x" ~ a ~ "z" | "x" }`); past this budget the line is rejected
/// instead of stalling the run. pest's limit is process-wide, so it also bounds the compiled
/// grammar, whose ordinary lines take a few thousand calls.
pub const CALL_LIMIT: usize = 10_000_000;

impl PestFile {
    /// Loads and checks a grammar file. Returns the grammar (when it loads) and every problem.
    pub fn load(path: &Path) -> (Option<PestFile>, Vec<GrammarProblem>) {
        pest::set_call_limit(std::num::NonZeroUsize::new(CALL_LIMIT));
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return (None, vec![problem(0, 0, format!("cannot read grammar: {e}"), false)]),
        };
        let optimized = match pest_meta::parse_and_optimize(&text) {
            Ok((_, rules)) => rules,
            Err(errors) => {
                let problems = errors
                    .into_iter()
                    .map(|e| {
                        let (line, column) = match e.line_col {
                            pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
                        };
                        problem(line, column, e.variant.message().into_owned(), false)
                    })
                    .collect();
                return (None, problems);
            }
        };
        let ast = pest_meta::parser::parse(pest_meta::parser::Rule::grammar_rules, &text)
            .ok()
            .and_then(|pairs| pest_meta::parser::consume_rules(pairs).ok())
            .unwrap_or_default();
        let mut problems = Vec::new();
        if !ast.iter().any(|r| r.name == "line") {
            problems.push(problem(
                1,
                1,
                "the grammar has no `line` rule (the entry rule for one log line)".into(),
                false,
            ));
        }
        problems.extend(swallowing_optionals(&ast, &text));
        let mut fields = Vec::new();
        let mut kinds = HashMap::new();
        for rule in &ast {
            if rule.ty == RuleType::Silent || rule.name == "line" {
                continue;
            }
            let kind = match rule.name.as_str() {
                n if n == "key" || n.starts_with("key_") => Kind::Key,
                "value_quoted" => Kind::Value(Escape::Quoted),
                "value_cef" => Kind::Value(Escape::Cef),
                n if n == "value" || n.starts_with("value_") => Kind::Value(Escape::None),
                n => {
                    fields.push(&*Box::leak(n.to_string().into_boxed_str()));
                    Kind::Field(fields.len() as u16 - 1)
                }
            };
            kinds.insert(rule.name.clone(), kind);
        }
        if problems.iter().any(|p| !p.warning) {
            return (None, problems);
        }
        let name = path.to_string_lossy().into_owned();
        (Some(PestFile { name, vm: pest_vm::Vm::new(optimized), fields, kinds }), problems)
    }
}

fn problem(line: usize, column: usize, message: String, warning: bool) -> GrammarProblem {
    GrammarProblem { line, column, message, warning }
}

/// Resolves a guide's `match.grammar` that names a file, relative to the guide's folder.
pub fn grammar_path(guide_file: &Path, grammar: &str) -> PathBuf {
    let path = Path::new(grammar);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    guide_file.parent().unwrap_or(Path::new(".")).join(path)
}

impl Grammar for PestFile {
    fn name(&self) -> &str {
        &self.name
    }

    fn fields(&self) -> &[&str] {
        &self.fields
    }

    fn has_keys(&self) -> bool {
        self.kinds.values().any(|k| matches!(k, Kind::Key))
    }

    fn tokenize<'a>(&self, line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), SyntaxError> {
        out.clear();
        let pairs = self.vm.parse("line", line).map_err(|e| {
            let words = |positives: &[&str]| positives.join(" or ");
            SyntaxError::from_pest(&e, words, "the grammar's `line`")
        })?;
        let mut open_key: Option<&'a str> = None;
        for pair in pairs.flatten() {
            if pair.clone().into_inner().peek().is_some() {
                continue; // structure: only leaves carry data
            }
            let Some(kind) = self.kinds.get(pair.as_rule()) else { continue };
            let span = pair.as_span();
            let start = span.start();
            // Slice the caller's line (not the span) so the token borrows from it alone.
            let text: &'a str = line.get(start..span.end()).unwrap_or("");
            match *kind {
                Kind::Key => {
                    if let Some(key) = open_key.replace(text) {
                        out.push(Token { name: Name::Key(key), value: "", escape: Escape::None, start });
                    }
                }
                Kind::Value(escape) => {
                    let key = open_key.take().unwrap_or("");
                    out.push(Token { name: Name::Key(key), value: text.trim_end_matches(' '), escape, start });
                }
                Kind::Field(id) => out.push(Token { name: Name::Field(id), value: text, escape: Escape::None, start }),
            }
        }
        if let Some(key) = open_key {
            out.push(Token { name: Name::Key(key), value: "", escape: Escape::None, start: line.len() });
        }
        Ok(())
    }
}

/// The PEG pitfall: `(a ~ " ")? ~ b` where `a` can also match how `b` starts. PEG never
/// backtracks into a successful optional, so when the optional part is absent it swallows
/// the start of `b` (`(host ~ " ")? ~ ppe` eats `0-PPE-0` when the host is missing).
fn swallowing_optionals(rules: &[AstRule], text: &str) -> Vec<GrammarProblem> {
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

/// The one sub-expression of a repetition, option, predicate or push.
fn single_child(expr: &Expr) -> Option<&Expr> {
    match expr {
        Expr::Opt(e)
        | Expr::Rep(e)
        | Expr::RepOnce(e)
        | Expr::RepExact(e, _)
        | Expr::RepMin(e, _)
        | Expr::RepMax(e, _)
        | Expr::RepMinMax(e, _, _)
        | Expr::PosPred(e)
        | Expr::NegPred(e)
        | Expr::Push(e) => Some(e),
        _ => None,
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
