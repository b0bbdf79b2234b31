//! A row's expression (minijinja), compiled once and checked to read only earlier tokens.

use super::{GuideCompiler, RowAt};
use crate::diag::{did_you_mean, Code};
use crate::guide::plan::{Expression, Field};

impl GuideCompiler<'_> {
    pub(super) fn expression(&mut self, source: &str, at: &RowAt, earlier: &[Field]) -> Option<Expression> {
        // minijinja's compiler recurses once per term: a long enough expression overflows
        // the stack (30,000 terms did), so the length is checked before it is called.
        if source.len() > MAX_EXPR_BYTES {
            let message = format!("the expression is {} bytes; at most {MAX_EXPR_BYTES} are compiled", source.len());
            self.problem(Code::Limit, message, at, "expr").hint =
                Some("split the work over several rows, each reading the one before".into());
            return None;
        }
        let env = expression_env();
        let compiled = match env.compile_expression_owned(source.to_string()) {
            Ok(c) => c,
            Err(e) => {
                self.problem(Code::ExprSyntax, format!("expression does not compile: {e}"), at, "expr");
                return None;
            }
        };
        let mut inputs = Vec::new();
        let mut names: Vec<String> = compiled.undeclared_variables(false).into_iter().collect();
        names.sort();
        // minijinja's own global functions are not tokens.
        names.retain(|n| !["range", "dict", "namespace", "debug", "lipsum", "cycler", "joiner"].contains(&n.as_str()));
        let needed = names.len();
        for name in names {
            match earlier.iter().position(|f| f.token == name) {
                Some(i) => inputs.push((name, i)),
                None => {
                    let known: Vec<&str> = earlier.iter().map(|f| f.token.as_str()).collect();
                    let d = self.problem(
                        Code::ExprUndefined,
                        format!("expression reads '{name}', which no earlier row writes"),
                        at,
                        "expr",
                    );
                    d.hint = Some(match did_you_mean(&name, known.iter().copied()) {
                        Some(best) => format!("did you mean '{best}'?"),
                        None => "an expression reads the tokens of the rows above it".to_string(),
                    });
                }
            }
        }
        (inputs.len() == needed).then(|| Expression { source: source.to_string(), compiled, inputs })
    }
}

/// The longest expression compiled, in bytes.
pub const MAX_EXPR_BYTES: usize = 4096;

/// Instructions one evaluation may run (minijinja's fuel): loops end, not the run.
pub const EXPR_FUEL: u64 = 100_000;

/// The environment every expression is compiled in: strict about undefined values, with a
/// budget per evaluation, and without `indent`, whose width is a size it would allocate.
///
/// minijinja expressions borrow their environment; the environment is created once per
/// process and lives as long as it (plans compiled later, e.g. on reload, share it).
fn expression_env() -> &'static minijinja::Environment<'static> {
    static ENV: once_cell::sync::Lazy<minijinja::Environment<'static>> = once_cell::sync::Lazy::new(|| {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_fuel(Some(EXPR_FUEL));
        env.remove_filter("indent");
        env
    });
    &ENV
}
