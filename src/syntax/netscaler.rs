//! The built-in NetScaler grammar (`grammar/netscaler.pest`), compiled into the binary.

use super::{tokenize_each_line, Escape, Grammar, LineTokens, Name, SyntaxError, Token};
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/netscaler.pest"]
struct NetScalerParser;

// `FIELDS` and `kind(Rule) -> Kind`, derived from the grammar file by build.rs.
include!(concat!(env!("OUT_DIR"), "/grammar_netscaler.rs"));

/// The first CEF header field in [`FIELDS`]; header fields from here on carry CEF escapes.
const CEF_HEADER: u16 = field_index("cef_version");

/// The index of a field in [`FIELDS`] (a build error when the grammar has no such field).
const fn field_index(name: &str) -> u16 {
    let mut i = 0;
    while i < FIELDS.len() {
        if str_eq(FIELDS[i], name) {
            return i as u16;
        }
        i += 1;
    }
    panic!("the grammar has no such field")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// What a rule's token is for the engine.
enum Kind {
    Key,
    Value(Escape),
    Field(u16),
    /// A line of a batch that the rules do not fit.
    Bad,
    /// Structure only (silent rules never reach the token stream).
    Skip,
}

/// The NetScaler / Citrix ADC syslog grammar.
pub struct NetScaler;

impl Grammar for NetScaler {
    fn name(&self) -> &str {
        "netscaler"
    }

    fn fields(&self) -> &[&str] {
        FIELDS
    }

    fn tokenize<'a>(&self, line: &'a str, out: &mut Vec<Token<'a>>) -> Result<(), SyntaxError> {
        out.clear();
        let pairs = NetScalerParser::parse(Rule::line, line).map_err(syntax_error)?;
        let mut open_key = None;
        for pair in pairs {
            let span = pair.as_span();
            push(out, &mut open_key, kind(pair.as_rule()), span.as_str(), span.start());
        }
        close(out, &mut open_key, line.len());
        Ok(())
    }

    /// One parse of rule `lines` for the whole batch: pest's per-call set-up (state, queue,
    /// line index) is paid once per batch instead of once per line.
    fn tokenize_lines<'a>(&self, text: &'a str, out: &mut Vec<Token<'a>>, lines: &mut Vec<LineTokens>) {
        out.clear();
        lines.clear();
        let body = text.strip_suffix('\n').unwrap_or(text);
        let Ok(pairs) = NetScalerParser::parse(Rule::lines, body) else {
            // Only a limit (the call budget) stops `lines`, which fits any text: go line by line.
            return tokenize_each_line(self, text, out, lines);
        };
        let end_of = |from: usize| memchr::memchr(b'\n', &body.as_bytes()[from..]).map_or(body.len(), |i| from + i);
        let mut line = Pending::new(0, end_of(0), 0);
        for pair in pairs {
            let kind = kind(pair.as_rule());
            if matches!(kind, Kind::Skip) {
                continue;
            }
            let span = pair.as_span();
            while span.start() > line.end {
                line.finish(out, lines);
                let start = line.end + 1;
                line = Pending::new(start, end_of(start), out.len());
            }
            if matches!(kind, Kind::Bad) {
                line.bad = true;
            } else {
                push(out, &mut line.open_key, kind, span.as_str(), span.start() - line.start);
            }
        }
        loop {
            line.finish(out, lines);
            if line.end >= body.len() {
                break;
            }
            let start = line.end + 1;
            line = Pending::new(start, end_of(start), out.len());
        }
    }
}

/// The line of a batch whose tokens are being collected.
struct Pending<'a> {
    start: usize,
    end: usize,
    first_token: usize,
    bad: bool,
    open_key: Option<&'a str>,
}

impl<'a> Pending<'a> {
    /// The line `start..end` of the batch, whose tokens will start at `first_token`.
    fn new(start: usize, end: usize, first_token: usize) -> Self {
        Pending { start, end, first_token, bad: false, open_key: None }
    }

    fn finish(&mut self, out: &mut Vec<Token<'a>>, lines: &mut Vec<LineTokens>) {
        close(out, &mut self.open_key, self.end - self.start);
        let tokens = if self.bad {
            out.truncate(self.first_token);
            None
        } else {
            Some(self.first_token..out.len())
        };
        lines.push(LineTokens { text: self.start..self.end, tokens });
    }
}

