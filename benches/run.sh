#!/usr/bin/env bash
# End-to-end throughput of `xdrmap map` on the generated corpus of ../shared/bench: file in,
# JSON Lines file out, built-in Citrix guide. Two release builds are measured side by side:
#   default  run-time grammars on (pest_meta and pest_vm switch on pest's `std`, whose stack
#            probe runs on every parser call);
#   fast     --no-default-features (built-in grammars only, no stack probe).
# Each round runs all four cases in turn (each build pinned to one core with taskset -c 0,
# then on all cores), so that a noisy neighbour hits them alike; the medians follow.
#
#   benches/run.sh [LINES] [ROUNDS]      (defaults: 1000000 lines, 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
rounds=${2:-5}
corpus=/tmp/xdrmap-corpus-$lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$lines" -o "$corpus"
cargo build --release -q
cargo build --release -q --no-default-features --target-dir target/fast
declare -A bin=([default]=target/release/xdrmap [fast]=target/fast/release/xdrmap)
bytes=$(stat -c %s "$corpus")
out=/tmp/xdrmap-bench-out.jsonl
declare -A runs
for _ in $(seq "$rounds"); do
  for cores in one all; do
    for build in default fast; do
      if [ "$cores" = one ]; then cmd=(taskset -c 0 "${bin[$build]}" map --threads 1); else cmd=("${bin[$build]}" map); fi
      start=$(date +%s.%N)
      /usr/bin/time -f "%M" -o /tmp/xdrmap-rss "${cmd[@]}" "$corpus" -o "$out" 2>/dev/null
      secs=$(echo "$(date +%s.%N) - $start" | bc -l)
      printf '%-8s %-4s %6.2f s  %9.0f lines/s  %6.1f MB/s  peak RSS %s KB\n' "$build" "$cores" "$secs" \
        "$(echo "$lines / $secs" | bc -l)" "$(echo "$bytes / $secs / 1000000" | bc -l)" "$(cat /tmp/xdrmap-rss)"
      runs[$build-$cores]+="$secs "
    done
  done
done
rm -f "$out"
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians of $rounds rounds, $lines lines ($((bytes / 1000000)) MB):"
for cores in one all; do
  for build in default fast; do
    m=$(median "${runs[$build-$cores]}")
    printf '  %-8s %-9s %9.0f lines/s  %6.1f MB/s\n' "$build" "$( [ "$cores" = one ] && echo "1 core" || echo "all cores")" \
      "$(echo "$lines / $m" | bc -l)" "$(echo "$bytes / $m / 1000000" | bc -l)"
  done
  d=$(median "${runs[default-$cores]}"); f=$(median "${runs[fast-$cores]}")
  printf '  fast / default, %s: %.2fx\n' "$cores" "$(echo "$d / $f" | bc -l)"
done
