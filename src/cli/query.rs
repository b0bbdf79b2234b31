//! `xdrmap query`: QQL over the events xdrmap writes, from JSON Lines files (gzip too) or
//! standard input; the matching events, their count, or chosen fields as a table or CSV.

use super::config::query_at;
use super::error::Error;
use clap::Args;
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xdrmap::query::{Query, RawEvent};

/// Search events with QQL, the query language of Qualys Context XDR.
///
/// Reads JSON Lines events (as `map` writes them) from each FILE, or standard input, a `.gz`
/// file decompressed, and prints the events that match QUERY as they are. Tokens and their
/// types come from the data model: strings match case-insensitively by containment, numbers,
/// times and IP addresses by value, range, comparison or CIDR block. Exits 0 when an event
/// matched, 1 when none did, 2 on a bad query or input.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  xdrmap query 'eventName: LOGIN_FAILED AND NOT sourceIpv4: 10.0.0.0/8' events.jsonl
  xdrmap query 'inByte > 1048576 OR outByte > 1048576' --count events.jsonl.gz
  xdrmap query 'sourceUser: `nsroot` AND command: * AND eventTime >= now-24h' --fields eventTime,command events.jsonl
  xdrmap map ns.log | xdrmap query 'sourcePort: [1024 .. 2048]' --fields sourceIpv4,sourcePort --csv

Clauses: token: value (contains; for numbers, times, IPs: equals), token: \"a phrase\",
token: `exact`, token: [a, b, c], token: [a .. b] (or (a .. b), exclusive), token > value
(>=, <, <=), token: 10.0.0.0/8, token: * (present); AND, OR, NOT, parentheses; a bare word
searches every string token. Times: RFC 3339, MM/DD/YYYY:HH:MM:SS, YYYY-MM-DD, now-24h.")]
pub struct QueryArgs {
    /// The query.
    #[arg(value_name = "QUERY")]
    query: String,

    /// Event files (JSON Lines; `.gz` decompressed); `-` (or none) reads standard input.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Print only how many events matched.
    #[arg(long, conflicts_with = "fields")]
    count: bool,

    /// Print these tokens of each matching event, comma-separated, as a table.
    #[arg(long, value_name = "TOKENS", value_delimiter = ',')]
    fields: Vec<String>,

    /// With --fields, print CSV (RFC 4180) instead of a table.
    #[arg(long, requires = "fields")]
    csv: bool,

    /// The time relative times count from (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    now: Option<chrono::DateTime<chrono::Utc>>,
}

pub fn run(args: QueryArgs) -> Result<ExitCode, Error> {
    let now = args.now.unwrap_or_else(chrono::Utc::now);
    let query = query_at(&args.query, now)?;
    let files = if args.files.is_empty() { vec![PathBuf::from("-")] } else { args.files.clone() };
    let mut out = Printer::new(&args, BufWriter::with_capacity(1 << 16, io::stdout().lock()));
    let mut failed = false;
    for file in &files {
        let reader = open(file)?;
        failed |= scan(file, reader, &query, &mut out).map_err(Error::Output)?;
    }
    let matched = out.finish().map_err(Error::Output)?;
    Ok(ExitCode::from(if failed {
        2
    } else if matched > 0 {
        0
    } else {
        1
    }))
}

/// A file (gzip when its name ends `.gz`), or standard input for `-`.
fn open(path: &Path) -> Result<Box<dyn BufRead>, Error> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let file = File::open(path).map_err(|error| Error::File { action: "open", path: path.to_path_buf(), error })?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// Runs `query` on every line of `reader`; says on stderr which lines are not events (and
/// returns true if there were any, or the input failed).
fn scan(name: &Path, mut reader: Box<dyn BufRead>, query: &Query, out: &mut Printer<impl Write>) -> io::Result<bool> {
    let (mut line, mut number, mut failed) = (Vec::new(), 0u64, false);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(failed),
            Ok(_) => {}
            Err(e) => {
                eprintln!("xdrmap: {}: {e}", name.display());
                return Ok(true);
            }
        }
        number += 1;
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match RawEvent::parse(text) {
            Ok(event) if query.matches(&event) => out.event(text)?,
            Ok(_) => {}
            Err(e) => {
                eprintln!("xdrmap: {}:{number}: not a JSON event ({e}); skipped", name.display());
                failed = true;
            }
        }
    }
}

/// Prints what matched, as the flags say.
struct Printer<W: Write> {
    out: W,
    count: bool,
    fields: Vec<String>,
    csv: bool,
    matched: u64,
    /// A table's rows, held until the widths are known (the first 1,000 rows set them).
    rows: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
}

/// Rows that set a table's column widths.
const TABLE_SAMPLE: usize = 1_000;

impl<W: Write> Printer<W> {
    fn new(args: &QueryArgs, out: W) -> Self {
        let (count, fields, csv) = (args.count, args.fields.clone(), args.csv);
        let mut printer = Printer { out, count, fields, csv, matched: 0, rows: Vec::new(), widths: None };
        if !printer.fields.is_empty() {
            printer.rows.push(printer.fields.clone());
        }
        printer
    }

    fn event(&mut self, text: &[u8]) -> io::Result<()> {
        self.matched += 1;
        if self.count {
            return Ok(());
        }
        if self.fields.is_empty() {
            self.out.write_all(text)?;
            return self.out.write_all(b"\n");
        }
        // Only matches are parsed whole, for their cells.
        let event: Map<String, Value> = serde_json::from_slice(text).map_err(io::Error::other)?;
        let row: Vec<String> = self.fields.iter().map(|f| cell(event.get(f))).collect();
        self.row(row)
    }

    fn row(&mut self, row: Vec<String>) -> io::Result<()> {
        if self.csv {
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            if let Some(header) = self.rows.pop() {
                writeln!(self.out, "{}", header.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","))?;
            }
            return writeln!(self.out, "{}", cells.join(","));
        }
        match &self.widths {
            Some(widths) => {
                let line = padded(&row, widths);
                writeln!(self.out, "{line}")
            }
            None => {
                self.rows.push(row);
                if self.rows.len() > TABLE_SAMPLE {
                    self.flush_table()?;
                }
                Ok(())
            }
        }
    }

    /// Prints the held rows, their widths now set.
    fn flush_table(&mut self) -> io::Result<()> {
        let mut widths = vec![0; self.fields.len()];
        for row in &self.rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for row in std::mem::take(&mut self.rows) {
            writeln!(self.out, "{}", padded(&row, &widths))?;
        }
        self.widths = Some(widths);
        Ok(())
    }

    /// Ends the output; gives how many events matched.
    fn finish(mut self) -> io::Result<u64> {
        if self.count {
            writeln!(self.out, "{}", self.matched)?;
        } else if !self.fields.is_empty() && !self.csv && self.widths.is_none() {
            self.flush_table()?;
        } else if let (true, Some(header)) = (self.csv, self.rows.pop()) {
            writeln!(self.out, "{}", header.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","))?;
        }
        self.out.flush()?;
        Ok(self.matched)
    }
}

/// A value as a table cell: text as it is, other values as JSON, absent as empty.
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// A CSV field, quoted when it must be.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A table row: cells padded to their column's width, two blanks apart.
fn padded(row: &[String], widths: &[usize]) -> String {
    let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
    cells.join("  ").trim_end().to_string()
}