/// Adds one pest pair to the token list: a key waits for its value; a key followed by
/// another key (or by the end of the line) gets an empty value.
fn push<'a>(out: &mut Vec<Token<'a>>, open_key: &mut Option<&'a str>, kind: Kind, text: &'a str, start: usize) {
    match kind {
        Kind::Key => {
            if let Some(key) = open_key.replace(text) {
                out.push(empty_value(key, start));
            }
        }
        Kind::Value(escape) => {
            let key = open_key.take().unwrap_or("");
            let value = text.trim_end_matches(' ');
            out.push(Token { name: Name::Key(key), value, escape, start });
        }
        Kind::Field(id) => {
            let escape = if id >= CEF_HEADER { Escape::Cef } else { Escape::None };
            out.push(Token { name: Name::Field(id), value: text, escape, start });
        }
        Kind::Bad | Kind::Skip => {}
    }
}

/// Ends a line: a key still waiting gets an empty value.
fn close<'a>(out: &mut Vec<Token<'a>>, open_key: &mut Option<&'a str>, line_len: usize) {
    if let Some(key) = open_key.take() {
        out.push(empty_value(key, line_len));
    }
}

fn empty_value(key: &str, start: usize) -> Token<'_> {
    Token { name: Name::Key(key), value: "", escape: Escape::None, start }
}

fn syntax_error(error: pest::error::Error<Rule>) -> SyntaxError {
    let words = |positives: &[Rule]| {
        let mut words: Vec<&str> = positives.iter().map(|rule| describe(*rule)).collect();
        words.sort_unstable();
        words.dedup();
        words.join(" or ")
    };
    SyntaxError::from_pest(&error, words, "a NetScaler message")
}

/// Words a NetScaler engineer would use for what the grammar expected.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::pri => "a syslog priority",
        Rule::timestamp => "a timestamp",
        Rule::host | Rule::relay_host => "a host name",
        Rule::ppe => "a packet engine id like 0-PPE-0",
        Rule::partition | Rule::module | Rule::event => "a module and event name",
        Rule::seq | Rule::n => "a sequence number",
        Rule::key | Rule::key_fast | Rule::key_cef => "a key",
        Rule::value | Rule::value_fast | Rule::value_quoted | Rule::value_cef | Rule::value_colon => "a value",
        Rule::cef_version
        | Rule::cef_vendor
        | Rule::cef_product
        | Rule::cef_device_version
        | Rule::cef_class
        | Rule::cef_name
        | Rule::cef_severity => "a CEF header field",
        Rule::EOI => "the end of the line",
        _ => "a NetScaler message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cef_header_fields_start_at_cef_header() {
        let header = &FIELDS[CEF_HEADER as usize..];
        assert_eq!(header.len(), 7, "{header:?}");
        assert!(header.iter().all(|f| f.starts_with("cef_")), "{header:?}");
        assert!(FIELDS[..CEF_HEADER as usize].iter().all(|f| !f.starts_with("cef_")), "{FIELDS:?}");
    }

    /// The field table the build derives from `netscaler.pest`: the rules that carry data, in
    /// the file's order; structure, pairs and rules used only inside atomic rules are not fields.
    #[test]
    fn fields_are_the_data_rules_in_file_order() {
        let expected = "program msgid procid structured_data server_ip access_time http_version http_status response_bytes referer \
            user_agent response_time shell_user tty source_file pri relay_time relay_tag relay_program relay_host \
            timestamp node host ppe partition module event seq n message text tag handler request_host \
            request_time sso http_method url client_ip transaction appfw_session profile appfw_message \
            appfw_action cef_version cef_vendor cef_product cef_device_version cef_class cef_name cef_severity";
        assert_eq!(FIELDS, expected.split_whitespace().collect::<Vec<_>>());
        assert!(matches!(kind(Rule::key_cef), Kind::Key));
        assert!(matches!(kind(Rule::value_cef), Kind::Value(Escape::Cef)));
        assert!(matches!(kind(Rule::value_quoted), Kind::Value(Escape::Quoted)));
        assert!(matches!(kind(Rule::bad_line), Kind::Bad));
        assert!(matches!(kind(Rule::quoted_run), Kind::Skip), "only inside the atomic value_quoted");
        assert!(matches!(kind(Rule::cef_field), Kind::Skip), "only inside atomic CEF header rules");
    }
}
