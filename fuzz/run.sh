#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), seeded with fuzz/regressions/<target>,
# and prints each target's executions. A crash or a slow input (over 10 s, or 2 GB) stops
# with libFuzzer's report and the input in fuzz/artifacts/<target>/: fix it, then copy the
# input into fuzz/regressions/<target>/ as NAME.bin so that `cargo test` replays it.
#
#   fuzz/run.sh [SECONDS] [TARGET...]        (needs nightly and cargo-fuzz; SANITIZER=address)
#   RUNS=10000000 fuzz/run.sh 7200 guide     (stops at RUNS executions or SECONDS, the first)
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}; shift || true
# Safe Rust needs no address sanitizer to find panics, hangs and exhaustion, and runs many
# times faster without one; SANITIZER=address brings it back.
sanitizer=${SANITIZER:-none}
runs=${RUNS:-}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(map_lines threads scanner guide grammar framing query)
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  cp -n regressions/"$t"/* "corpus/$t/" 2>/dev/null || true
  log=$(mktemp)
  if ! cargo +nightly fuzz run -O --sanitizer "$sanitizer" "$t" "corpus/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 ${runs:+-runs="$runs"} >"$log" 2>&1; then
    tail -40 "$log"; echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)"; exit 1
  fi
  printf 'fuzz: %-10s %12s executions in %ss, %s inputs in the corpus\n' "$t" \
    "$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
    "$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)" "$(ls "corpus/$t" | wc -l)"
  rm -f "$log"
done
