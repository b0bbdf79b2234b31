//! Compiles YAML guides into a [`Plan`]: every row is checked against the data model, the
//! grammar and its own sample, and every problem in every guide is reported at once.

use super::load::GuideSource;
use super::locate::{key_position, row_lines};
use super::plan::{
    Claim, Device, Expression, Field, Generator, Guide, OnInvalid, Param, Plan, Producer, Slots, Source, Transform,
    Type,
};
use super::spec::{FromSpec, GuideSpec, ModelSpec, Part, RowSpec, TokenSpec, TransformSpec};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::syntax::Grammar;
use crate::value::check as check_value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The data model: the tokens guides may write, with their types.
pub const MODEL: &str = include_str!("../../mappings/model/xdr.yaml");

/// Compiles guides against the grammars. Either every guide compiles, or nothing does and
/// every problem found is returned.
///
/// # Errors
/// All the diagnostics of all the guides: every error, then every warning.
pub fn compile(sources: &[GuideSource], mut grammars: Vec<Box<dyn Grammar>>) -> Result<Plan, Diagnostics> {
    let model = builtin_model();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut guides: Vec<Guide> = Vec::new();
    for source in sources {
        match serde_yaml::from_str::<GuideSpec>(&source.text) {
            Ok(spec) => {
                let mut c = GuideCompiler {
                    source,
                    model: &model,
                    grammars: &mut grammars,
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

fn builtin_model() -> BTreeMap<String, TokenSpec> {
    // The model is compiled into the binary and covered by tests: it always parses.
    serde_yaml::from_str::<ModelSpec>(MODEL).map(|m| m.tokens).unwrap_or_default()
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
    model: &'a BTreeMap<String, TokenSpec>,
    grammars: &'a mut Vec<Box<dyn Grammar>>,
    problems: &'a mut Vec<Diagnostic>,
    #[cfg_attr(not(feature = "runtime-grammars"), allow(dead_code))]
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
        let mut tokens: BTreeMap<String, Type> = BTreeMap::new();
        for (name, t) in self.model.iter().chain(spec.tokens.iter()) {
            if let Some(ty) = self.token_type(name, t) {
                tokens.insert(name.clone(), ty);
            }
        }
        let mut slots = Slots { by_field: Vec::new(), by_key: HashMap::default(), names: Vec::new() };
        if let Some(g) = grammar {
            slots.by_field = vec![None; self.grammars[g].fields().len()];
        }
        let mut fields: Vec<Field> = Vec::new();
        let sections = [("fields", &spec.fields), ("internal_fields", &spec.internal_fields)];
        for (section, rows) in sections {
            let lines = row_lines(&self.source.text, section);
            for (i, row) in rows.iter().enumerate() {
                let at =
                    RowAt { path: format!("{section}[{i}]"), line: lines.get(i).copied(), row: row.source.as_deref() };
                if let Some(field) = self.row(row, &at, &tokens, grammar, &mut slots, &fields) {
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
            field_names: self.grammars[grammar?].fields().iter().map(|f| format!("@{f}")).collect(),
        })
    }

    fn grammar(&mut self, name: &str) -> Option<usize> {
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
    #[cfg(feature = "runtime-grammars")]
    fn grammar_file(&mut self, name: &str) -> Option<usize> {
        use crate::syntax::runtime::{grammar_path, PestFile};
        let path = grammar_path(&self.source.file, name);
        let key = path.to_string_lossy().into_owned();
        if let Some(found) = self.grammars.iter().position(|g| g.name() == key) {
            return Some(found);
        }
        let (grammar, problems) = PestFile::load(&path);
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

    #[cfg(not(feature = "runtime-grammars"))]
    fn grammar_file(&mut self, name: &str) -> Option<usize> {
        let d = Diagnostic::new(Code::UnknownGrammar, format!("grammar file '{name}' cannot be loaded"))
            .in_file(&self.source.file)
            .path("match.grammar")
            .hint("this xdrmap was built without the `runtime-grammars` feature");
        self.problems.push(d);
        None
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

    fn claim(&mut self, spec: &GuideSpec, grammar: Option<usize>) -> Claim {
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

    fn row(
        &mut self,
        row: &RowSpec,
        at: &RowAt,
        tokens: &BTreeMap<String, Type>,
        grammar: Option<usize>,
        slots: &mut Slots,
        earlier: &[Field],
    ) -> Option<Field> {
        let before = self.problems.len();
        let model_type = tokens.get(&row.token);
        if model_type.is_none() {
            let d = self.problem(Code::UnknownToken, format!("unknown token '{}'", row.token), at, "token");
            match did_you_mean(&row.token, tokens.keys().map(String::as_str)) {
                Some(best) => d.hint = Some(format!("did you mean '{best}'?")),
                None => {
                    d.hint = Some(
                        "declare it under `tokens:` with its type, or use a token of mappings/model/xdr.yaml".into(),
                    )
                }
            }
        }
        if earlier.iter().any(|f| f.token == row.token) {
            self.problem(
                Code::DuplicateToken,
                format!("token '{}' is written by an earlier row", row.token),
                at,
                "token",
            )
            .hint = Some("merge the rows: list every key in one row's `from`".into());
        }
        let ty = match (&row.ty, model_type) {
            (Some(name), model) => {
                let values = match model {
                    Some(Type::Enum(v)) => v.clone(),
                    _ => Vec::new(),
                };
                match parse_type(name, &values) {
                    Ok(ty) => {
                        if let Some(m) = model.filter(|m| m.name() != ty.name()) {
                            self.problem(
                                Code::TypeMismatch,
                                format!(
                                    "row says type '{}' but token '{}' has type '{}'",
                                    ty.name(),
                                    row.token,
                                    m.name()
                                ),
                                at,
                                "type",
                            )
                            .hint = Some(format!("use `type: {}` or leave the type out", m.name()));
                        }
                        Some(ty)
                    }
                    Err(mut d) => {
                        d.location.path = Some(format!("{}.type", at.path));
                        let p = self.problem(d.code, d.message, at, "type");
                        p.hint = d.hint;
                        None
                    }
                }
            }
            (None, model) => model.cloned(),
        };
        // An unknown type stops here: checks that depend on it would only repeat the problem.
        let ty = ty?;
        let on_invalid = match row.on_invalid.as_deref() {
            None | Some("flag") => OnInvalid::Flag,
            Some("skip") => OnInvalid::Skip,
            Some(other) => {
                self.problem(Code::BadOption, format!("unknown on_invalid '{other}'"), at, "on_invalid").hint =
                    Some("use `flag` (record the problem in the event) or `skip`".into());
                OnInvalid::Flag
            }
        };
        let producer = self.producer(row, at, &ty, grammar, slots, earlier);
        if let Some(sample) = row.sample.as_ref().and_then(super::spec::scalar) {
            if let Err(why) = check_value(&sample, &ty) {
                self.problem(
                    Code::BadSample,
                    format!("sample '{sample}' is not a valid {}: {why}", ty.name()),
                    at,
                    "sample",
                )
                .hint = Some("fix the sample or the row's type".into());
            }
        }
        if self.problems.len() > before {
            return None;
        }
        let mut json_key = Vec::new();
        crate::output::write_str(&mut json_key, &row.token);
        json_key.push(b':');
        Some(Field {
            token: row.token.clone(),
            json_key: json_key.into(),
            source: row.source.clone(),
            ty,
            producer: producer?,
            on_invalid,
        })
    }

    fn producer(
        &mut self,
        row: &RowSpec,
        at: &RowAt,
        ty: &Type,
        grammar: Option<usize>,
        slots: &mut Slots,
        earlier: &[Field],
    ) -> Option<Producer> {
        let given: Vec<&str> = [
            row.from.as_ref().map(|_| "from"),
            row.constant.as_ref().map(|_| "const"),
            row.param.as_ref().map(|_| "param"),
            row.generate.as_ref().map(|_| "generate"),
            row.expr.as_ref().map(|_| "expr"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() != 1 {
            let message = if given.is_empty() {
                format!("row for '{}' does not say where its value comes from", row.token)
            } else {
                format!("row for '{}' has {}; it needs exactly one", row.token, given.join(" and "))
            };
            self.problem(Code::ValueSource, message, at, "token").hint =
                Some("give one of `from`, `const`, `param`, `generate`, `expr`".into());
            return None;
        }
        if row.transform.is_some() && row.from.is_none() {
            self.problem(Code::Transform, "a transform applies to `from` sources only".into(), at, "transform");
            return None;
        }
        if let Some(from) = &row.from {
            return self.sources(row, from, at, ty, grammar, slots).map(Producer::Sources);
        }
        if let Some(value) = &row.constant {
            if let Err(why) = check_value(value, ty) {
                self.problem(
                    Code::BadSample,
                    format!("constant '{value}' is not a valid {}: {why}", ty.name()),
                    at,
                    "const",
                );
            }
            return Some(Producer::Const(value.clone()));
        }
        if let Some(name) = &row.param {
            let found = Param::ALL.iter().find(|(n, _)| n == name).map(|(_, p)| *p);
            if found.is_none() {
                let names: Vec<&str> = Param::ALL.iter().map(|(n, _)| *n).collect();
                self.problem(Code::UnknownParam, format!("unknown parameter '{name}'"), at, "param").hint =
                    Some(hint_from(name, &names));
            }
            return found.map(Producer::Param);
        }
        if let Some(name) = &row.generate {
            let found = Generator::ALL.iter().find(|(n, _)| n == name).map(|(_, g)| *g);
            match found {
                None => {
                    let names: Vec<&str> = Generator::ALL.iter().map(|(n, _)| *n).collect();
                    self.problem(Code::UnknownGenerator, format!("unknown generator '{name}'"), at, "generate").hint =
                        Some(hint_from(name, &names));
                }
                Some(Generator::ReceivedTime) if *ty != Type::Timestamp => {
                    self.problem(
                        Code::TypeMismatch,
                        "generate: received_time gives a timestamp; the row needs `type: timestamp`".into(),
                        at,
                        "generate",
                    );
                }
                Some(Generator::Uuid) if !matches!(ty, Type::String) => {
                    self.problem(
                        Code::TypeMismatch,
                        "generate: uuid gives a string; the row needs `type: string`".into(),
                        at,
                        "generate",
                    );
                }
                Some(_) => {}
            }
            return found.map(Producer::Generate);
        }
        let source = row.expr.as_deref().unwrap_or_default();
        self.expression(source, at, earlier).map(Producer::Expr)
    }

    fn sources(
        &mut self,
        row: &RowSpec,
        from: &[FromSpec],
        at: &RowAt,
        ty: &Type,
        grammar: Option<usize>,
        slots: &mut Slots,
    ) -> Option<Vec<Source>> {
        if from.is_empty() {
            self.problem(Code::ValueSource, "`from` lists no source".into(), at, "from");
            return None;
        }
        let mut out = Vec::new();
        for item in from {
            let transform = match item {
                FromSpec::WithTransform { transform, .. } => Some(transform),
                FromSpec::Key(_) => row.transform.as_ref(),
            };
            let transform = transform.and_then(|t| self.transform(t, ty, at));
            let key = item.key();
            if key.is_empty() || key == "@" {
                self.problem(Code::ValueSource, "`from` lists an empty key, which no line can have".into(), at, "from");
                continue;
            }
            let slot = match key.strip_prefix('@') {
                Some(field) => self.grammar_slot(field, at, grammar, slots),
                None if grammar.is_some_and(|g| !self.grammars[g].has_keys()) => {
                    let name = grammar.map(|g| self.grammars[g].name().to_string()).unwrap_or_default();
                    self.problem(
                        Code::UnknownGrammarField,
                        format!("grammar '{name}' has no `key` rule, so the key '{key}' can never be read"),
                        at,
                        "from",
                    )
                    .hint = Some("read a field the grammar names (`@rule`), or add `key`/`value` rules".into());
                    None
                }
                None => Some(key_slot(key, slots)),
            };
            if let Some(slot) = slot {
                out.push(Source { slot, transform });
            }
        }
        Some(out)
    }

    fn grammar_slot(&mut self, field: &str, at: &RowAt, grammar: Option<usize>, slots: &mut Slots) -> Option<u16> {
        let g = grammar?;
        let found = self.grammars[g].fields().iter().position(|f| *f == field);
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
                None => format!("its fields are: @{}", fields.join(", @")),
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

    fn transform(&mut self, spec: &TransformSpec, ty: &Type, at: &RowAt) -> Option<Transform> {
        let wrong =
            |part: Part, wanted: &[(Part, Type)]| wanted.iter().find(|(p, _)| *p == part).map(|(_, t)| t.clone());
        let t = match spec {
            TransformSpec::SplitIpPort(part) => {
                let expected = wrong(*part, &[(Part::Ip, Type::Ip), (Part::Port, Type::Port)]);
                if expected.as_ref() != Some(ty) {
                    let message = match expected {
                        Some(e) => format!(
                            "split_ip_port: {} gives type '{}', but the row's type is '{}'",
                            part_name(*part),
                            e.name(),
                            ty.name()
                        ),
                        None => format!("split_ip_port takes `ip` or `port`, not `{}`", part_name(*part)),
                    };
                    self.problem(Code::Transform, message, at, "transform");
                    return None;
                }
                Transform::SplitIpPort(*part)
            }
            TransformSpec::SplitStatus(part) => {
                if !matches!(part, Part::Outcome | Part::Reason) {
                    self.problem(
                        Code::Transform,
                        format!("split_status takes `outcome` or `reason`, not `{}`", part_name(*part)),
                        at,
                        "transform",
                    );
                    return None;
                }
                Transform::SplitStatus(*part)
            }
            TransformSpec::Map(pairs) => {
                if let Type::Enum(values) = ty {
                    for out in pairs.values() {
                        if !values.contains(out) {
                            self.problem(
                                Code::Transform,
                                format!("map gives '{out}', which is not one of the token's values"),
                                at,
                                "transform",
                            )
                            .hint = Some(format!("values: {}", values.join(", ")));
                        }
                    }
                }
                Transform::Map(pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            }
            TransformSpec::SyslogSeverity => Transform::SyslogSeverity,
            TransformSpec::Before(sep) => Transform::Before(sep.clone()),
            TransformSpec::After(sep) => Transform::After(sep.clone()),
        };
        Some(t)
    }

    fn expression(&mut self, source: &str, at: &RowAt, earlier: &[Field]) -> Option<Expression> {
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

/// The environment every expression is compiled in: strict about undefined values.
///
/// minijinja expressions borrow their environment; the environment is created once per
/// process and lives as long as it (plans compiled later, e.g. on reload, share it).
fn expression_env() -> &'static minijinja::Environment<'static> {
    static ENV: once_cell::sync::Lazy<minijinja::Environment<'static>> = once_cell::sync::Lazy::new(|| {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env
    });
    &ENV
}

fn key_slot(key: &str, slots: &mut Slots) -> u16 {
    if let Some(slot) = slots.by_key.get(key) {
        return *slot;
    }
    let slot = slots.names.len() as u16;
    slots.names.push(key.to_string());
    slots.by_key.insert(key.into(), slot);
    slot
}

fn part_name(part: Part) -> &'static str {
    match part {
        Part::Ip => "ip",
        Part::Port => "port",
        Part::Outcome => "outcome",
        Part::Reason => "reason",
    }
}

fn hint_from(name: &str, names: &[&str]) -> String {
    match did_you_mean(name, names.iter().copied()) {
        Some(best) => format!("did you mean '{best}'?"),
        None => format!("known: {}", names.join(", ")),
    }
}

/// The first `key:` anywhere in the text (block or flow style).
fn top_key_position(text: &str, key: &str) -> Option<(usize, usize)> {
    let pattern = format!("{key}:");
    text.lines().enumerate().find_map(|(i, line)| line.find(&pattern).map(|col| (i + 1, col + 1)))
}

fn parse_type(name: &str, values: &[String]) -> Result<Type, Diagnostic> {
    Type::from_name(name, values).ok_or_else(|| {
        Diagnostic::new(Code::UnknownType, format!("unknown type '{name}'")).hint(hint_from(name, &Type::NAMES))
    })
}
