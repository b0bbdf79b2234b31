//! Throughput of each stage on the generated NetScaler corpus: tokenizer alone, mapper
//! (tokenizer + plan + JSON) and the ratio between them. Run: `cargo bench --bench stages`.
//!
//! Input: `XDRMAP_BENCH_CORPUS` (default `/tmp/corpus-bench.log`, made with
//! `python3 ../shared/bench/gen_corpus.py -n 200000 -o /tmp/corpus-bench.log`).

use std::time::{Duration, Instant};
use xdrmap::guide::{builtin_sources, compile};
use xdrmap::runtime::{Mapper, Settings};
use xdrmap::syntax::{builtin_grammars, Grammar, NetScaler, Token};

fn main() {
    let path = std::env::var("XDRMAP_BENCH_CORPUS").unwrap_or_else(|_| "/tmp/corpus-bench.log".into());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("cannot read {path}: {e}\nmake it with: python3 ../shared/bench/gen_corpus.py -n 200000 -o {path}");
        std::process::exit(2)
    });
    let lines: Vec<&str> = text.lines().collect();
    let bytes = text.len() as f64;
    let plan = compile(&builtin_sources(), builtin_grammars()).expect("built-in guide");
    let settings = Settings::default();
    let received = chrono::Utc::now();
    // XDRMAP_BENCH_ROUNDS=1 with callgrind gives repeatable instruction counts.
    let rounds: usize = std::env::var("XDRMAP_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let mut tok = Vec::new();
    let mut map = Vec::new();
    #[cfg(feature = "runtime-grammars")]
    let runtime = {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/netscaler.pest");
        xdrmap::syntax::runtime::PestFile::load(std::path::Path::new(path)).0.expect("netscaler.pest loads at run time")
    };
    let mut vm = Vec::new();
    for _ in 0..rounds {
        // A and B alternate in one run, so that a noisy neighbour hits both.
        tok.push(time(|| {
            let g = NetScaler;
            let mut out: Vec<Token<'_>> = Vec::new();
            let mut n = 0usize;
            for line in &lines {
                if g.tokenize(line, &mut out).is_ok() {
                    n += out.len();
                }
            }
            n
        }));
        #[cfg(feature = "runtime-grammars")]
        vm.push(time(|| {
            let mut out: Vec<Token<'_>> = Vec::new();
            let mut n = 0usize;
            for line in &lines {
                if runtime.tokenize(line, &mut out).is_ok() {
                    n += out.len();
                }
            }
            n
        }));
        map.push(time(|| {
            let mut mapper = Mapper::new(&plan, &settings);
            let mut out = Vec::with_capacity(1 << 16);
            for line in &lines {
                mapper.map(line, received, &mut out);
                if out.len() > 1 << 16 {
                    out.clear();
                }
            }
            out.len()
        }));
    }
    let report = |name: &str, runs: &mut Vec<Duration>| {
        runs.sort();
        let median = runs[runs.len() / 2].as_secs_f64();
        println!(
            "{name:<28} {:>10.0} lines/s {:>8.1} MB/s  (median of {rounds}, {:.1} µs/line)",
            lines.len() as f64 / median,
            bytes / median / 1e6,
            median * 1e6 / lines.len() as f64
        );
        median
    };
    let t = report("tokenize", &mut tok);
    let m = report("tokenize+map+json", &mut map);
    println!("mapping and output cost {:.0}% of the tokenizer's time", (m - t) / t * 100.0);
    if !vm.is_empty() {
        let v = report("tokenize, runtime grammar", &mut vm);
        println!("the same grammar loaded at run time (pest_vm) takes {:.1}x the compiled tokenizer's time", v / t);
    }
}

fn time(f: impl FnOnce() -> usize) -> Duration {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed()
}
