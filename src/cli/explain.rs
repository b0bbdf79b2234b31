//! `xdrmap explain`: show how one line travels through the grammar and the guide.

use super::config::{where_query, Loaded};
use super::error::Error;
use super::flags::{GuideArgs, ReadArgs};
use clap::Args;
use std::fmt::Write as _;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use xdrmap::query::RawEvent;
use xdrmap::runtime::{Explanation, Mapper};
use xdrmap::syntax::line_text;

/// Explain how lines are tokenized and mapped.
///
/// For each line: the grammar's tokens with their byte spans, the guide rows each token feeds,
/// the keys no row maps, every field written with its source, type and transform, the fields
/// that failed their type and why, and the event itself. Text for people, --json for tools.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  xdrmap explain '<134> 05/19/2024:22:07:41 GMT ns 0-PPE-1 : default TCP ...'\n  head -3 ns.log | xdrmap explain --json"
)]
pub struct ExplainArgs {
    /// The line to explain; `-` or none reads lines from standard input.
    #[arg(value_name = "LINE")]
    line: Option<String>,

    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,

    /// Also say whether the line's event matches this QQL query, clause by clause.
    #[arg(long = "where", value_name = "QUERY")]
    filter: Option<String>,

    #[command(flatten)]
    guides: GuideArgs,

    #[command(flatten)]
    read: ReadArgs,
}

pub fn run(args: ExplainArgs) -> Result<ExitCode, Error> {
    let loaded = Loaded::from_flags(&args.guides, &args.read)?;
    let filter = where_query(args.filter.as_deref())?;
    let mut mapper = Mapper::new(&loaded.plan, &loaded.settings);
    let mut stdout = io::stdout().lock();
    let mut explain_one = |line: &str| -> Result<(), Error> {
        let received = loaded.clock.now();
        let explanation = mapper.explain(line, received);
        // The event's verdict under --where: whether it matches, and why.
        let verdict = filter.as_ref().and_then(|q| {
            let event = explanation.event.as_deref()?;
            let raw = RawEvent::parse(event.as_bytes()).ok()?;
            Some((q.matches(&raw), q.explain(&raw)))
        });
        let text = if args.json {
            let mut value = serde_json::to_value(&explanation).unwrap_or_default();
            if let (Some((matched, why)), Some(object)) = (&verdict, value.as_object_mut()) {
                object.insert("where".into(), serde_json::json!({ "matches": matched, "why": why }));
            }
            let mut s = value.to_string();
            s.push('\n');
            s
        } else {
            let mut s = render(line, &explanation);
            match (&verdict, &filter) {
                (Some((_, why)), _) => s.push_str(&format!("where: {why}\n")),
                (None, Some(_)) => s.push_str("where: no event, so nothing to match\n\n"),
                _ => {}
            }
            s
        };
        stdout.write_all(text.as_bytes()).map_err(Error::Output)
    };
    match args.line.as_deref() {
        Some(text) if text != "-" => text.lines().try_for_each(|line| explain_one(line_text(line)))?,
        _ => {
            // As `map` does: invalid UTF-8 is replaced rather than stopping the run.
            let mut stdin = io::stdin().lock();
            let mut raw = Vec::new();
            loop {
                raw.clear();
                match stdin.read_until(b'\n', &mut raw) {
                    Ok(0) => break,
                    Ok(_) => explain_one(line_text(&String::from_utf8_lossy(&raw)))?,
                    Err(e) => return Err(Error::Other(format!("cannot read standard input: {e}"))),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The explanation as text for people.
pub fn render(line: &str, e: &Explanation) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "line: {line}");
    if let Some(inner) = &e.unwrapped {
        let _ = writeln!(s, "unwrapped (one field of a CSV export): {inner}");
    }
    if let Some(reason) = &e.rejected {
        let _ = writeln!(s, "rejected: {reason}\n");
        return s;
    }
    let _ =
        writeln!(s, "guide: {} (grammar {})", e.guide.as_deref().unwrap_or("?"), e.grammar.as_deref().unwrap_or("?"));
    let _ = writeln!(s, "\ntokens:");
    for t in &e.tokens {
        let span = format!("{}..{}", t.start, t.end);
        let fate = if !t.used_by.is_empty() {
            format!("→ {}", t.used_by.join(", "))
        } else if !t.read_by.is_empty() && t.unmapped {
            format!("(read by {}; another source won or its type failed: kept unmapped)", t.read_by.join(", "))
        } else if t.unmapped {
            "(no row: kept unmapped)".to_string()
        } else if !t.read_by.is_empty() {
            format!("(read by {}; its type failed: in the errors)", t.read_by.join(", "))
        } else {
            String::new()
        };
        let _ = writeln!(s, "  {span:<10} {:<24} {:<42} {fate}", t.name, clip(&t.value, 42));
    }
    let _ = writeln!(s, "\nfields:");
    for f in &e.fields {
        let source = f.source.as_deref().unwrap_or("");
        let _ = writeln!(s, "  {:<22} ← {:<22} {:<28} {}", f.token, clip(source, 22), f.converter, f.value);
    }
    if !e.errors.is_empty() {
        let _ = writeln!(s, "\nfield errors (left out of the event, or written and flagged):");
        for x in &e.errors {
            let _ = writeln!(s, "  {:<22} ← {:<22} {:?}: {}", x.token, x.source, x.value, x.error);
        }
    }
    if let Some(event) = &e.event {
        let _ = writeln!(s, "\nevent:\n  {event}");
    }
    s.push('\n');
    s
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}
