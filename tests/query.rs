//! QQL as data: each case in `tests/fixtures/qql/` is a query and the events it must match
//! among `events.jsonl` (by their 0-based line), or, for a query that must not compile, the
//! error it gives (file `<query>`, line, column, code, hint and a caret), snapshotted.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use xdrmap::model::Model;
use xdrmap::query::{Query, RawEvent};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    query: String,
    #[serde(default)]
    matches: Option<Vec<usize>>,
    #[serde(default)]
    error: bool,
}

/// The events every case runs on.
fn events() -> Vec<Map<String, Value>> {
    let text = include_str!("fixtures/qql/events.jsonl");
    text.lines().map(|l| serde_json::from_str(l).expect("an event")).collect()
}

/// The cases' now, for relative times.
fn now() -> DateTime<Utc> {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

#[test]
fn qql_cases() {
    let events = events();
    let lines: Vec<&str> = include_str!("fixtures/qql/events.jsonl").lines().collect();
    insta::glob!("fixtures/qql/*.yaml", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let case: Case = serde_yaml::from_str(&text).unwrap();
        let compiled = Query::compile(&case.query, Model::builtin(), now());
        match (case.matches, case.error) {
            (Some(want), false) => {
                let query = compiled.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let got: Vec<usize> = (0..events.len()).filter(|&i| query.matches(&events[i])).collect();
                assert_eq!(got, want, "{}: {}", path.display(), case.query);
                // The raw reading that `query` and `--where` use agrees with the parsed one.
                let raw: Vec<usize> = (0..lines.len())
                    .filter(|&i| query.matches(&RawEvent::parse(lines[i].as_bytes()).unwrap()))
                    .collect();
                assert_eq!(raw, want, "{} (raw): {}", path.display(), case.query);
            }
            (None, true) => {
                let error = compiled.expect_err(&case.query);
                insta::with_settings!({ description => case.query, omit_expression => true }, {
                    insta::assert_snapshot!(error.to_string());
                });
            }
            _ => panic!("{}: give either `matches` or `error: true`", path.display()),
        }
    });
}

/// A query from hostile hands: very long, or nested deep, is refused, not parsed.
#[test]
fn a_hostile_query_is_refused() {
    let deep = format!("{}sourceUser: a{}", "(".repeat(10_000), ")".repeat(10_000));
    let nots = "NOT ".repeat(10_000) + "sourceUser: a";
    let long = "a ".repeat(100_000);
    for query in [deep, nots, long] {
        assert!(Query::compile(&query, Model::builtin(), now()).is_err());
    }
}

/// Runs the binary; gives its exit code, stdout and stderr.
fn xdrmap(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xdrmap"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap(), text(out.stdout), text(out.stderr))
}

