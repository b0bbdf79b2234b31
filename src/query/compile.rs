//! QQL text to a typed [`Pred`]: parsed with `qql.pest` beside it, each clause checked against
//! the data model (the token, the operator for its type, the value in its type) and turned
//! into a text test or a set of intervals.

use super::{Interval, Kind, Pred, Text};
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::model::Model;
use crate::value::Type;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use pest::iterators::Pair;
use pest::Parser;
use std::fmt;
use std::net::IpAddr;

#[derive(pest_derive::Parser)]
#[grammar = "query/qql.pest"]
struct Qql;

/// The longest query read, in bytes, and the deepest nesting of parentheses and NOTs: past
/// them a query from hostile hands is refused rather than parsed (pest recurses).
const MAX_QUERY: usize = 64 * 1024;
const MAX_DEPTH: usize = 64;

/// A query that does not compile: the problem, and the query to point into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// What is wrong, and where (`<query>:line:column`).
    pub diagnostic: Diagnostic,
    /// The query, to show the place in.
    pub query: String,
}

impl fmt::Display for QueryError {
    /// The diagnostic, then the query's line with a caret under the column.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diagnostic)?;
        let loc = &self.diagnostic.location;
        if let (Some(line), Some(column)) = (loc.line, loc.column) {
            let text = self.query.lines().nth(line - 1).unwrap_or("");
            if text.len() <= 200 {
                writeln!(f, "   |\n   | {text}\n   | {}^", " ".repeat(column - 1))?;
            }
        }
        Ok(())
    }
}

/// What a clause is compiled with.
struct Context<'m> {
    model: &'m Model,
    now: DateTime<Utc>,
    query: &'m str,
}

impl Context<'_> {
    fn error(&self, code: Code, at: &Pair<Rule>, message: String, hint: Option<String>) -> QueryError {
        let (line, column) = at.as_span().start_pos().line_col();
        let mut diagnostic = Diagnostic::new(code, message).in_file("<query>".as_ref()).at(line, column);
        if let Some(hint) = hint {
            diagnostic = diagnostic.hint(hint);
        }
        QueryError { diagnostic, query: self.query.to_string() }
    }
}

pub(super) fn compile(query: &str, model: &Model, now: DateTime<Utc>) -> Result<Pred, QueryError> {
    let refuse = |message: String| QueryError {
        diagnostic: Diagnostic::new(Code::QuerySyntax, message).in_file("<query>".as_ref()),
        query: String::new(),
    };
    if query.len() > MAX_QUERY {
        return Err(refuse(format!("the query is {} bytes long; at most {MAX_QUERY} are read", query.len())));
    }
    if depth(query) > MAX_DEPTH {
        return Err(refuse(format!("the query nests parentheses and NOTs deeper than {MAX_DEPTH}")));
    }
    let mut pairs = Qql::parse(Rule::query, query).map_err(|e| syntax_error(query, e))?;
    let cx = Context { model, now, query };
    match pairs.next().and_then(|q| q.into_inner().find(|p| p.as_rule() == Rule::or_expr)) {
        Some(or) => expr(&cx, or),
        None => Ok(Pred::All(Vec::new())),
    }
}

/// The nesting of parentheses and NOTs, outside quotes (a bound checked before parsing).
fn depth(query: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for (i, c) in query.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, 'n' | 'N') if query[i..].get(..4).is_some_and(|w| w.eq_ignore_ascii_case("not ")) => depth += 1,
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    deepest
}

fn syntax_error(query: &str, e: pest::error::Error<Rule>) -> QueryError {
    let (line, column) = match e.line_col {
        pest::error::LineColLocation::Pos(p) | pest::error::LineColLocation::Span(p, _) => p,
    };
    let hint = "a clause is `token: value`, `token: [a, b]`, `token: [a .. b]`, `token > value` or `token: *`; \
                join clauses with AND, OR, NOT and parentheses; quote a phrase with \"...\"";
    let diagnostic = Diagnostic::new(Code::QuerySyntax, "the query does not parse here")
        .in_file("<query>".as_ref())
        .at(line, column)
        .hint(hint);
    QueryError { diagnostic, query: query.to_string() }
}

