//! The scanner build.rs compiles from `grammar/netscaler.pest` is held to the pest_derive
//! parser of the same file, and the interpreter of grammars loaded at run time to pest_vm: on
//! every line it decides, the same tokens (names, values, escapes, offsets); every line pest
//! accepts, it decides; line by line and in batches. The lines: the guide cases, the sample,
//! the shared corpus, 20,000 lines of the bench corpus, broken lines, and every line cut
//! short and with bytes changed.

mod common;

use std::path::Path;
use xdrmap::limits::Limits;
use xdrmap::syntax::pest_file::PestFile;
use xdrmap::syntax::{Grammar, LineTokens, NetScaler, Token};

fn known_lines() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = common::case_lines();
    let sample = std::fs::read_to_string(root.join("mappings/citrix_loadbalancer/sample.log")).unwrap();
    lines.extend(sample.lines().map(String::from));
    if let Ok(corpus) = std::fs::read_to_string(root.join("../shared/corpus/ALL-unique-lines.log.txt")) {
        lines.extend(corpus.lines().map(String::from));
    }
    lines.extend(bench_corpus(20_000));
    lines
}

/// Lines of `../shared/bench/gen_corpus.py`, when it and python3 are there.
fn bench_corpus(n: usize) -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_corpus.py");
    let out =
        std::process::Command::new("python3").arg(&script).args(["-n", &n.to_string(), "-o", "/dev/stdout"]).output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect(),
        _ => Vec::new(),
    }
}

/// Each line cut at a few places, and with a few bytes replaced by the characters the grammar
/// turns on.
fn variants(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate().take(3000) {
        let cuts: Vec<usize> =
            (1..line.len()).step_by(1 + line.len() / 9).filter(|&i| line.is_char_boundary(i)).collect();
        out.extend(cuts.iter().map(|&i| line[..i].to_string()));
        for (k, &i) in cuts.iter().enumerate() {
            let with = [" ", "-", "\"", "\\", ":", "=", "|", "[", "]", "<", ">", "  ", "- "][(n + k) % 13];
            out.push(format!("{}{with}{}", &line[..i], &line[i..]));
        }
    }
    out
}

#[test]
fn the_scanner_reads_every_line_as_pest_does() {
    let g = NetScaler;
    let mut lines = known_lines();
    assert!(lines.len() > 20_000 || !Path::new("../shared/bench/gen_corpus.py").exists());
    lines.extend(variants(&lines.clone()));
    let (mut decided, mut accepted) = (0, 0);
    for line in &lines {
        let (mut scanned, mut parsed) = (Vec::new(), Vec::new());
        let by_scanner = g.tokenize_with_scanner(line, &mut scanned);
        let by_pest = g.tokenize_with_pest(line, &mut parsed).is_ok();
        assert_eq!(by_scanner, by_pest, "the scanner and pest disagree on accepting {line:?}");
        if by_scanner {
            assert!(scanned == parsed, "other tokens for {line:?}:\nscanner {scanned:?}\npest    {parsed:?}");
            decided += 1;
        }
        accepted += usize::from(by_pest);
    }
    eprintln!("{decided} decided, {accepted} accepted, {} lines", lines.len());
    assert_eq!(decided, accepted);
    assert!(accepted > lines.len() / 3, "{accepted} of {} lines accepted: the variants are too broken", lines.len());
}

#[test]
fn batches_read_as_pest_reads_them() {
    let g = NetScaler;
    let lines = known_lines();
    for batch in lines.chunks(500) {
        let text = batch.join("\n") + "\n";
        let (mut a, mut a_lines) = (Vec::new(), Vec::new());
        g.tokenize_lines(&text, &mut a, &mut a_lines);
        let (mut b, mut b_lines) = (Vec::new(), Vec::new());
        g.tokenize_lines_with_pest(&text, &mut b, &mut b_lines);
        assert_eq!(a_lines.len(), b_lines.len());
        for (x, y) in a_lines.iter().zip(&b_lines) {
            assert_eq!(x.text, y.text);
            match (tokens_of(x, &a), tokens_of(y, &b)) {
                (Some(p), Some(q)) => assert!(p == q, "{:?}", &text[x.text.clone()]),
                (p, q) => assert_eq!(p.is_some(), q.is_some(), "{:?}", &text[x.text.clone()]),
            }
        }
    }
}

