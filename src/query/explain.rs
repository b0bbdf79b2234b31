//! Why an event matches a query or not: the compiled query as an indented tree, each clause
//! with its verdict and the value the event has for its token.

use super::eval::matches;
use super::event::Fields;
use super::Pred;
use std::fmt::Write as _;

pub(super) fn explain<E: Fields + ?Sized>(root: &Pred, event: &E) -> String {
    let mut out = String::new();
    let verdict = if matches(root, event) { "matches" } else { "does not match" };
    let _ = writeln!(out, "the event {verdict}:");
    node(&mut out, root, event, 1);
    out
}

fn node<E: Fields + ?Sized>(out: &mut String, pred: &Pred, event: &E, depth: usize) {
    let mark = if matches(pred, event) { "yes" } else { "no " };
    let pad = "  ".repeat(depth);
    match pred {
        Pred::All(parts) if parts.is_empty() => {
            let _ = writeln!(out, "{pad}{mark} (an empty query matches every event)");
        }
        Pred::All(parts) | Pred::Any(parts) => {
            let word = if matches!(pred, Pred::All(_)) { "AND: every one of" } else { "OR: one of" };
            let _ = writeln!(out, "{pad}{mark} {word}");
            for p in parts {
                node(out, p, event, depth + 1);
            }
        }
        Pred::Not(p) => {
            let _ = writeln!(out, "{pad}{mark} NOT");
            node(out, p, event, depth + 1);
        }
        Pred::Clause(text, p) => {
            let _ = writeln!(out, "{pad}{mark} {text}{}", value(p, event));
        }
        other => {
            let _ = writeln!(out, "{pad}{mark} {other:?}");
        }
    }
}

/// What the event has for a clause's token, as `  (token = value)`.
fn value<E: Fields + ?Sized>(pred: &Pred, event: &E) -> String {
    let token = match pred {
        Pred::Present(t) | Pred::Text(t, _) | Pred::In(t, _, _) => t,
        Pred::Any(parts) => match parts.first() {
            Some(Pred::Text(t, _)) => t,
            _ => return String::new(),
        },
        _ => return String::new(),
    };
    let shown = match (event.text(token), event.integer(token)) {
        (Some(text), _) => format!("{text:?}"),
        (None, Some(n)) => n.to_string(),
        (None, None) if event.present(token) => "a value that is neither text nor an integer".to_string(),
        (None, None) => "absent".to_string(),
    };
    format!("   ({token} = {shown})")
}