/// An `or_expr`, `and_expr`, `unary` or `primary`.
fn expr(cx: &Context, pair: Pair<Rule>) -> Result<Pred, QueryError> {
    match pair.as_rule() {
        Rule::or_expr | Rule::and_expr => {
            let or = pair.as_rule() == Rule::or_expr;
            let mut parts = Vec::new();
            for p in pair.into_inner().filter(|p| !matches!(p.as_rule(), Rule::and_op | Rule::or_op)) {
                parts.push(expr(cx, p)?);
            }
            Ok(match (parts.len(), or) {
                (1, _) => parts.pop().expect("one part"),
                (_, true) => Pred::Any(parts),
                (_, false) => Pred::All(parts),
            })
        }
        Rule::unary => {
            let mut inner: Vec<Pair<Rule>> = pair.into_inner().collect();
            let primary = inner.pop().expect("a unary ends with its primary");
            let mut pred = expr(cx, primary)?;
            for _ in inner {
                pred = Pred::Not(Box::new(pred));
            }
            Ok(pred)
        }
        Rule::primary => {
            let inner = pair.into_inner().next().expect("a primary has one part");
            let text = inner.as_str().trim().to_string();
            let labeled = |p: Pred| Pred::Clause(text.clone(), Box::new(p));
            match inner.as_rule() {
                Rule::clause => clause(cx, inner).map(labeled),
                Rule::bare => bare(cx, inner).map(labeled),
                _ => expr(cx, inner),
            }
        }
        rule => unreachable!("not an expression: {rule:?}"),
    }
}

/// A bare word or phrase: any string token contains it (an exact one: equals it).
fn bare(cx: &Context, pair: Pair<Rule>) -> Result<Pred, QueryError> {
    let scalar = pair.into_inner().next().expect("a bare word has its text");
    let strings = cx.model.tokens().filter(|(_, d)| matches!(d.ty, Type::String | Type::Enum(_)));
    Ok(Pred::Anywhere(strings.map(|(name, _)| name.to_string()).collect(), text_test(&scalar)))
}

/// The text of a `scalar`, `bound` (or what is inside them): unquoted and unescaped.
fn text_of(pair: &Pair<Rule>) -> String {
    let inner = pair.clone().into_inner().next();
    match pair.as_rule() {
        Rule::scalar | Rule::bound => inner.map_or_else(String::new, |p| text_of(&p)),
        Rule::quoted => inner.map_or("", |p| p.as_str()).replace("\\\"", "\"").replace("\\\\", "\\"),
        Rule::exact => inner.map_or("", |p| p.as_str()).to_string(),
        _ => pair.as_str().to_string(),
    }
}

/// Whether a `scalar` is written `` `exact` ``.
fn is_exact(pair: &Pair<Rule>) -> bool {
    pair.as_rule() == Rule::exact || pair.clone().into_inner().next().is_some_and(|p| p.as_rule() == Rule::exact)
}

fn text_test(scalar: &Pair<Rule>) -> Text {
    if is_exact(scalar) {
        Text::Exact(text_of(scalar))
    } else {
        Text::Contains(text_of(scalar).to_lowercase())
    }
}