/// `query` on what `map` writes from the bundled sample: the events it prints are exactly
/// those a plain reading of the file picks out, in order; `--count`, `--fields` (table and
/// CSV) and a gzip copy agree; no match exits 1, a bad query 2.
#[test]
fn query_runs_on_what_map_writes_from_the_sample() {
    let dir = std::env::temp_dir().join(format!("xdrmap-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("events.jsonl");
    let (code, _, _) = xdrmap(&["map", "mappings/citrix_loadbalancer/sample.log", "-o", events.to_str().unwrap()]);
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(&events).unwrap();
    let outside = |ip: &str| !ip.starts_with("10.");
    let want: Vec<&str> = text
        .lines()
        .filter(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            e["eventName"].as_str().is_some_and(|n| n.to_lowercase().contains("login"))
                && e["sourceIpv4"].as_str().is_some_and(outside)
        })
        .collect();
    assert!(!want.is_empty(), "the sample has logins from outside 10/8");
    let query = "eventName: login AND sourceIpv4: * AND NOT sourceIpv4: 10.0.0.0/8";
    let file = events.to_str().unwrap();
    let (code, out, err) = xdrmap(&["query", query, file]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "the events as map wrote them");
    let (_, count, _) = xdrmap(&["query", query, "--count", file]);
    assert_eq!(count.trim(), want.len().to_string());
    let (_, csv, _) = xdrmap(&["query", query, "--fields", "sourceIpv4,eventName", "--csv", file]);
    assert_eq!(csv.lines().count(), want.len() + 1, "a header and a row each: {csv}");
    assert_eq!(csv.lines().next(), Some("sourceIpv4,eventName"));
    let (_, table, _) = xdrmap(&["query", query, "--fields", "sourceIpv4,eventName", file]);
    assert_eq!(table.lines().count(), want.len() + 1);
    let gz = dir.join("events.jsonl.gz");
    let mut encoder = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    std::io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
    encoder.finish().unwrap();
    assert_eq!(xdrmap(&["query", query, gz.to_str().unwrap()]).1, out, "gzip reads the same");
    assert_eq!(xdrmap(&["query", "sourceUser: `no such user`", file]).0, 1, "no match exits 1");
    let (code, _, err) = xdrmap(&["query", "sourcePort: abc", file]);
    assert_eq!(code, 2);
    assert!(err.contains("error[Q503]") && err.contains("<query>:1:13"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A line that is not an event is named with its file and line, and the run exits 2.
#[test]
fn a_line_that_is_not_an_event_is_named() {
    let dir = std::env::temp_dir().join(format!("xdrmap-query-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mixed.jsonl");
    std::fs::write(&file, "{\"sourceUser\":\"alice\"}\nnot json\n").unwrap();
    let (code, out, err) = xdrmap(&["query", "alice", file.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(out, "{\"sourceUser\":\"alice\"}\n", "the good line still matches");
    assert!(err.contains("mixed.jsonl:2: not a JSON event"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `map --where` writes exactly the events `query` picks from a full `map` of the same lines,
/// and counts the others; a bad query stops it before anything is read.
#[test]
fn map_where_writes_what_query_would_pick() {
    let sample = "mappings/citrix_loadbalancer/sample.log";
    let at = "--received-at=2026-01-01T00:00:00Z";
    let query = "eventType: [SSLVPN, AAA] OR destinationPort: [1 .. 1024]";
    let (code, all, _) = xdrmap(&["map", sample, at]);
    assert_eq!(code, 0);
    let (code, filtered, err) = xdrmap(&["map", sample, at, "--where", query]);
    assert_eq!(code, 0);
    let dir = std::env::temp_dir().join(format!("xdrmap-where-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("all.jsonl");
    std::fs::write(&file, &all).unwrap();
    let (_, picked, _) = xdrmap(&["query", query, file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    let (kept, total) = (picked.lines().count(), all.lines().count());
    assert!(kept > 0 && kept < total, "the query keeps some of the sample: {kept} of {total}");
    // The same events, but for their EventIds (random for lines from a file).
    let without_id = |text: &str| -> Vec<Value> {
        let strip = |l: &str| {
            let mut e: Value = serde_json::from_str(l).unwrap();
            e.as_object_mut().unwrap().remove("EventId");
            e
        };
        text.lines().map(strip).collect()
    };
    assert_eq!(without_id(&filtered), without_id(&picked));
    let said = format!("{total} events mapped");
    let counted = format!("{kept} written and {} not matching --where", total - kept);
    assert!(err.contains(&said) && err.contains(&counted), "{err}");
    let (code, out, err) = xdrmap(&["map", sample, "--where", "sourcePort > x"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("error[Q503]"), "{err}");
}

/// `explain --where` says, clause by clause, why the line's event matches or not, with the
/// value the event has for each clause's token; `--json` carries the verdict.
#[test]
fn explain_where_gives_each_clause_its_verdict() {
    let sample =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/citrix_loadbalancer/sample.log"));
    let line = sample
        .unwrap()
        .lines()
        .find(|l| l.contains("CMD_EXECUTED") && l.contains("172.16.40.7"))
        .expect("a CLI line from outside 10/8")
        .to_string();
    let query = "eventName: login AND NOT sourceIpv4: 10.0.0.0/8 OR (inByte > 1000 AND sourcePort: *)";
    let (code, out, _) = xdrmap(&["explain", &line, "--where", query]);
    assert_eq!(code, 0);
    let why = out.split("where: ").nth(1).expect("a where section");
    let lines: Vec<&str> = why.lines().map(str::trim_end).collect();
    assert_eq!(lines[0], "the event does not match:");
    assert_eq!(lines[1], "  no  OR: one of");
    assert!(lines[3].starts_with("      no  eventName: login   (eventName = \"CMD_EXECUTED\")"), "{why}");
    assert_eq!(lines[4], "      yes NOT", "{why}");
    assert!(lines.iter().any(|l| l.contains("no  inByte > 1000   (inByte = absent)")), "{why}");
    let (_, out, _) = xdrmap(&["explain", &line, "--where", "eventName: CMD_EXECUTED AND command: *"]);
    assert!(out.contains("where: the event matches:"), "{out}");
    let (_, json, _) = xdrmap(&["explain", &line, "--json", "--where", query]);
    let value: Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(value["where"]["matches"], Value::Bool(false), "{json}");
}

/// A route without a file, or with a query that does not compile, stops `serve` before it
/// listens, saying what would be right.
#[test]
fn a_bad_route_stops_serve_at_start() {
    let (code, _, err) = xdrmap(&["serve", "--tcp", "127.0.0.1:0", "--route", "sourceUser: alice"]);
    assert_eq!(code, 2);
    assert!(err.contains("--route 'sourceUser: alice': give QUERY=FILE"), "{err}");
    let (code, _, err) = xdrmap(&["serve", "--tcp", "127.0.0.1:0", "--route", "sourcePort: x=out.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("error[Q503]") && !err.contains("listening"), "{err}");
}
