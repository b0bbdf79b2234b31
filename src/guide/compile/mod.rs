//! Compiles YAML guides into a [`Plan`]: every row is checked against the data model, the
//! grammar and its own sample, and every problem in every guide is reported at once. One
//! file per job: the guide and its tokens here, `grammar` (which grammar, its fields, what
//! the guide claims), `rows` (each row's type and value source), `transform`, `expr`.

mod expr;
mod grammar;
mod rows;
mod transform;

use rows::RowContext;

use super::load::GuideSource;
use super::locate::{key_position, row_lines};
use super::plan::{Device, Field, Guide, Plan, Producer, Slots};
use super::spec::{GuideSpec, TokenSpec};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::limits::Limits;
use crate::model::Model;
use crate::syntax::{transport, Grammar};
use crate::value::Type;
use std::collections::BTreeMap;
use std::path::Path;

/// Compiles guides against the grammars. Either every guide compiles, or nothing does and
/// every problem found is returned.
///
/// # Errors
/// All the diagnostics of all the guides: every error, then every warning.
pub fn compile(sources: &[GuideSource], grammars: Vec<Box<dyn Grammar>>) -> Result<Plan, Diagnostics> {
    compile_with(sources, grammars, &Limits::default())
}

/// [`compile`] within `limits` instead of the defaults (`--limit`).
///
/// # Errors
/// All the diagnostics of all the guides: every error, then every warning.
pub fn compile_with(
    sources: &[GuideSource],
    mut grammars: Vec<Box<dyn Grammar>>,
    limits: &Limits,
) -> Result<Plan, Diagnostics> {
    let model = Model::builtin();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut guides: Vec<Guide> = Vec::new();
    for source in sources {
        if let Some(d) = super::limits::check(&source.text, limits) {
            problems.push(d.in_file(&source.file));
            continue;
        }
        match serde_yaml::from_str::<GuideSpec>(&source.text) {
            Ok(spec) => {
                let mut c = GuideCompiler {
                    source,
                    model,
                    grammars: &mut grammars,
                    limits,
                    problems: &mut problems,
                    warnings: &mut warnings,
                };
                if let Some(guide) = c.guide(spec) {
                    if let Some(first) = guides.iter().find(|g| g.name == guide.name) {
                        let d = Diagnostic::new(Code::DuplicateGuide, format!("two guides are named '{}'", guide.name))
                            .in_file(&source.file)
                            .hint(format!("the other is {}; names must be unique for --guide", first.file.display()));
                        problems.push(d);
                    }
                    guides.push(guide);
                }
            }
            Err(e) => problems.push(yaml_error(&source.file, &e)),
        }
    }
    if problems.is_empty() {
        Ok(Plan { grammars, guides, warnings })
    } else {
        // The warnings travel with the errors: a guide author fixing one should see both.
        problems.append(&mut warnings);
        Err(Diagnostics(problems))
    }
}

fn yaml_error(file: &Path, e: &serde_yaml::Error) -> Diagnostic {
    let message = e.to_string();
    // serde_yaml appends " at line L column C"; the location is shown separately.
    let message = message.split(" at line ").next().unwrap_or(&message).to_string();
    let mut d = Diagnostic::new(Code::Yaml, message).in_file(file);
    if let Some(loc) = e.location() {
        d = d.at(loc.line(), loc.column());
    }
    d.hint("see mappings/citrix_loadbalancer/guide.yaml for the shape of a guide")
}

struct GuideCompiler<'a> {
    source: &'a GuideSource,
    model: &'a Model,
    grammars: &'a mut Vec<Box<dyn Grammar>>,
    limits: &'a Limits,
    problems: &'a mut Vec<Diagnostic>,
    warnings: &'a mut Vec<Diagnostic>,
}

/// Where a row stands, for its diagnostics.
struct RowAt<'r> {
    path: String,
    line: Option<usize>,
    row: Option<&'r str>,
}

