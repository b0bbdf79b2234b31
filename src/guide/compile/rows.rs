//! One row of a guide's tables: its token and type, and where its value comes from (the
//! line's sources, a constant, a parameter, a generator or an expression).

use super::{hint_from, parse_type, GuideCompiler, RowAt};
use crate::diag::{did_you_mean, Code};
use crate::guide::plan::{Field, Generator, OnInvalid, Param, Producer, Slots, Source};
use crate::guide::spec::{FromSpec, RowSpec};
use crate::value::{check as check_value, Type};
use std::collections::BTreeMap;

/// What a row reads and writes against: the tokens it may write, the guide's grammar, the
/// slots found so far and the rows before it.
pub(super) struct RowContext<'c> {
    pub tokens: &'c BTreeMap<String, Type>,
    pub grammar: Option<usize>,
    pub slots: &'c mut Slots,
    pub earlier: &'c [Field],
}

impl GuideCompiler<'_> {
    /// Compiles one row into a field; `None` (with its problems recorded) when it is wrong.
    pub(super) fn row(&mut self, row: &RowSpec, at: &RowAt, cx: RowContext<'_>) -> Option<Field> {
        let before = self.problems.len();
        self.check_token(row, at, cx.tokens, cx.earlier);
        // An unknown type stops here: checks that depend on it would only repeat the problem.
        let ty = self.row_type(row, at, cx.tokens.get(&row.token))?;
        let on_invalid = self.on_invalid(row, at);
        let year_slots = self.year_slots(row, at, &ty, cx.grammar, cx.slots);
        let producer = self.producer(row, at, &ty, cx);
        self.check_sample(row, at, &ty);
        if self.problems.len() > before {
            return None;
        }
        Some(Field {
            token: row.token.clone(),
            json_key: crate::output::json_key(&row.token),
            source: row.source.clone(),
            ty,
            producer: producer?,
            on_invalid,
            year_slots,
        })
    }

    /// The slots of a timestamp row's `year_from` keys.
    fn year_slots(
        &mut self,
        row: &RowSpec,
        at: &RowAt,
        ty: &Type,
        grammar: Option<usize>,
        slots: &mut Slots,
    ) -> Vec<u16> {
        let Some(keys) = &row.year_from else { return Vec::new() };
        if *ty != Type::Timestamp {
            self.problem(Code::BadOption, "`year_from` applies to timestamp rows only".into(), at, "year_from");
            return Vec::new();
        }
        let mut found = Vec::new();
        for key in keys {
            let slot = match key.strip_prefix('@') {
                Some(field) => self.grammar_slot(field, at, grammar, slots),
                None => Some(key_slot(key, slots)),
            };
            found.extend(slot);
        }
        found
    }

    /// The token must be known, and written by no earlier row.
    fn check_token(&mut self, row: &RowSpec, at: &RowAt, tokens: &BTreeMap<String, Type>, earlier: &[Field]) {
        if !tokens.contains_key(&row.token) {
            let d = self.problem(Code::UnknownToken, format!("unknown token '{}'", row.token), at, "token");
            d.hint = Some(match did_you_mean(&row.token, tokens.keys().map(String::as_str)) {
                Some(best) => format!("did you mean '{best}'?"),
                None => "declare it under `tokens:` with its type, or use a token of mappings/model/xdr.yaml".into(),
            });
        }
        if earlier.iter().any(|f| f.token == row.token) {
            let message = format!("token '{}' is written by an earlier row", row.token);
            self.problem(Code::DuplicateToken, message, at, "token").hint =
                Some("merge the rows: list every key in one row's `from`".into());
        }
    }

    /// The row's type: its own `type`, which must agree with the token's, or the token's.
    fn row_type(&mut self, row: &RowSpec, at: &RowAt, model: Option<&Type>) -> Option<Type> {
        let Some(name) = &row.ty else {
            return model.cloned();
        };
        let values = match model {
            Some(Type::Enum(v)) => v.clone(),
            _ => Vec::new(),
        };
        let ty = match parse_type(name, &values) {
            Ok(ty) => ty,
            Err(d) => {
                self.problem(d.code, d.message, at, "type").hint = d.hint;
                return None;
            }
        };
        if let Some(m) = model.filter(|m| m.name() != ty.name()) {
            let message = format!("row says type '{}' but token '{}' has type '{}'", ty.name(), row.token, m.name());
            let mut hint = format!("use `type: {}` or leave the type out", m.name());
            if let (Type::Ip, Type::Ipv4 | Type::Ipv6) = (&ty, m) {
                hint.push_str(&family_hint(&row.token, m));
            }
            self.problem(Code::TypeMismatch, message, at, "type").hint = Some(hint);
        }
        Some(ty)
    }

    fn on_invalid(&mut self, row: &RowSpec, at: &RowAt) -> OnInvalid {
        match row.on_invalid.as_deref() {
            None | Some("flag") => OnInvalid::Flag,
            Some("skip") => OnInvalid::Skip,
            Some(other) => {
                self.problem(Code::BadOption, format!("unknown on_invalid '{other}'"), at, "on_invalid").hint =
                    Some("use `flag` (record the problem in the event) or `skip`".into());
                OnInvalid::Flag
            }
        }
    }

    /// The vendor's sample value must pass the row's type.
    fn check_sample(&mut self, row: &RowSpec, at: &RowAt, ty: &Type) {
        let Some(sample) = row.sample.as_ref().and_then(crate::guide::spec::scalar) else { return };
        if let Err(why) = check_value(&sample, ty) {
            let message = format!("sample '{sample}' is not a valid {}: {why}", ty.name());
            self.problem(Code::BadSample, message, at, "sample").hint = Some("fix the sample or the row's type".into());
        }
    }

    /// Where the row's value comes from: exactly one of `from`, `const`, `param`, `generate`,
    /// `expr`.
    fn producer(&mut self, row: &RowSpec, at: &RowAt, ty: &Type, cx: RowContext<'_>) -> Option<Producer> {
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
            return self.sources(row, from, at, ty, cx.grammar, cx.slots).map(Producer::Sources);
        }
        if let Some(value) = &row.constant {
            if let Err(why) = check_value(value, ty) {
                let message = format!("constant '{value}' is not a valid {}: {why}", ty.name());
                self.problem(Code::BadSample, message, at, "const");
            }
            return Some(Producer::Const(value.clone()));
        }
        if let Some(name) = &row.param {
            return self.param(name, at).map(Producer::Param);
        }
        if let Some(name) = &row.generate {
            return self.generator(name, at, ty).map(Producer::Generate);
        }
        let source = row.expr.as_deref().unwrap_or_default();
        self.expression(source, at, cx.earlier).map(Producer::Expr)
    }

    fn param(&mut self, name: &str, at: &RowAt) -> Option<Param> {
        let found = Param::ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
        if found.is_none() {
            let names: Vec<&str> = Param::ALL.iter().map(|(n, _)| *n).collect();
            self.problem(Code::UnknownParam, format!("unknown parameter '{name}'"), at, "param").hint =
                Some(hint_from(name, &names));
        }
        found
    }

    /// A generator, which must give the row's type.
    fn generator(&mut self, name: &str, at: &RowAt, ty: &Type) -> Option<Generator> {
        let found = Generator::ALL.iter().find(|(n, _)| *n == name).map(|(_, g)| *g);
        let mismatch = match found {
            None => {
                let names: Vec<&str> = Generator::ALL.iter().map(|(n, _)| *n).collect();
                self.problem(Code::UnknownGenerator, format!("unknown generator '{name}'"), at, "generate").hint =
                    Some(hint_from(name, &names));
                None
            }
            Some(Generator::ReceivedTime) if *ty != Type::Timestamp => {
                Some("generate: received_time gives a timestamp; the row needs `type: timestamp`")
            }
            Some(Generator::Uuid) if !matches!(ty, Type::String) => {
                Some("generate: uuid gives a string; the row needs `type: string`")
            }
            Some(_) => None,
        };
        if let Some(message) = mismatch {
            self.problem(Code::TypeMismatch, message.into(), at, "generate");
        }
        found
    }

    pub(super) fn sources(
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
}

fn key_slot(key: &str, slots: &mut Slots) -> u16 {
    if let Some(slot) = slots.by_key.get(key) {
        return slot;
    }
    let slot = slots.names.len() as u16;
    slots.names.push(key.to_string());
    slots.by_key.insert(key, slot);
    slot
}

/// Where the other family's addresses go, for a row that still says `ip`: the sibling token
/// by the model's naming (`sourceIpv4` ↔ `sourceIpv6`).
fn family_hint(token: &str, ty: &Type) -> String {
    let (this, other) = if *ty == Type::Ipv4 { ("Ipv4", "Ipv6") } else { ("Ipv6", "Ipv4") };
    let family = if *ty == Type::Ipv4 { "IPv6" } else { "IPv4" };
    match token.strip_suffix(this) {
        Some(stem) => format!("; {family} addresses go to `{stem}{other}` (add a row for it)"),
        None => format!("; {family} addresses go to a token of type `{}`", other.to_lowercase()),
    }
}
