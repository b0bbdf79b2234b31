//! Throughput of each stage on the generated NetScaler corpus, side by side in one run:
//! the tokenizer line by line and in one pass per chunk, the engine (one-pass tokenizer +
//! plan + JSON, `Mapper::map_batch` on the chunks of `sources::Chunker`, as `xdrmap map` runs
//! them), the grammar file loaded at run time (interpreter, and pest_vm alone) and the ratios
//! between them. Run:
//! `cargo bench --bench stages`.
//!
//! Input: `XDRMAP_BENCH_CORPUS` (default `/tmp/corpus-bench.log`, made with
//! `python3 ../shared/bench/gen_corpus.py -n 200000 -o /tmp/corpus-bench.log`).
//! `XDRMAP_BENCH_ROUNDS` (default 5); `XDRMAP_BENCH_ONLY=lines|chunks|engine|interpreter|vm`
//! runs one stage, for a profiler.

use std::time::{Duration, Instant};
use xdrmap::guide::{builtin_sources, compile};
use xdrmap::runtime::{Mapper, Settings};
use xdrmap::sources::{Chunker, CHUNK_BYTES};
use xdrmap::syntax::{builtin_grammars, Grammar, LineTokens, NetScaler, Token};

fn main() {
    let path = std::env::var("XDRMAP_BENCH_CORPUS").unwrap_or_else(|_| "/tmp/corpus-bench.log".into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}\nmake it with: python3 ../shared/bench/gen_corpus.py -n 200000 -o {path}");
        std::process::exit(2)
    });
    let lines: Vec<&str> = text.lines().collect();
    let chunks = chunks(&text);
    let chunk_text: Vec<&str> = chunks.iter().map(|c| std::str::from_utf8(c).expect("the corpus is UTF-8")).collect();
    let bytes = text.len() as f64;
    let plan = compile(&builtin_sources(), builtin_grammars()).expect("built-in guide");
    let settings = Settings::default();
    let received = chrono::Utc::now();
    // XDRMAP_BENCH_ROUNDS=1 with callgrind gives repeatable instruction counts.
    let rounds: usize = std::env::var("XDRMAP_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let only = std::env::var("XDRMAP_BENCH_ONLY").ok();
    let wanted = |stage: &str| only.as_deref().is_none_or(|o| o == stage);
    let runtime = {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/netscaler.pest");
        xdrmap::syntax::pest_file::PestFile::load(std::path::Path::new(path), &xdrmap::limits::Limits::default())
            .0
            .expect("netscaler.pest loads at run time")
    };
    let (mut by_line, mut by_chunk, mut engine) = (Vec::new(), Vec::new(), Vec::new());
    let (mut interpreted, mut vm) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        // The stages alternate in one run, so that a noisy neighbour hits all of them.
        if wanted("lines") {
            by_line.push(time(|| tokenize_by_line(&NetScaler, &lines)));
        }
        if wanted("chunks") {
            by_chunk.push(time(|| {
                let (mut out, mut spans): (Vec<Token<'_>>, Vec<LineTokens>) = (Vec::new(), Vec::new());
                let mut n = 0;
                for chunk in &chunk_text {
                    NetScaler.tokenize_lines(chunk, &mut out, &mut spans);
                    n += out.len();
                }
                n
            }));
        }
        if wanted("engine") {
            engine.push(time(|| {
                let mut mapper = Mapper::new(&plan, &settings);
                let mut out = Vec::with_capacity(2 * CHUNK_BYTES + 4096);
                let mut n = 0;
                for chunk in &chunks {
                    out.clear();
                    mapper.map_batch(chunk, received, &mut out, |_, _| {});
                    n += out.len();
                }
                n
            }));
        }
        if wanted("interpreter") {
            interpreted.push(time(|| tokenize_by_line(&runtime, &lines)));
        }
        if wanted("vm") {
            vm.push(time(|| {
                let (mut out, mut n): (Vec<Token<'_>>, usize) = (Vec::new(), 0);
                for line in &lines {
                    if runtime.tokenize_with_vm(line, &mut out).is_ok() {
                        n += out.len();
                    }
                }
                n
            }));
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
    let i = report("tokenize, run-time grammar (interpreter)", &mut interpreted);
    let v = report("tokenize, run-time grammar (pest_vm)", &mut vm);
    if let (Some(l), Some(c)) = (l, c) {
        println!("one pass per chunk saves {:.0}% of the tokenizer's time", (l - c) / l * 100.0);
    }
    if let (Some(c), Some(e)) = (c, e) {
        println!("mapping and output cost {:.0}% of the tokenizer's time", (e - c) / c * 100.0);
    }
    if let (Some(l), Some(i)) = (l, i) {
        println!("the grammar loaded at run time takes {:.1}x the compiled grammar's time", i / l);
    }
    if let (Some(i), Some(v)) = (i, v) {
        println!("the interpreter is {:.1}x as fast as pest_vm", v / i);
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

/// The text cut as `xdrmap map` cuts it, by the same chunker.
fn chunks(text: &str) -> Vec<Vec<u8>> {
    let mut chunker = Chunker::new(text.as_bytes());
    let mut data = Vec::new();
    std::iter::from_fn(|| chunker.next_chunk(&mut data).expect("reading memory cannot fail").map(|_| data.clone()))
        .collect()
}

fn time(f: impl FnOnce() -> usize) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}
