//! Conformance and robustness: every line of the shared NetScaler corpus (when it is present)
//! is either mapped or rejected with a reason, and no input, however broken, panics.

use chrono::{DateTime, Utc};
use std::path::Path;
use xdrmap::guide::{builtin_sources, compile, Plan};
use xdrmap::runtime::{Mapper, Outcome, Settings};
use xdrmap::syntax::{builtin_grammars, strip_line_ending};

mod common;

fn plan() -> Plan {
    compile(&builtin_sources(), builtin_grammars()).unwrap()
}

fn received() -> DateTime<Utc> {
    "2026-11-26T08:00:00Z".parse().unwrap()
}

/// Rejected lines of the corpus: every one of its 362 distinct lines is a NetScaler line, and
/// each is an event. (18 were rejected before the fidelity issue: the management plane's RFC
/// 5424 syslog, an RFC 5424 PROCID that is not a PPE, headers with no PPE id, a `[pid]:`
/// daemon line, five lines of a CSV export wrapped in quotes, two bash `shell_command`
/// audit lines and two nsweb access lines.)
const KNOWN_REJECTED: usize = 0;

#[test]
fn shared_corpus_loses_no_line() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/ALL-unique-lines.log.txt");
    let Ok(text) = std::fs::read_to_string(&corpus) else {
        eprintln!("skipped: {} is absent", corpus.display());
        return;
    };
    let plan = plan();
    let settings = Settings::default();
    let mut mapper = Mapper::new(&plan, &settings);
    let (mut lines, mut events, mut rejected, mut blank) = (0, 0, 0, 0);
    let mut out = Vec::new();
    for line in text.lines() {
        lines += 1;
        let before = out.len();
        match mapper.map(line, received(), &mut out) {
            Outcome::Mapped { .. } => {
                events += 1;
                let event: serde_json::Value = serde_json::from_slice(&out[before..]).expect("valid JSON");
                assert!(event.is_object());
            }
            Outcome::Rejected(reject) => {
                rejected += 1;
                assert_eq!(out.len(), before, "a rejected line writes no event");
                println!("rejected line {lines}: {} {reject}", reject.code);
            }
            Outcome::Blank => {
                blank += 1;
                assert!(line.trim().is_empty(), "line {lines} is not blank");
                assert_eq!(out.len(), before, "a blank line writes no event");
            }
        }
    }
    println!("corpus: {lines} lines, {events} events, {rejected} rejected, {blank} blank");
    assert_eq!(events + rejected + blank, lines, "no line is lost");
    assert_eq!(rejected, KNOWN_REJECTED, "every corpus line is a NetScaler line, and an event");
}

/// Every prefix of every fixture line, and lines of control characters, quotes and odd
/// Unicode: each is mapped or rejected, never a panic.
#[test]
fn hostile_input_never_panics() {
    let plan = plan();
    let settings = Settings::default();
    let mut mapper = Mapper::new(&plan, &settings);
    let mut out = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for line in common::case_lines() {
        let line = strip_line_ending(&line).to_string();
        for (i, _) in line.char_indices().step_by(3) {
            lines.push(line[..i].to_string());
            lines.push(line[i..].to_string());
        }
    }
    lines.extend(
        [
            "\0\0\0",
            "<999999999999> 99/99/9999:99:99:99 GMT x 0-PPE-0 : default TCP X 1 0 : Source 1:2:3",
            "<134> 13/45/2024:25:61:61 GMT h 0-PPE-0 : default TCP CONN_TERMINATE 1 0 :  Start Time 02/30/2024:00:00:00 GMT - Source [::1]:99999",
            "<134> CEF:0|Citrix|NetScaler|\\|\\|\\|",
            "<134> CEF:0|Citrix|NetScaler|NS|APPFW|X|6|=== \\ \\\\ = =",
            "\"\"\"\"\"\"",
            "Ω≈ç√∫˜µ≤≥÷ 07/08/2024:01:31:08 GMT ñ 0-PPE-0 : default 𝕏 Ü 1 0 : Ключ значение - 键 值",
            "<134> 07/08/2024:01:31:08 GMT ns 0-PPE-0 : default SSLVPN LOGIN 1 0 : SessionId: 99999999999999999999999 - Source 1.2.3.4:0",
        ]
        .map(String::from),
    );
    let mut alone = Vec::new();
    for line in &lines {
        let before = out.len();
        let outcome = mapper.map(line, received(), &mut out);
        match &outcome {
            Outcome::Mapped { .. } => {
                let _: serde_json::Value =
                    serde_json::from_slice(&out[before..]).expect("valid JSON even for odd input");
            }
            Outcome::Rejected(reject) => assert!(!reject.detail.is_empty()),
            Outcome::Blank => assert!(line.trim().is_empty()),
        }
        alone.push((outcome, without_event_id(&out[before..])));
    }
    // The same lines as one chunk, through the one-pass path: the same outcome and event for
    // each line, in order (the lines the pass leaves open are mapped alone, as `map` does).
    let text = lines.join("\n");
    let mut outcomes = Vec::new();
    let mut chunk_out = Vec::new();
    mapper.map_batch(text.as_bytes(), received(), &mut chunk_out, |_, outcome| outcomes.push(outcome.clone()));
    // The events are in line order: each mapped line takes the next one.
    let mut events = chunk_out.split_inclusive(|&b| b == b'\n');
    let batch: Vec<_> = outcomes
        .into_iter()
        .map(|outcome| {
            let event = matches!(outcome, Outcome::Mapped { .. }).then(|| events.next()).flatten();
            (outcome, event.and_then(without_event_id))
        })
        .collect();
    assert!(events.next().is_none(), "no event without a mapped line");
    assert_eq!(batch.len(), alone.len());
    for (i, (b, a)) in batch.iter().zip(&alone).enumerate() {
        assert!(b == a, "line {i}: {:?}\none pass: {b:?}\nalone: {a:?}", lines[i]);
    }
}