/// `token: value` or `token OP value`.
fn clause(cx: &Context, pair: Pair<Rule>) -> Result<Pred, QueryError> {
    let mut inner = pair.into_inner();
    let token_pair = inner.next().expect("a clause starts with its token");
    let token = token_pair.as_str();
    let Some(def) = cx.model.get(token) else {
        let names = cx.model.tokens().map(|(n, _)| n);
        let hint = did_you_mean(token, names).map(|t| format!("did you mean `{t}`?"));
        let hint = hint.or_else(|| Some("the data model's tokens are in mappings/model/xdr.yaml".to_string()));
        return Err(cx.error(
            Code::QueryUnknownToken,
            &token_pair,
            format!("the data model has no token `{token}`"),
            hint,
        ));
    };
    let rest: Vec<Pair<Rule>> = inner.collect();
    // `token OP scalar` and `token: OP scalar` alike; else the value's one part.
    let (op, value) = match rest.as_slice() {
        [op, scalar] if op.as_rule() == Rule::compare => (Some(op.clone()), scalar.clone()),
        [value] => {
            let parts: Vec<Pair<Rule>> = value.clone().into_inner().collect();
            match parts.as_slice() {
                [op, scalar] => (Some(op.clone()), scalar.clone()),
                [one] => (None, one.clone()),
                _ => unreachable!("a value has one or two parts"),
            }
        }
        _ => unreachable!("a clause is token, then a value or an operator and a scalar"),
    };
    let name = token.to_string();
    if value.as_rule() == Rule::present {
        return Ok(Pred::Present(name));
    }
    let Some(kind) = kind_of(&def.ty) else {
        return text_clause(cx, name, &def.ty, op, value);
    };
    let intervals = match (&op, value.as_rule()) {
        (Some(op), _) => vec![compare(op.as_str(), point(cx, kind, &def.ty, &value)?)],
        (None, Rule::list) => value.into_inner().map(|v| interval(cx, kind, &def.ty, &v)).collect::<Result<_, _>>()?,
        (None, Rule::range) => vec![range(cx, kind, &def.ty, value)?],
        (None, _) => vec![interval(cx, kind, &def.ty, &value)?],
    };
    Ok(Pred::In(name, kind, intervals))
}

/// A clause on a string or enum token: contains, exact, any of.
fn text_clause(
    cx: &Context,
    name: String,
    ty: &Type,
    op: Option<Pair<Rule>>,
    value: Pair<Rule>,
) -> Result<Pred, QueryError> {
    let refuse = |at: &Pair<Rule>, what: &str| {
        let message = format!("`{name}` is a {} token: {what} compares numbers, times and IP addresses", ty.name());
        let hint = format!("for text, write {name}: word, {name}: \"a phrase\", {name}: `exact` or {name}: [a, b]");
        Err(cx.error(Code::QueryBadOperator, at, message, Some(hint)))
    };
    if let Some(op) = op {
        return refuse(&op, &format!("`{}`", op.as_str()));
    }
    match value.as_rule() {
        Rule::range => refuse(&value, "a range"),
        Rule::list => Ok(Pred::Any(value.into_inner().map(|v| Pred::Text(name.clone(), text_test(&v))).collect())),
        _ => Ok(Pred::Text(name, text_test(&value))),
    }
}

/// The kind of interval a type's values are read as; none for text.
fn kind_of(ty: &Type) -> Option<Kind> {
    match ty {
        Type::Integer | Type::Port => Some(Kind::Integer),
        Type::Timestamp => Some(Kind::Time),
        Type::Ip | Type::Ipv4 | Type::Ipv6 => Some(Kind::Ip),
        Type::String | Type::Enum(_) => None,
    }
}

/// `> v`, `>= v`, `< v`, `<= v`.
fn compare(op: &str, v: i128) -> Interval {
    match op {
        ">" => Interval { low: Some((v, false)), high: None },
        ">=" => Interval { low: Some((v, true)), high: None },
        "<" => Interval { low: None, high: Some((v, false)) },
        _ => Interval { low: None, high: Some((v, true)) },
    }
}

/// `[a .. b]`, `(a .. b)`, or mixed ends.
fn range(cx: &Context, kind: Kind, ty: &Type, pair: Pair<Rule>) -> Result<Interval, QueryError> {
    let parts: Vec<Pair<Rule>> = pair.into_inner().collect();
    let [open, low, high, close] = parts.as_slice() else { unreachable!("a range has four parts") };
    let (low, high) = (point(cx, kind, ty, low)?, point(cx, kind, ty, high)?);
    Ok(Interval { low: Some((low, open.as_str() == "[")), high: Some((high, close.as_str() == "]")) })
}

/// One value of a list or a clause: a point, or for an IP token a CIDR block.
fn interval(cx: &Context, kind: Kind, ty: &Type, pair: &Pair<Rule>) -> Result<Interval, QueryError> {
    let text = text_of(pair);
    if kind == Kind::Ip && text.contains('/') {
        return cidr(&text, ty).ok_or_else(|| bad_value(cx, pair, &text, ty, "an IP address block (10.0.0.0/8)"));
    }
    point(cx, kind, ty, pair).map(Interval::point)
}

