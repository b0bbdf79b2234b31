//! Throughput of each stage on the generated NetScaler corpus, side by side in one run:
//! the tokenizer line by line and in one pass per chunk, the engine (one-pass tokenizer +
//! plan + JSON, as `xdrmap map` runs it) and the ratio between them. Run:
//! `cargo bench --bench stages` (add `--no-default-features` for the build without run-time
//! grammars).
//!
//! Input: `XDRMAP_BENCH_CORPUS` (default `/tmp/corpus-bench.log`, made with
//! `python3 ../shared/bench/gen_corpus.py -n 200000 -o /tmp/corpus-bench.log`).
//! `XDRMAP_BENCH_ROUNDS` (default 5); `XDRMAP_BENCH_ONLY=lines|chunks|engine|vm` runs one
//! stage, for a profiler.

use std::time::{Duration, Instant};
use xdrmap::guide::{builtin_sources, compile};
use xdrmap::runtime::{Mapper, Settings};
use xdrmap::syntax::{builtin_grammars, Grammar, LineTokens, NetScaler, Token};

/// The chunk size of `xdrmap map`.
const CHUNK: usize = 256 * 1024;

fn main() {
    let path = std::env::var("XDRMAP_BENCH_CORPUS").unwrap_or_else(|_| "/tmp/corpus-bench.log".into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}\nmake it with: python3 ../shared/bench/gen_corpus.py -n 200000 -o {path}");
        std::process::exit(2)
    });
    let lines: Vec<&str> = text.lines().collect();
    let chunks = chunks(&text);
    let bytes = text.len() as f64;
    let plan = compile(&builtin_sources(), builtin_grammars()).expect("built-in guide");
    let settings = Settings::default();
    let received = chrono::Utc::now();
    // XDRMAP_BENCH_ROUNDS=1 with callgrind gives repeatable instruction counts.
    let rounds: usize = std::env::var("XDRMAP_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let only = std::env::var("XDRMAP_BENCH_ONLY").ok();
    let wanted = |stage: &str| only.as_deref().map_or(true, |o| o == stage);
    #[cfg(feature = "runtime-grammars")]
    let runtime = {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/netscaler.pest");
        xdrmap::syntax::runtime::PestFile::load(std::path::Path::new(path)).0.expect("netscaler.pest loads at run time")
    };
    let (mut by_line, mut by_chunk, mut engine, mut vm) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        // The stages alternate in one run, so that a noisy neighbour hits all of them.
        if wanted("lines") {
            by_line.push(time(|| tokenize_by_line(&NetScaler, &lines)));
        }
        if wanted("chunks") {
            by_chunk.push(time(|| {
                let (mut out, mut spans): (Vec<Token<'_>>, Vec<LineTokens>) = (Vec::new(), Vec::new());
                let mut n = 0;
                for chunk in &chunks {
                    NetScaler.tokenize_lines(chunk, &mut out, &mut spans);
                    n += out.len();
                }
                n
            }));
        }
        if wanted("engine") {
            engine.push(time(|| {
                let mut mapper = Mapper::new(&plan, &settings);
                let mut out = Vec::with_capacity(2 * CHUNK + 4096);
                let mut n = 0;
                for chunk in &chunks {
                    out.clear();
                    mapper.map_lines(chunk, received, &mut out, |mapper, line, settled, out| {
                        if settled.is_none() {
                            mapper.map(line, received, out);
                        }
                    });
                    n += out.len();
                }
                n
            }));
        }
        #[cfg(feature = "runtime-grammars")]
        if wanted("vm") {
            vm.push(time(|| tokenize_by_line(&runtime, &lines)));
        }
    }
    let report = |name: &str, runs: &mut Vec<Duration>| -> Option<f64> {
        if runs.is_empty() {
            return None;
        }
        runs.sort();
        let median = runs[runs.len() / 2].as_secs_f64();
        println!(
            "{name:<36} {:>10.0} lines/s {:>8.1} MB/s  (median of {rounds}, {:.2} µs/line)",
            lines.len() as f64 / median,
            bytes / median / 1e6,
            median * 1e6 / lines.len() as f64
        );
        Some(median)
    };
    let l = report("tokenize, line by line", &mut by_line);
    let c = report("tokenize, one pass per 256 KiB", &mut by_chunk);
    let e = report("engine: tokenize + map + JSON", &mut engine);
    let v = report("tokenize, run-time grammar (pest_vm)", &mut vm);
    if let (Some(l), Some(c)) = (l, c) {
        println!("one pass per chunk saves {:.0}% of the tokenizer's time", (l - c) / l * 100.0);
    }
    if let (Some(c), Some(e)) = (c, e) {
        println!("mapping and output cost {:.0}% of the tokenizer's time", (e - c) / c * 100.0);
    }
    if let (Some(l), Some(v)) = (l, v) {
        println!("the grammar loaded at run time takes {:.1}x the compiled grammar's time", v / l);
    }
}

fn tokenize_by_line(grammar: &dyn Grammar, lines: &[&str]) -> usize {
    let mut out: Vec<Token<'_>> = Vec::new();
    let mut n = 0;
    for line in lines {
        if grammar.tokenize(line, &mut out).is_ok() {
            n += out.len();
        }
    }
    n
}

/// The text cut as `xdrmap map` cuts it: whole lines, a chunk ends at the first line ending
/// past `CHUNK` bytes.
fn chunks(text: &str) -> Vec<&str> {
    let mut chunks = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.get(CHUNK..).and_then(|tail| tail.find('\n')).map_or(rest.len(), |i| CHUNK + i + 1);
        let (chunk, tail) = rest.split_at(end);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

fn time(f: impl FnOnce() -> usize) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}
