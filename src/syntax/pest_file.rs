//! Grammars loaded at startup from a `.pest` file, so that a device with a new syntax is added
//! with data files only: pest_meta reads and optimizes the file, the interpreter
//! (`interpret/`) reads the lines it matches, pest_vm gives the verdict and the reason on
//! every other line. They follow the token conventions of the compiled grammars (see
//! `grammar/README.md`); the entry rule is `line`.

use super::conventions::{role, Role, ValueEscape};
use super::interpret::{Program, EOI};
use super::lint::swallowing_optionals;
use super::scan::Scan;
use super::{close_line, push_leaf, Escape, Grammar, Leaf, SyntaxError, Token};
use crate::limits::Limits;
use pest_meta::ast::RuleType;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A grammar read from a `.pest` file.
pub struct PestFile {
    name: String,
    vm: pest_vm::Vm,
    /// The grammar for the interpreter, unless it uses what the interpreter does not run.
    program: Option<Program>,
    /// What each rule's pair is, by the rule's index in the program.
    rule_kinds: Vec<Option<Leaf>>,
    /// Field names (rule names), interned so that [`Grammar::fields`] can lend them.
    fields: Vec<&'static str>,
    kinds: HashMap<String, Leaf>,
}

/// Rule names, each kept once for the life of the process: loading the same grammar again
/// (a reload) takes no more memory.
static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

/// The one copy of `name`.
fn intern(name: &str) -> &'static str {
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let names = names.get_or_insert_with(HashSet::new);
    if let Some(kept) = names.get(name) {
        return kept;
    }
    let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(kept);
    kept
}

/// How many rule names are kept (for tests: reloads do not add to it).
pub fn interned_names() -> usize {
    NAMES.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, HashSet::len)
}

/// A problem in a grammar file, with its place.
#[derive(Debug, Clone)]
pub struct GrammarProblem {
    /// 1-based line in the grammar file (0 when not known).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// A warning does not stop the grammar from loading.
    pub warning: bool,
}

/// Rule calls one line may take. A grammar from a file can be exponential on some input
/// (`a = { "x" ~ a ~ "y" | "x" ~ a ~ "z" | "x" }`); past this budget the line is rejected
/// instead of stalling the run. pest's limit is process-wide, so it is set for every run (by
/// [`builtin_grammars`](super::builtin_grammars)), whether or not a grammar file is loaded:
/// what the compiled grammar accepts must not depend on the guides beside it. Its ordinary
/// lines take a few thousand calls.
pub const CALL_LIMIT: usize = 10_000_000;

impl PestFile {
    /// Loads and checks a grammar file. Returns the grammar (when it loads) and every problem.
    pub fn load(path: &Path, limits: &Limits) -> (Option<PestFile>, Vec<GrammarProblem>) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return (None, vec![problem(0, 0, format!("cannot read grammar: {e}"), false)]),
        };
        PestFile::from_text(&path.to_string_lossy(), &text, limits)
    }

    /// A grammar from its text, named `name`: what [`PestFile::load`] does once the file is read.
    pub fn from_text(name: &str, text: &str, limits: &Limits) -> (Option<PestFile>, Vec<GrammarProblem>) {
        let text = text.to_string();
        let too_big = super::grammar_limits::check(&text, limits);
        if !too_big.is_empty() {
            return (None, too_big);
        }
        let loaded = outside_pest_meta(|| {
            pest_meta::parse_and_optimize(&text).map(|(names, mut rules)| {
                rules.iter_mut().for_each(|r| defuse_stack(&mut r.expr));
                (names, rules)
            })
        });
        let optimized = match loaded {
            Err(fault) => return (None, vec![problem(1, 1, fault, false)]),
            Ok(Ok((_, rules))) => rules,
            Ok(Err(errors)) => {
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
        let ast = outside_pest_meta(|| {
            pest_meta::parser::parse(pest_meta::parser::Rule::grammar_rules, &text)
                .ok()
                .and_then(|pairs| pest_meta::parser::consume_rules(pairs).ok())
        })
        .ok()
        .flatten()
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
            let kind = match role(&rule.name) {
                Role::Key => Leaf::Key,
                Role::Value(ValueEscape::None) => Leaf::Value(Escape::None),
                Role::Value(ValueEscape::Quoted) => Leaf::Value(Escape::Quoted),
                Role::Value(ValueEscape::Cef) => Leaf::Value(Escape::Cef),
                // One line at a time here: a `bad_line` rule is an ordinary field.
                Role::Field | Role::BadLine => {
                    fields.push(intern(&rule.name));
                    Leaf::Field(fields.len() as u16 - 1, Escape::None)
                }
            };
            kinds.insert(rule.name.clone(), kind);
        }
        if problems.iter().any(|p| !p.warning) {
            return (None, problems);
        }
        let name = name.to_string();
        let program = Program::compile(&optimized).ok();
        let rule_kinds = optimized.iter().map(|r| kinds.get(&r.name).copied()).collect();
        let vm = pest_vm::Vm::new(optimized);
        (Some(PestFile { name, vm, program, rule_kinds, fields, kinds }), problems)
    }
}

pub(super) fn problem(line: usize, column: usize, message: String, warning: bool) -> GrammarProblem {
    GrammarProblem { line, column, message, warning }
}

