#!/usr/bin/env bash
# End-to-end throughput of the release binary on the generated corpus: file in, JSON Lines
# file out. One core pinned (taskset -c 0) and all cores run alternately, so that a noisy
# neighbour hits both; prints each run and the medians in lines/s and MB/s.
#
#   benches/run.sh [LINES] [ROUNDS]      (defaults: 1000000 lines, 3 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
rounds=${2:-3}
corpus=/tmp/xdrmap-corpus-$lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$lines" -o "$corpus"
cargo build --release -q
bin=target/release/xdrmap
bytes=$(stat -c %s "$corpus")
declare -a one all
for _ in $(seq "$rounds"); do
  for mode in one all; do
    if [ "$mode" = one ]; then cmd=(taskset -c 0 "$bin" map --threads 1); else cmd=("$bin" map); fi
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o /tmp/xdrmap-rss "${cmd[@]}" "$corpus" -o /tmp/xdrmap-out.jsonl 2>/dev/null
    secs=$(echo "$(date +%s.%N) - $start" | bc -l)
    rss=$(cat /tmp/xdrmap-rss)
    printf '%-4s %6.2f s  %9.0f lines/s  %6.1f MB/s  peak RSS %s KB\n' "$mode" "$secs" \
      "$(echo "$lines / $secs" | bc -l)" "$(echo "$bytes / $secs / 1000000" | bc -l)" "$rss"
    if [ "$mode" = one ]; then one+=("$secs"); else all+=("$secs"); fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m1=$(median "${one[@]}"); m2=$(median "${all[@]}")
printf 'median, 1 core:    %9.0f lines/s\n' "$(echo "$lines / $m1" | bc -l)"
printf 'median, all cores: %9.0f lines/s\n' "$(echo "$lines / $m2" | bc -l)"
