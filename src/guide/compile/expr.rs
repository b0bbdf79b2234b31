//! A row's expression (minijinja), compiled once and checked to read only earlier tokens.

use super::{GuideCompiler, RowAt};
use crate::diag::{did_you_mean, Code};
use crate::guide::plan::{Expression, Field};

impl GuideCompiler<'_> {
    pub(super) fn expression(&mut self, source: &str, at: &RowAt, earlier: &[Field]) -> Option<Expression> {
        // minijinja's compiler recurses once per term: a long enough expression overflows
        // the stack (30,000 terms did), so the length is checked before it is called.
        let most = self.limits.expr_bytes;
        if source.len() as u64 > most {
            let message = format!("the expression is {} bytes; at most {most} are compiled", source.len());
            self.problem(Code::Limit, message, at, "expr").hint = Some(
                "split the work over several rows, each reading the one before, or raise --limit expr-bytes".into(),
            );
            return None;
        }
        let env = expression_env(self.limits.expr_fuel);
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

/// The environment expressions are compiled in: strict about undefined values, with `fuel`
/// instructions per evaluation, and without `indent`, whose width is a size it would allocate.
///
/// minijinja expressions borrow their environment, so it lives as long as the process: one
/// per fuel value the process uses (a run sets one with `--limit expr-fuel`; plans compiled on
/// reload share it), never one per plan.
fn expression_env(fuel: u64) -> &'static minijinja::Environment<'static> {
    static ENVS: std::sync::Mutex<Vec<(u64, &'static minijinja::Environment<'static>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut envs = ENVS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, env)) = envs.iter().find(|(f, _)| *f == fuel) {
        return env;
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_fuel(Some(fuel));
    env.remove_filter("indent");
    let env: &'static minijinja::Environment<'static> = Box::leak(Box::new(env));
    envs.push((fuel, env));
    env
}
