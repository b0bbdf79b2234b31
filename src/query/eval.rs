//! A compiled query run on one event.

use super::event::Fields;
use super::{Kind, Pred, Text};

/// Whether `event` passes `pred`.
pub(super) fn matches<E: Fields + ?Sized>(pred: &Pred, event: &E) -> bool {
    match pred {
        Pred::All(all) => all.iter().all(|p| matches(p, event)),
        Pred::Any(any) => any.iter().any(|p| matches(p, event)),
        Pred::Not(p) => !matches(p, event),
        Pred::Present(token) => event.present(token),
        Pred::Text(token, test) => event.text(token).is_some_and(|s| passes(test, &s)),
        Pred::In(token, kind, intervals) => {
            read(*kind, token, event).is_some_and(|v| intervals.iter().any(|i| i.contains(v)))
        }
        Pred::Anywhere(tokens, test) => tokens.iter().any(|t| event.text(t).is_some_and(|s| passes(test, &s))),
        Pred::Clause(_, p) => matches(p, event),
    }
}

/// Whether `text` passes `test`.
fn passes(test: &Text, text: &str) -> bool {
    match test {
        Text::Exact(want) => text == want,
        Text::Contains(want) if text.is_ascii() && want.is_ascii() => {
            text.as_bytes().windows(want.len().max(1)).any(|w| w.eq_ignore_ascii_case(want.as_bytes()))
                || want.is_empty()
        }
        Text::Contains(want) => text.to_lowercase().contains(want.as_str()),
    }
}

/// An event's value of `token` as a point of `kind`'s line.
fn read<E: Fields + ?Sized>(kind: Kind, token: &str, event: &E) -> Option<i128> {
    match kind {
        Kind::Integer => event.integer(token),
        Kind::Time => super::compile::time_millis(&event.text(token)?),
        Kind::Ip => super::compile::ip_number(&event.text(token)?),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Interval;
    use super::*;

    #[test]
    fn contains_ignores_case_in_ascii_and_beyond() {
        assert!(passes(&Text::Contains("nsroot".into()), "User NSRoot logged in"));
        assert!(passes(&Text::Contains("größe".into()), "GRÖSSE größe"));
        assert!(!passes(&Text::Contains("admin".into()), "adm"));
        assert!(passes(&Text::Contains(String::new()), ""));
    }

    #[test]
    fn an_interval_keeps_its_ends() {
        let open = Interval { low: Some((1, false)), high: Some((5, false)) };
        assert!(!open.contains(1) && open.contains(2) && !open.contains(5));
        assert!(Interval::point(3).contains(3));
    }
}
