//! The token conventions every grammar follows (`grammar/README.md`), by rule name: `key*`
//! rules open a pair, `value*` rules close it (`value_quoted` and `value_cef` with their
//! escapes), `bad_line` is a line of a batch the rules do not fit, every other rule that makes
//! a pair is a field. Shared by `build.rs` (for the built-in grammars) and the loader of
//! `.pest` files, so both read a grammar the same way.

use pest_meta::ast::Expr;

/// How a value rule's text is escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueEscape {
    /// Raw text.
    None,
    /// `\"` and `\\`.
    Quoted,
    /// CEF: `\=`, `\\`, `\|`, `\n`, `\r`.
    Cef,
}

/// What a rule's pair is for the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Opens a pair; its text is the device's key.
    Key,
    /// Closes the open pair; its text is the value.
    Value(ValueEscape),
    /// A line of a batch that the rules do not fit.
    BadLine,
    /// A field the grammar names itself, read by a guide as `@rule`.
    Field,
}

/// The role of the rule named `name`.
pub fn role(name: &str) -> Role {
    if name == "bad_line" {
        Role::BadLine
    } else if name == "key" || name.starts_with("key_") {
        Role::Key
    } else if name == "value_quoted" {
        Role::Value(ValueEscape::Quoted)
    } else if name == "value_cef" {
        Role::Value(ValueEscape::Cef)
    } else if name == "value" || name.starts_with("value_") {
        Role::Value(ValueEscape::None)
    } else {
        Role::Field
    }
}

/// The one sub-expression of a repetition, option, predicate or push.
pub fn single_child(expr: &Expr) -> Option<&Expr> {
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