impl GuideCompiler<'_> {
    fn guide(&mut self, spec: GuideSpec) -> Option<Guide> {
        let before = self.problems.len();
        let grammar = self.grammar(&spec.matcher.grammar);
        // The model's tokens, and the guide's own (which may redefine one).
        let mut tokens: BTreeMap<String, Type> =
            self.model.tokens().map(|(name, def)| (name.to_string(), def.ty.clone())).collect();
        for (name, t) in &spec.tokens {
            if let Some(ty) = self.token_type(name, t) {
                tokens.insert(name.clone(), ty);
            }
        }
        let mut slots = Slots { by_field: Vec::new(), by_key: Default::default(), names: Vec::new() };
        if let Some(g) = grammar {
            slots.by_field = vec![None; self.grammars[g].fields().len() + transport::FIELDS.len()];
        }
        let mut fields: Vec<Field> = Vec::new();
        let sections = [("fields", &spec.fields), ("internal_fields", &spec.internal_fields)];
        for (section, rows) in sections {
            let lines = row_lines(&self.source.text, section);
            for (i, row) in rows.iter().enumerate() {
                let at =
                    RowAt { path: format!("{section}[{i}]"), line: lines.get(i).copied(), row: row.source.as_deref() };
                let cx = RowContext { tokens: &tokens, grammar, slots: &mut slots, earlier: &fields };
                if let Some(field) = self.row(row, &at, cx) {
                    fields.push(field);
                }
            }
        }
        let claim = self.claim(&spec, grammar);
        let options = &spec.options;
        for name in [&options.unmapped_field, &options.errors_field] {
            if tokens.contains_key(name) {
                let d = Diagnostic::new(
                    Code::NameCollision,
                    format!("'{name}' is a token and cannot name an extra object"),
                )
                .in_file(&self.source.file)
                .path("options")
                .hint("choose a name no token has, e.g. starting with '_'");
                self.problems.push(d);
            }
        }
        if self.problems.len() > before {
            return None;
        }
        let has_expressions = fields.iter().any(|f| matches!(f.producer, Producer::Expr(_)));
        let device_slots = match fields.iter().find(|f| f.token == "deviceName").map(|f| &f.producer) {
            Some(Producer::Sources(sources)) => sources.iter().map(|s| s.slot).collect(),
            _ => Vec::new(),
        };
        let field_names: Vec<String> =
            self.grammars[grammar?].fields().iter().chain(&transport::FIELDS).map(|f| format!("@{f}")).collect();
        Some(Guide {
            name: spec.guide,
            title: spec.title,
            file: self.source.file.clone(),
            device: Device {
                device_type: spec.device.device_type,
                vendor: spec.device.vendor,
                product: spec.device.product,
                model: spec.device.model,
                supported_versions: spec.device.supported_versions,
                formats: spec.device.formats,
            },
            grammar: grammar?,
            claim,
            slots,
            fields,
            unmapped_field: options.keep_unmapped.then(|| options.unmapped_field.clone()),
            errors_field: options.errors_field.clone(),
            has_expressions,
            device_slots,
            field_keys: field_names.iter().map(|name| crate::output::json_key(name)).collect(),
            field_names,
        })
    }

    fn token_type(&mut self, name: &str, spec: &TokenSpec) -> Option<Type> {
        match parse_type(&spec.ty, &spec.values) {
            Ok(ty) => Some(ty),
            Err(d) => {
                self.problems.push(d.in_file(&self.source.file).path(format!("tokens.{name}.type")));
                None
            }
        }
    }

    fn problem(&mut self, code: Code, message: String, at: &RowAt, key: &str) -> &mut Diagnostic {
        let mut d =
            Diagnostic::new(code, message).in_file(&self.source.file).path(format!("{}.{key}", at.path)).row(at.row);
        if let Some(line) = at.line {
            let (line, col) = key_position(&self.source.text, line, key).unwrap_or((line, 1));
            d = d.at(line, col);
        }
        self.problems.push(d);
        self.problems.last_mut().expect("just pushed")
    }
}

fn hint_from(name: &str, names: &[&str]) -> String {
    match did_you_mean(name, names.iter().copied()) {
        Some(best) => format!("did you mean '{best}'?"),
        None => format!("known: {}", names.join(", ")),
    }
}

fn parse_type(name: &str, values: &[String]) -> Result<Type, Diagnostic> {
    Type::from_name(name, values).ok_or_else(|| {
        Diagnostic::new(Code::UnknownType, format!("unknown type '{name}'")).hint(hint_from(name, &Type::NAMES))
    })
}
