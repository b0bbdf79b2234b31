//! `Mapper::explain`: how one line travels through the plan (its tokens with their spans,
//! the row each token fed, the fields written, the errors), as data for `xdrmap explain`.

use super::mapper::{csv_field, unmapped_name, Mapper, Traced};
use super::select::select;
use crate::guide::plan::{Guide, Producer, Transform};
use crate::syntax::Token;
use crate::value::text::unescape;
use chrono::{DateTime, Utc};

/// How one line travelled through the plan (see [`super::Mapper::explain`]).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Explanation {
    /// The guide that mapped the line.
    pub guide: Option<String>,
    /// The grammar that tokenized it.
    pub grammar: Option<String>,
    /// Why no event was made, when none was.
    pub rejected: Option<String>,
    /// The code of the rejection (`R3xx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_code: Option<String>,
    /// The line inside, when the line is one field of a CSV export: the tokens' spans count
    /// in this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unwrapped: Option<String>,
    /// The line's tokens, in line order.
    pub tokens: Vec<ExplainedToken>,
    /// The fields written, in output order.
    pub fields: Vec<ExplainedField>,
    /// The fields that failed their type.
    pub errors: Vec<ExplainedError>,
    /// The event, as `map` writes it.
    pub event: Option<String>,
}

/// A token of the line.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExplainedToken {
    /// The device's key, or `@field` for a field the grammar names.
    pub name: String,
    /// The value, unescaped.
    pub value: String,
    /// Byte span of the value in the line.
    pub start: usize,
    /// Where the value ends.
    pub end: usize,
    /// Tokens of the guide whose rows list this source.
    pub read_by: Vec<String>,
    /// Tokens of the guide that took their value from it.
    pub used_by: Vec<String>,
    /// Kept under the unmapped object (no row reads it, or a repeated key).
    pub unmapped: bool,
}

/// A field written to the event.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExplainedField {
    /// The token written.
    pub token: String,
    /// The source it came from (`Source`, `@timestamp`) or how it was made (`const`, ...).
    pub source: Option<String>,
    /// The type, and the transform applied first.
    pub converter: String,
    /// The value as JSON.
    pub value: String,
}

/// A field that failed its type.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExplainedError {
    /// The token the field would have written.
    pub token: String,
    /// The source it read.
    pub source: String,
    /// The value, as the device wrote it.
    pub value: String,
    /// The field-error code (`F4xx`).
    pub code: String,
    /// Why it failed.
    pub error: String,
}

impl Mapper<'_> {
    /// Maps one line and says how it travelled: its tokens with their spans, the row each
    /// token fed, the keys no row maps, and the fields that failed their type. A line of a
    /// CSV export is explained as the line inside, as [`Mapper::map`] maps it.
    pub fn explain(&mut self, line: &str, received: DateTime<Utc>) -> Explanation {
        let explained = self.explain_as_is(line, received);
        if explained.rejected_code.as_deref() != Some("R301") {
            return explained;
        }
        let Some(inner) = csv_field(line) else { return explained };
        let inside = self.explain_as_is(&inner, received);
        match inside.rejected {
            None => Explanation { unwrapped: Some(inner), ..inside },
            Some(_) => explained,
        }
    }

    /// [`Mapper::explain`] on the line as it is.
    fn explain_as_is(&mut self, line: &str, received: DateTime<Utc>) -> Explanation {
        let mut tokens: Vec<Token<'_>> = Vec::new();
        let guide_index = match select(self.plan, self.settings, line, &mut tokens) {
            Ok(g) => g,
            Err(reject) => {
                return Explanation {
                    rejected: Some(reject.detail),
                    rejected_code: Some(reject.code.to_string()),
                    ..Explanation::default()
                };
            }
        };
        let guide = &self.plan.guides[guide_index];
        self.trace = Some(Vec::new());
        let mut event = Vec::new();
        self.write_event(guide_index, &tokens, received, &mut event);
        let trace = self.trace.take().unwrap_or_default();
        let mut explained = self.explained_tokens(guide, &tokens);
        let fields = self.explained_fields(guide, trace, &mut explained);
        let errors = self
            .record
            .errors
            .iter()
            .map(|e| ExplainedError {
                token: guide.fields[e.token].token.clone(),
                source: e.source.clone(),
                value: e.value.clone(),
                code: e.code.to_string(),
                error: e.reason.to_string(),
            })
            .collect();
        Explanation {
            guide: Some(guide.name.clone()),
            grammar: Some(self.plan.grammars[guide.grammar].name().to_string()),
            rejected: None,
            rejected_code: None,
            unwrapped: None,
            tokens: explained,
            fields,
            errors,
            event: Some(String::from_utf8_lossy(&event).trim_end().to_string()),
        }
    }

    /// The token in slot `slot` of the line just mapped.
    fn token_of_slot(&self, slot: u16) -> Option<u32> {
        self.record.slots.get(slot as usize).copied().flatten()
    }

    /// The line's tokens, each with the rows that list it as a source.
    fn explained_tokens(&self, guide: &Guide, tokens: &[Token<'_>]) -> Vec<ExplainedToken> {
        let mut is_unmapped = vec![false; tokens.len()];
        for &i in &self.record.unmapped {
            is_unmapped[i as usize] = true;
        }
        let mut explained: Vec<ExplainedToken> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| ExplainedToken {
                name: unmapped_name(t, guide).to_string(),
                value: unescape(t.value, t.escape).into_owned(),
                start: t.start,
                end: t.start + t.value.len(),
                read_by: Vec::new(),
                used_by: Vec::new(),
                unmapped: is_unmapped[i],
            })
            .collect();
        for field in &guide.fields {
            let Producer::Sources(sources) = &field.producer else { continue };
            for t in sources.iter().filter_map(|source| self.token_of_slot(source.slot)) {
                explained[t as usize].read_by.push(field.token.clone());
            }
        }
        explained
    }

    /// The fields written, from the trace of the mapping; marks the token each one used.
    fn explained_fields(
        &self,
        guide: &Guide,
        trace: Vec<Traced>,
        tokens: &mut [ExplainedToken],
    ) -> Vec<ExplainedField> {
        let mut fields = Vec::new();
        for (index, slot, year_slot, rendered) in trace {
            let field = &guide.fields[index];
            for t in [slot, year_slot].into_iter().flatten().filter_map(|s| self.token_of_slot(s)) {
                tokens[t as usize].used_by.push(field.token.clone());
            }
            if rendered.is_empty() {
                continue;
            }
            let transform = match (&field.producer, slot) {
                (Producer::Sources(sources), Some(slot)) => {
                    sources.iter().find(|s| s.slot == slot).and_then(|s| s.transform.as_ref()).map(Transform::describe)
                }
                _ => None,
            };
            let source = slot.map(|s| guide.slots.names[s as usize].clone());
            fields.push(ExplainedField {
                token: field.token.clone(),
                source: source.or_else(|| Some(field.producer.describe())),
                converter: match transform {
                    Some(t) => format!("{} ← {t}", field.ty.name()),
                    None => field.ty.name().to_string(),
                },
                value: String::from_utf8_lossy(&rendered).into_owned(),
            });
        }
        fields
    }
}