fn tokens_of<'a>(line: &LineTokens, all: &[Token<'a>]) -> Option<Vec<Token<'a>>> {
    line.tokens.clone().map(|r| all[r].to_vec())
}

/// The grammar fuzz target's seeds written for the interpreter (`interp-*.bin`: a grammar, a
/// NUL, lines) replay through its property in `tests/fuzz_regressions.rs`; this holds them to
/// being worth it: each grammar loads, runs on the interpreter, and has lines it accepts and
/// lines it rejects, each decided.
#[test]
fn the_interpreter_seeds_exercise_the_interpreter() {
    insta::glob!("../fuzz/regressions/grammar", "interp-*.bin", |path| {
        let data = std::fs::read(path).unwrap();
        let split = data.iter().position(|&b| b == 0).unwrap();
        let text = String::from_utf8(data[..split].to_vec()).unwrap();
        let lines = String::from_utf8(data[split + 1..].to_vec()).unwrap();
        let (grammar, problems) = PestFile::from_text("seed.pest", &text, &Limits::default());
        let grammar = grammar.unwrap_or_else(|| panic!("{problems:?}"));
        assert!(grammar.interpreted(), "{}: the interpreter does not run it", path.display());
        let mut out = Vec::new();
        let verdicts: Vec<Option<bool>> =
            lines.split('\n').map(|l| grammar.tokenize_with_interpreter(l, &mut out)).collect();
        assert!(verdicts.contains(&Some(true)) && verdicts.contains(&Some(false)), "{}: {verdicts:?}", path.display());
        assert!(!verdicts.contains(&None), "{}: {verdicts:?}", path.display());
    });
}

/// `grammar/netscaler.pest` loaded at run time: the interpreter and pest_vm read the known
/// lines and their variants alike (pest_vm is slow, so a share of them).
#[test]
fn the_interpreter_reads_netscaler_lines_as_pest_vm_does() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("grammar/netscaler.pest");
    let (grammar, problems) = PestFile::load(&path, &Limits::default());
    let grammar = grammar.unwrap_or_else(|| panic!("{problems:?}"));
    assert!(grammar.interpreted());
    let mut lines: Vec<String> = known_lines().into_iter().step_by(7).collect();
    lines.extend(variants(&lines.clone()).into_iter().step_by(3));
    let (mut accepted, mut interpreted, mut by_vm) = (0, Vec::new(), Vec::new());
    for line in &lines {
        let verdict = grammar.tokenize_with_interpreter(line, &mut interpreted);
        let vm = grammar.tokenize_with_vm(line, &mut by_vm).is_ok();
        assert_eq!(verdict, Some(vm), "the interpreter and pest_vm disagree on accepting {line:?}");
        if vm {
            assert_eq!(interpreted, by_vm, "other tokens for {line:?}");
            accepted += 1;
        }
    }
    assert!(accepted > lines.len() / 3, "{accepted} of {} lines accepted", lines.len());
}

/// The interpreter bounds its own recursion (on a test thread's 2 MiB stack, in a debug
/// build): a line nested deeper than its bound is left to pest_vm, whose stack guard decides.
#[test]
fn the_interpreter_leaves_a_line_deeper_than_its_bound_to_pest_vm() {
    let text = "line = { SOI ~ a ~ EOI }\na = { \"(\" ~ a ~ \")\" | \"x\" }\n";
    let grammar = PestFile::from_text("deep.pest", text, &Limits::default()).0.expect("it loads");
    let nested = |n: usize| format!("{}x{}", "(".repeat(n), ")".repeat(n));
    let (shallow, deep) = (nested(500), nested(5000));
    let mut out = Vec::new();
    assert_eq!(grammar.tokenize_with_interpreter(&shallow, &mut out), Some(true));
    assert_eq!(grammar.tokenize_with_interpreter(&deep, &mut out), None);
    let _ = grammar.tokenize(&deep, &mut out); // pest_vm's verdict, either way no crash
}
