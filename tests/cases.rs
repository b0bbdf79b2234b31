//! Guide test cases as data: the Citrix guide's own cases pass and cover every token, and
//! `xdrmap test` reports a mismatch field by field, ends with `N passed, M failed`, and
//! `--bless` rewrites it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use xdrmap::cases::{case_files, run_case};

mod common;
use common::Scratch;
use xdrmap::guide::{compile, load_sources, Plan};
use xdrmap::syntax::builtin_grammars;

/// The built-in Citrix guide, compiled from its device folder.
fn citrix() -> (PathBuf, Plan) {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/citrix_loadbalancer/guide.yaml");
    let plan = compile(&load_sources(&guide).unwrap(), builtin_grammars()).unwrap();
    (guide, plan)
}

/// Every case of the Citrix guide, one per file, passes: the guide's cases are the one set of
/// expected events (`xdrmap test` runs the same cases with the same runner).
#[test]
fn citrix_guide_cases_pass() {
    let (_, plan) = citrix();
    insta::glob!("../mappings/citrix_loadbalancer/cases", "*.yaml", |path| {
        let result = run_case(&plan, 0, path);
        assert!(result.passed(), "{}: {:#?}", path.display(), result.differences);
    });
}

/// Every token of the guide, data fields and internal fields alike, is produced by at least
/// one case, so every row is exercised on a real-shaped line; and the guide ships a case per
/// message family.
#[test]
fn every_token_is_covered_by_a_case() {
    let (guide, plan) = citrix();
    let files = case_files(&guide);
    assert!(files.len() >= 20, "the Citrix guide ships a case per message family");
    let mut seen = BTreeSet::new();
    for file in &files {
        let case: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        if let Some(event) = case["event"].as_mapping() {
            seen.extend(event.keys().filter_map(|k| k.as_str().map(String::from)));
        }
    }
    let fields = &plan.guides[0].fields;
    let missing: Vec<&str> = fields.iter().map(|f| f.token.as_str()).filter(|t| !seen.contains(*t)).collect();
    assert!(missing.is_empty(), "tokens no case produces: {missing:?}");
    assert_eq!(fields.len(), 40, "the vendor's 22 data fields and 10 internal fields, and 8 of xdrmap's own");
}

/// A fresh folder holding a copy of the Citrix guide (`citrix.yaml`) and an empty `citrix.cases/`.
fn guide_with_cases(name: &str) -> Scratch {
    let dir = Scratch::new(name);
    std::fs::create_dir_all(dir.join("citrix.cases")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/citrix_loadbalancer/guide.yaml"),
        dir.join("citrix.yaml"),
    )
    .unwrap();
    dir
}

/// Runs `xdrmap test` (with `--bless` when asked) on the guide in `dir`: exit code and stdout.
fn xdrmap_test(dir: &Path, bless: bool) -> (Option<i32>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xdrmap"));
    cmd.arg("test").arg(dir.join("citrix.yaml"));
    if bless {
        cmd.arg("--bless");
    }
    let out = cmd.output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_mismatch_is_shown_field_by_field_and_can_be_blessed() {
    let dir = guide_with_cases("cases");
    let case = dir.join("citrix.cases/tcp.yaml");
    std::fs::write(
        &case,
        r#"line: "<134> 05/19/2024:22:07:41 GMT lb 0-PPE-1 : default TCP CONN_TERMINATE 881 0 :  Source 10.60.2.15:443 - Destination 198.51.100.77:51822 - Total_bytes_recv 1917"
event:
  eventTime: 2024-05-19T22:07:41Z
  sourcePort: 80
  natSourceIP: 10.0.0.1
"#,
    )
    .unwrap();
    let run = |bless: bool| xdrmap_test(&dir, bless);
    let (code, text) = run(false);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("changed  sourcePort: expected 80, actual 443"), "{text}");
    assert!(text.contains("missing  natSourceIP: expected \"10.0.0.1\""), "{text}");
    assert!(text.contains("extra    destinationPort: 51822"), "{text}");
    assert!(text.contains("extra    _unmapped: {"), "{text}");
    assert!(text.trim_end().ends_with("0 passed, 1 failed"), "{text}");
    let (code, _) = run(true);
    assert_eq!(code, Some(0));
    let (code, text) = run(false);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.trim_end().ends_with("1 passed, 0 failed"), "{text}");
    assert!(std::fs::read_to_string(&case).unwrap().contains("EventId: '[uuid]'"));
}

/// Blessing a case whose line is now rejected records the rejection, not an empty case.
#[test]
fn blessing_a_rejected_line_records_the_reason() {
    let dir = guide_with_cases("bless-reject");
    let case = dir.join("citrix.cases/garbage.yaml");
    std::fs::write(&case, "line: garbage\nevent: {}\n").unwrap();
    let run = |bless: bool| xdrmap_test(&dir, bless).0;
    assert_eq!(run(false), Some(1));
    assert_eq!(run(true), Some(0));
    let blessed = std::fs::read_to_string(&case).unwrap();
    assert!(blessed.contains("rejected: ") && blessed.contains("does not fit grammar"), "{blessed}");
    assert_eq!(run(false), Some(0), "the blessed case passes");
}

/// A case may expect a rejection by its stable code instead of words of its reason.
#[test]
fn a_rejection_is_expected_by_code_or_by_reason() {
    let dir = guide_with_cases("reject-code");
    let case = dir.join("citrix.cases/garbage.yaml");
    for (expected, passes) in [("R301", true), ("does not fit grammar", true), ("R303", false)] {
        std::fs::write(&case, format!("line: garbage\nrejected: {expected}\n")).unwrap();
        let (code, text) = xdrmap_test(&dir, false);
        assert_eq!(code, Some(if passes { 0 } else { 1 }), "{expected}: {text}");
    }
}
