//! Snapshot tests: each fixture in `tests/fixtures/events/` is one NetScaler line; its event,
//! mapped by the built-in Citrix guide, is the snapshot.

use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::path::Path;
use xdrmap::guide::{builtin_sources, compile, Plan};
use xdrmap::runtime::convert::TimeSettings;
use xdrmap::runtime::{Mapper, Outcome, Settings};
use xdrmap::syntax::{builtin_grammars, strip_line_ending};

fn plan() -> Plan {
    compile(&builtin_sources(), builtin_grammars()).expect("the built-in guide compiles")
}

fn received() -> DateTime<Utc> {
    "2026-11-26T08:00:00Z".parse().unwrap()
}

/// A fixture: optional `# options: key=value ...` line, then one log line.
fn read_fixture(path: &Path) -> (Settings, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut settings = Settings {
        customer_id: Some("d656b196-edb7-45e6-8485-3748a740d002".into()),
        collector_id: Some("ae102769-bd05-415d-af3c-2cc59681cbab".into()),
        event_source_id: Some("1ae639f0-0944-4cbc-81ef-87c040ca9eb2".into()),
        ..Settings::default()
    };
    let mut time = TimeSettings::default();
    let mut line = text.as_str();
    if let Some(rest) = text.strip_prefix("# options:") {
        let (options, next) = rest.split_once('\n').unwrap();
        for option in options.split_whitespace() {
            match option.split_once('=').unwrap() {
                ("date_format", v) => time.order = v.parse().unwrap(),
                ("timezone", v) => time.zone = v.parse().unwrap(),
                (k, _) => panic!("unknown fixture option {k}"),
            }
        }
        line = next;
    }
    settings.time = time;
    (settings, line.to_string())
}

/// Maps a fixture line; returns the event as JSON, with EventId checked and redacted.
fn map_fixture(plan: &Plan, path: &Path) -> (String, serde_json::Value) {
    let (settings, text) = read_fixture(path);
    let line = strip_line_ending(&text);
    let mut mapper = Mapper::new(plan, &settings);
    let mut out = Vec::new();
    let outcome = mapper.map(line, received(), &mut out);
    assert!(matches!(outcome, Outcome::Mapped { .. }), "{}: {outcome:?}", path.display());
    let mut event: serde_json::Value = serde_json::from_slice(&out).expect("one JSON object");
    let id = event["EventId"].as_str().expect("EventId is set").to_string();
    assert_eq!(id.len(), 36, "EventId is a UUID: {id}");
    assert_eq!(&id[14..15], "4", "EventId is a v4 UUID: {id}");
    event["EventId"] = "[uuid v4]".into();
    (text, event)
}

#[test]
fn events() {
    let plan = plan();
    insta::glob!("fixtures/events/*.log", |path| {
        let (line, event) = map_fixture(&plan, path);
        insta::with_settings!({ description => line.trim_end(), omit_expression => true }, {
            insta::assert_json_snapshot!(event);
        });
    });
}

/// Every token of the guide, data fields and internal fields alike, is produced by at least
/// one fixture, so every row is exercised on a real-shaped line.
#[test]
fn every_token_is_covered_by_a_fixture() {
    let plan = plan();
    let guide = &plan.guides[0];
    let mut seen = BTreeSet::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "log") {
            let (_, event) = map_fixture(&plan, &path);
            seen.extend(event.as_object().unwrap().keys().cloned());
        }
    }
    let missing: Vec<&str> = guide.fields.iter().map(|f| f.token.as_str()).filter(|t| !seen.contains(*t)).collect();
    assert!(missing.is_empty(), "tokens no fixture produces: {missing:?}");
    assert_eq!(guide.fields.len(), 32, "22 data fields and 10 internal fields");
}