/// A value as a point of its kind's line.
fn point(cx: &Context, kind: Kind, ty: &Type, pair: &Pair<Rule>) -> Result<i128, QueryError> {
    let text = text_of(pair);
    let read = match (kind, ty) {
        (Kind::Integer, Type::Port) => text.parse::<u16>().ok().map(i128::from),
        (Kind::Integer, _) => text.parse::<i64>().ok().map(i128::from),
        (Kind::Time, _) => query_time(&text, cx.now),
        (Kind::Ip, _) => ip_of(&text, ty).map(number),
    };
    let expected = match (kind, ty) {
        (Kind::Integer, Type::Port) => "a port, 0 to 65535",
        (Kind::Integer, _) => "an integer",
        (Kind::Time, _) => "a time: RFC 3339 (2021-09-23T05:16:05Z), MM/DD/YYYY:HH:MM:SS, a date, now or now-24h",
        (Kind::Ip, Type::Ipv4) => "an IPv4 address",
        (Kind::Ip, Type::Ipv6) => "an IPv6 address",
        (Kind::Ip, _) => "an IP address",
    };
    read.ok_or_else(|| bad_value(cx, pair, &text, ty, expected))
}

fn bad_value(cx: &Context, at: &Pair<Rule>, text: &str, ty: &Type, expected: &str) -> QueryError {
    let message = format!("`{text}` cannot be a value of this {} token", ty.name());
    cx.error(Code::QueryBadValue, at, message, Some(format!("give {expected}")))
}

/// A time as the query writes it, in milliseconds since the epoch.
fn query_time(text: &str, now: DateTime<Utc>) -> Option<i128> {
    if let Some(rest) = text.strip_prefix("now") {
        if rest.is_empty() {
            return Some(now.timestamp_millis().into());
        }
        let (sign, rest) = match rest.as_bytes().first()? {
            b'-' => (-1i64, &rest[1..]),
            b'+' => (1, &rest[1..]),
            _ => return None,
        };
        let (digits, unit) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit())?);
        let seconds = match unit {
            "s" => 1i64,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return None,
        };
        let shift = digits.parse::<i64>().ok()?.checked_mul(seconds * 1000)?;
        return Some(i128::from(now.timestamp_millis()) + i128::from(sign * shift));
    }
    if let Some(t) = time_millis(text) {
        return Some(t);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%m/%d/%Y:%H:%M:%S")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    Some(naive.and_utc().timestamp_millis().into())
}

/// An RFC 3339 time (as events write them), in milliseconds since the epoch.
pub(super) fn time_millis(text: &str) -> Option<i128> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis().into())
}

/// An address as a point: IPv4 as its IPv4-mapped IPv6 address.
fn number(ip: IpAddr) -> i128 {
    let v6 = match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    u128::from(v6) as i128
}

/// An event's address as a point.
pub(super) fn ip_number(text: &str) -> Option<i128> {
    text.parse::<IpAddr>().ok().map(number)
}

/// An address a token of type `ty` can hold.
fn ip_of(text: &str, ty: &Type) -> Option<IpAddr> {
    let ip: IpAddr = text.parse().ok()?;
    match (ty, ip) {
        (Type::Ipv4, IpAddr::V6(_)) | (Type::Ipv6, IpAddr::V4(_)) => None,
        _ => Some(ip),
    }
}

/// `address/bits` as the interval of its addresses.
fn cidr(text: &str, ty: &Type) -> Option<Interval> {
    let (address, bits) = text.split_once('/')?;
    let ip = ip_of(address, ty)?;
    let bits: u32 = bits.parse().ok()?;
    let (width, offset) = if ip.is_ipv4() { (32, 96) } else { (128, 0) };
    if bits > width {
        return None;
    }
    let host_bits = width - bits + if ip.is_ipv4() { 0 } else { offset };
    let mask: u128 = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    let low = number(ip) as u128 & !mask;
    Some(Interval { low: Some((low as i128, true)), high: Some(((low | mask) as i128, true)) })
}
