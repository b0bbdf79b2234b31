//! Which guide maps a line: the line is tokenized by each guide's grammar in turn (once per
//! grammar), and the first guide that claims it wins; otherwise the line is rejected with the
//! reason that explains it best.

use super::outcome::Reject;
use super::Settings;
use crate::diag::Code;
use crate::guide::plan::{Guide, Plan};
use crate::syntax::{Name, SyntaxError, Token};
use crate::value::text::unescape;
use std::borrow::Cow;

/// Tokenizes `line` into `tokens` and finds the guide that claims it.
///
/// # Errors
/// The [`Reject`] when no guide can map the line: it fits no grammar, or no guide claims it.
pub(super) fn select<'a>(
    plan: &Plan,
    settings: &Settings,
    line: &'a str,
    tokens: &mut Vec<Token<'a>>,
) -> Result<usize, Reject> {
    let mut tokenized: Option<usize> = None;
    let mut failure: Option<(usize, SyntaxError)> = None;
    for (index, guide) in plan.guides.iter().enumerate() {
        let forced = settings.forced_guide == Some(index);
        if settings.forced_guide.is_some() && !forced {
            continue;
        }
        if tokenized != Some(guide.grammar) {
            match plan.grammars[guide.grammar].tokenize(line, tokens) {
                Ok(()) => tokenized = Some(guide.grammar),
                Err(e) => {
                    tokenized = None;
                    // The first grammar's reason, unless a later one ran out of rule calls:
                    // the line may fit that one, which says more than another's mismatch.
                    if failure.as_ref().is_none_or(|(_, first)| e.limit && !first.limit) {
                        failure = Some((guide.grammar, e));
                    }
                    continue;
                }
            }
        }
        if forced || claims(guide, tokens) {
            return Ok(index);
        }
    }
    if tokenized.is_some() || failure.is_none() {
        return Err(match cef_identity(plan, tokens) {
            Some((vendor, product)) => Reject::new(
                Code::UnclaimedCef,
                format!("no guide claims CEF lines of vendor '{vendor}', product '{product}'"),
            ),
            None => Reject::new(Code::Unclaimed, "no guide claims this line"),
        });
    }
    let (grammar, e) = failure.unwrap_or((0, SyntaxError { column: 1, expected: String::new(), limit: false }));
    let code = if e.limit { Code::GrammarLimit } else { Code::Syntax };
    Err(Reject::new(code, format!("does not fit grammar '{}' at {e}", plan.grammars[grammar].name())))
}

/// Whether a guide claims a tokenized line: CEF lines by vendor and product, others if it
/// takes native lines.
pub(super) fn claims(guide: &Guide, tokens: &[Token<'_>]) -> bool {
    let Some((vendor_id, product_id)) = guide.claim.cef_fields else {
        return guide.claim.native;
    };
    match cef_header(tokens, vendor_id, product_id) {
        Some((vendor, product)) => guide.claim.cef.iter().any(|(v, p)| *v == vendor && *p == product),
        None => guide.claim.native,
    }
}

/// The CEF vendor and product of a line (unescaped), for the first guide's grammar.
fn cef_identity<'a>(plan: &Plan, tokens: &[Token<'a>]) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let (vendor_id, product_id) = plan.guides.first()?.claim.cef_fields?;
    cef_header(tokens, vendor_id, product_id)
}

/// The values of two grammar fields of a line, unescaped.
fn cef_header<'a>(tokens: &[Token<'a>], vendor_id: u16, product_id: u16) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    let field = |id: u16| tokens.iter().find(|t| t.name == Name::Field(id)).map(|t| unescape(t.value, t.escape));
    field(vendor_id).zip(field(product_id))
}