/// An event as JSON without its random `EventId` (nothing for a rejected line).
fn without_event_id(json: &[u8]) -> Option<serde_json::Value> {
    let mut event: serde_json::Value = serde_json::from_slice(json).ok()?;
    event.as_object_mut()?.remove("EventId");
    Some(event)
}

/// A line with thousands of distinct keys, some repeated: every key is kept, repeats become
/// arrays, and the work stays linear (past 64 unmapped tokens they are grouped in a map).
#[test]
fn a_line_with_very_many_keys() {
    let plan = plan();
    let settings = Settings::default();
    let mut mapper = Mapper::new(&plan, &settings);
    let pairs: Vec<String> = (0..20_000).map(|i| format!("K{} v{i}", i % 15_000)).collect();
    let line = format!("<134> 07/08/2024:01:31:08 GMT ns1 0-PPE-0 : default TCP X 1 0 : {}", pairs.join(" - "));
    let mut out = Vec::new();
    assert!(matches!(mapper.map(&line, received(), &mut out), Outcome::Mapped { .. }));
    let event: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let unmapped = event["_unmapped"].as_object().unwrap();
    assert_eq!(unmapped.len(), 15_000 + 3, "15,000 keys plus @ppe, @partition, @n (@seq is the sessionId)");
    assert_eq!(unmapped["K7"], serde_json::json!(["v7", "v15007"]));
    assert_eq!(unmapped["K14999"], "v14999");
}

/// Unmapped keys are grouped in first-seen order, repeats as arrays, whatever their number:
/// below, at and above the count where grouping moves from the stack to a map.
#[test]
fn unmapped_keys_keep_their_order_and_repeats_at_any_count() {
    let plan = plan();
    let settings = Settings::default();
    let mut mapper = Mapper::new(&plan, &settings);
    for n in [1usize, 2, 10, 30, 59, 60, 61, 64, 65, 100, 300] {
        let distinct = n / 3 + 1;
        let pairs: Vec<String> = (0..n).map(|i| format!("K{} v{i}", i % distinct)).collect();
        let line = format!("<134> 07/08/2024:01:31:08 GMT ns1 0-PPE-0 : default TCP X 1 0 : {}", pairs.join(" - "));
        let mut out = Vec::new();
        assert!(matches!(mapper.map(&line, received(), &mut out), Outcome::Mapped { .. }), "{n}");
        let mut groups = vec![r#""@ppe":"0-PPE-0","@partition":"default","@n":"0""#.to_string()];
        for k in 0..distinct.min(n) {
            let values: Vec<String> = (k..n).step_by(distinct).map(|i| format!("\"v{i}\"")).collect();
            groups.push(match values.len() {
                1 => format!("\"K{k}\":{}", values[0]),
                _ => format!("\"K{k}\":[{}]", values.join(",")),
            });
        }
        let expected = format!("\"_unmapped\":{{{}}}", groups.join(","));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(&expected), "{n} keys:\n{text}\nexpected {expected}");
    }
}

/// Every line we have (the shared corpus, the guide's cases and its sample) gives the same
/// event written the direct way and the general way (see `xdrmap::fuzzing::direct_and_general`).
#[test]
fn the_direct_and_general_paths_write_the_same_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = root.join("mappings/citrix_loadbalancer");
    let mut text = std::fs::read_to_string(root.join("../shared/corpus/ALL-unique-lines.log.txt")).unwrap_or_default();
    text += &std::fs::read_to_string(guide.join("sample.log")).unwrap();
    for case in std::fs::read_dir(guide.join("cases")).unwrap() {
        let case: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(case.unwrap().path()).unwrap()).unwrap();
        text += case["line"].as_str().unwrap();
        text.push('\n');
    }
    assert!(text.lines().count() > 150, "the cases and the sample give lines");
    xdrmap::fuzzing::direct_and_general(text.as_bytes());
}
