//! Nothing read and then lost: for every line the repository and the shared corpus hold (and
//! lines of the bench corpus when its generator is at hand), every value the grammar produced
//! is in the event, as the source of a token, under the unmapped object (a candidate that lost
//! to an earlier source is kept under its own key), or in the errors array. Checked on what
//! `xdrmap explain --json` reports, one process for all lines.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod common;

/// The lines to check: the guide's cases, the sample, the shared corpus, and 3,000 lines of
/// the bench corpus when python3 and the generator are there.
fn known_lines(scratch: &Path) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = common::case_lines();
    let sample = std::fs::read_to_string(root.join("mappings/citrix_loadbalancer/sample.log")).unwrap();
    lines.extend(sample.lines().map(String::from));
    match std::fs::read_to_string(root.join("../shared/corpus/ALL-unique-lines.log.txt")) {
        Ok(corpus) => lines.extend(corpus.lines().map(String::from)),
        Err(_) => eprintln!("skipped the shared corpus: ../shared/corpus is absent"),
    }
    let bench = scratch.join("bench.log");
    let generated = Command::new("python3")
        .arg(root.join("../shared/bench/gen_corpus.py"))
        .args(["-n", "3000", "-o"])
        .arg(&bench)
        .status()
        .is_ok_and(|s| s.success());
    match generated {
        true => lines.extend(std::fs::read_to_string(&bench).unwrap().lines().map(String::from)),
        false => eprintln!("skipped the bench corpus: python3 or ../shared/bench/gen_corpus.py is missing"),
    }
    lines.retain(|l| !l.trim().is_empty());
    lines
}

#[test]
fn every_value_read_is_in_the_event() {
    let scratch = common::Scratch::new("fidelity");
    let lines = known_lines(&scratch);
    assert!(lines.len() > 70, "at least the guide's cases");
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrmap"))
        .args(["explain", "--json", "--received-at", "2026-01-01T00:00:00Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = lines.join("\n") + "\n";
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let explained: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(explained.len(), lines.len(), "one explanation per line");
    let mut lost = Vec::new();
    let mut checked = 0;
    for (line, e) in lines.iter().zip(&explained) {
        if !e["rejected"].is_null() {
            continue;
        }
        checked += 1;
        let errors = e["errors"].as_array().unwrap();
        for token in e["tokens"].as_array().unwrap() {
            let name = token["name"].as_str().unwrap();
            if token["value"].as_str().unwrap().is_empty() {
                continue; // an empty value is an absent one
            }
            let used = !token["used_by"].as_array().unwrap().is_empty();
            let kept = token["unmapped"].as_bool().unwrap();
            let flagged = errors.iter().any(|x| x["source"] == name);
            if !(used || kept || flagged) {
                lost.push(format!("{name} = {:?} in {line:?}", token["value"]));
            }
        }
    }
    assert!(checked > 60, "{checked} mapped lines checked");
    assert!(lost.is_empty(), "{} values read and lost:\n{}", lost.len(), lost.join("\n"));
}
