//! Which grammar a guide reads its lines with (built in, or its own `.pest` file), the
//! fields that grammar names, and which lines the guide claims.

use super::{GuideCompiler, RowAt};
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::guide::plan::{Claim, Slots};
use crate::guide::spec::GuideSpec;
use crate::syntax::transport;

impl GuideCompiler<'_> {
    pub(super) fn grammar(&mut self, name: &str) -> Option<usize> {
        if name.ends_with(".pest") {
            return self.grammar_file(name);
        }
        let found = self.grammars.iter().position(|g| g.name() == name);
        if found.is_none() {
            let names: Vec<&str> = self.grammars.iter().map(|g| g.name()).collect();
            let mut d = Diagnostic::new(Code::UnknownGrammar, format!("unknown grammar '{name}'"))
                .in_file(&self.source.file)
                .path("match.grammar");
            if let Some((line, col)) = top_key_position(&self.source.text, "grammar") {
                d = d.at(line, col);
            }
            self.problems.push(d.hint(format!("known grammars: {}", names.join(", "))));
        }
        found
    }

    /// Loads a guide's own `.pest` grammar (once per file), reporting its problems here.
    pub(super) fn grammar_file(&mut self, name: &str) -> Option<usize> {
        use crate::syntax::pest_file::{check_grammar_place, grammar_path, PestFile};
        let path = grammar_path(&self.source.file, name);
        let key = path.to_string_lossy().into_owned();
        if let Some(found) = self.grammars.iter().position(|g| g.name() == key) {
            return Some(found);
        }
        // Built-in guides name no files; a guide from disk reads only where it may.
        if !self.source.file.starts_with("<built-in>") {
            if let Err(why) = check_grammar_place(&self.source.file, &path) {
                let d = Diagnostic::new(Code::Grammar, why).in_file(&self.source.file).path("match.grammar");
                let d = match top_key_position(&self.source.text, "grammar") {
                    Some((line, col)) => d.at(line, col),
                    None => d,
                };
                self.problems
                    .push(d.hint("keep the grammar beside the guide, or in the grammar/ folder beside mappings/"));
                return None;
            }
        }
        let (grammar, problems) = PestFile::load(&path, self.limits);
        for p in problems {
            let code = if p.warning { Code::PegSwallow } else { Code::Grammar };
            let mut d = Diagnostic::new(code, p.message).in_file(&path);
            if p.line > 0 {
                d = d.at(p.line, p.column);
            }
            if p.warning {
                self.warnings.push(d);
            } else {
                self.problems.push(d.path("match.grammar"));
            }
        }
        let grammar = grammar?;
        self.grammars.push(Box::new(grammar));
        Some(self.grammars.len() - 1)
    }

    pub(super) fn claim(&mut self, spec: &GuideSpec, grammar: Option<usize>) -> Claim {
        let cef: Vec<(String, String)> =
            spec.matcher.cef.iter().map(|c| (c.vendor.clone(), c.product.clone())).collect();
        let mut cef_fields = None;
        if let Some(g) = grammar {
            let fields = self.grammars[g].fields();
            let find = |name: &str| fields.iter().position(|f| *f == name).map(|i| i as u16);
            cef_fields = find("cef_vendor").zip(find("cef_product"));
            if !cef.is_empty() && cef_fields.is_none() {
                let d = Diagnostic::new(
                    Code::UnknownGrammarField,
                    format!(
                        "grammar '{}' has no @cef_vendor/@cef_product fields to match CEF lines on",
                        spec.matcher.grammar
                    ),
                )
                .in_file(&self.source.file)
                .path("match.cef");
                self.problems.push(d);
            }
        }
        Claim { native: spec.matcher.native, cef, cef_fields }
    }

    pub(super) fn grammar_slot(
        &mut self,
        field: &str,
        at: &RowAt,
        grammar: Option<usize>,
        slots: &mut Slots,
    ) -> Option<u16> {
        let g = grammar?;
        // A transport field comes before the grammar's: a line cannot forge its sender.
        let grammar_fields = self.grammars[g].fields().len();
        let found = match transport::field(field) {
            Some(k) => Some(grammar_fields + k),
            None => self.grammars[g].fields().iter().position(|f| *f == field),
        };
        let Some(id) = found else {
            let fields: Vec<String> = self.grammars[g].fields().iter().map(|f| f.to_string()).collect();
            let name = self.grammars[g].name().to_string();
            let d = self.problem(
                Code::UnknownGrammarField,
                format!("grammar '{name}' never produces @{field}"),
                at,
                "from",
            );
            d.hint = Some(match did_you_mean(field, fields.iter().map(String::as_str)) {
                Some(best) => format!("did you mean '@{best}'?"),
                None => format!(
                    "its fields are: @{}; the transport's: @{}",
                    fields.join(", @"),
                    transport::FIELDS.join(", @")
                ),
            });
            return None;
        };
        if let Some(slot) = slots.by_field[id] {
            return Some(slot);
        }
        let slot = slots.names.len() as u16;
        slots.names.push(format!("@{field}"));
        slots.by_field[id] = Some(slot);
        Some(slot)
    }
}

/// The first `key:` anywhere in the text (block or flow style).
fn top_key_position(text: &str, key: &str) -> Option<(usize, usize)> {
    let pattern = format!("{key}:");
    text.lines().enumerate().find_map(|(i, line)| line.find(&pattern).map(|col| (i + 1, col + 1)))
}