/// Where a guide may read its grammar file from, once links are followed: its own folder
/// (and below), or, for a guide under a `mappings/` folder, the `grammar/` folder beside it
/// (the repository's layout). An absolute path, `../` out of those, or a symlink that leads
/// elsewhere (`/etc/hostname`) is refused: a guide is data that may come from anyone.
///
/// # Errors
/// Why the file may not be read, in words.
pub fn check_grammar_place(guide_file: &Path, path: &Path) -> Result<(), String> {
    let real = path.canonicalize().map_err(|e| format!("cannot read grammar {}: {e}", path.display()))?;
    let folder = match guide_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let folder = folder.canonicalize().map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
    let mut allowed = vec![folder.clone()];
    if let Some(mappings) = folder.ancestors().find(|a| a.file_name().is_some_and(|n| n == "mappings")) {
        allowed.extend(mappings.parent().map(|p| p.join("grammar")));
    }
    match allowed.iter().any(|root| real.starts_with(root)) {
        true => Ok(()),
        false => Err(format!(
            "grammar file {} is outside the guide's folder (and a grammar/ folder beside mappings/); refusing to read it",
            real.display()
        )),
    }
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
        self.kinds.values().any(|k| matches!(k, Leaf::Key))
    }

    fn tokenize<'a>(&self, line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), SyntaxError> {
        if self.tokenize_with_interpreter(line, out) == Some(true) {
            return Ok(());
        }
        self.tokenize_with_vm(line, out)
    }
}

thread_local! {
    /// The interpreter's pairs for the line at hand, reused from line to line.
    static PAIRS: RefCell<Vec<(u32, usize, usize)>> = const { RefCell::new(Vec::new()) };
}

impl PestFile {
    /// Whether the interpreter runs this grammar (else every line is pest_vm's).
    pub fn interpreted(&self) -> bool {
        self.program.is_some()
    }

    /// The interpreter alone: whether the line matches, its tokens in `out` when it does;
    /// `None` when the interpreter does not run this grammar or gave up on the line (its
    /// budget). For the tests and fuzzing that hold it to pest_vm.
    #[doc(hidden)]
    pub fn tokenize_with_interpreter<'a>(&self, line: &'a str, out: &mut Vec<Token<'a>>) -> Option<bool> {
        out.clear();
        let program = self.program.as_ref()?;
        PAIRS.with_borrow_mut(|pairs| {
            let mut s = Scan::new(line, pairs);
            if !program.run(&mut s)? {
                return Some(false);
            }
            let mut open_key = None;
            for &(rule, start, end) in pairs.iter() {
                if let Some(Some(kind)) = self.rule_kinds.get(rule as usize).filter(|_| rule != EOI) {
                    push_leaf(out, &mut open_key, *kind, &line[start..end], start);
                }
            }
            close_line(out, &mut open_key, line.len());
            Some(true)
        })
    }

    /// pest_vm alone: the reference the interpreter is held to, and the verdict on every line
    /// the interpreter does not match.
    ///
    /// # Errors
    /// Where the line stops fitting the grammar, or that it ran out of rule calls.
    pub fn tokenize_with_vm<'a>(&self, line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), SyntaxError> {
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
            // Slice the caller's line (not the span) so the token borrows from it alone.
            let text: &'a str = line.get(span.start()..span.end()).unwrap_or("");
            push_leaf(out, &mut open_key, *kind, text, span.start());
        }
        close_line(out, &mut open_key, line.len());
        Ok(())
    }
}

/// Makes a grammar's stack operations fail instead of panicking: pest's `PEEK` and `POP`
/// panic on an empty stack (found by the grammar fuzz target: `key ~ PEEK` with nothing
/// pushed took the process down on the first line), while a peek slice does not. So `PEEK`
/// becomes `PEEK[-1..]` and `POP` becomes `PEEK[-1..] ~ DROP`, which match the same text on a
/// stack that has a top and fail on one that has none. The match is exhaustive, so that a
/// new kind of expression cannot slip past it.
fn defuse_stack(expr: &mut pest_meta::optimizer::OptimizedExpr) {
    use pest_meta::optimizer::OptimizedExpr as E;
    let top = || E::PeekSlice(-1, None);
    match expr {
        E::Ident(name) if name == "PEEK" => *expr = top(),
        E::Ident(name) if name == "POP" => *expr = E::Seq(Box::new(top()), Box::new(E::Ident("DROP".into()))),
        E::Str(_) | E::Insens(_) | E::Range(..) | E::Ident(_) | E::PeekSlice(..) | E::Skip(_) => {}
        E::PosPred(e) | E::NegPred(e) | E::Opt(e) | E::Rep(e) | E::Push(e) | E::RestoreOnErr(e) => defuse_stack(e),
        E::Seq(a, b) | E::Choice(a, b) => {
            defuse_stack(a);
            defuse_stack(b);
        }
    }
}

/// The stack pest_meta runs on. Its parser, validator and optimizer recurse over a rule's
/// shape, so the ceilings of `--limit grammar-*` are what this stack holds (measured in a
/// debug build, which takes more stack per call than a release one); only the pages it
/// touches are memory.
const PEST_META_STACK: usize = 256 << 20;

/// Runs pest_meta on a thread of its own with [`PEST_META_STACK`], so that what a grammar
/// may be does not depend on the thread that loads it (a reload, a worker). A panic inside
/// it (a fault of pest_meta's that `grammar_limits` does not know yet) becomes a problem of
/// the grammar rather than a crash of a collector reloading it; fuzzing builds let it go on,
/// so that the fuzzer finds it and a guard is written.
fn outside_pest_meta<T: Send>(run: impl FnOnce() -> T + Send) -> Result<T, String> {
    std::thread::scope(|s| {
        let thread = std::thread::Builder::new().name("pest_meta".into()).stack_size(PEST_META_STACK);
        let handle = thread.spawn_scoped(s, run).map_err(|e| format!("cannot start pest_meta: {e}"))?;
        handle.join().map_err(|panic| {
            #[cfg(fuzzing)]
            std::panic::resume_unwind(panic);
            #[cfg(not(fuzzing))]
            {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                format!("pest_meta failed on this grammar ({why}); simplify the rule, and report it to pest")
            }
        })
    })
}
