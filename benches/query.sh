#!/usr/bin/env bash
# `xdrmap query` against `xdrmap map`, side by side on one core (taskset -c 0): each round maps
# the generated corpus of ../shared/bench with one thread (events/s written), then runs three
# queries over those events (events/s read): a text clause, a CIDR and NOT, a numeric OR. The
# issue's bar is query >= map. Prints every run, the medians and the ratios.
#
#   benches/query.sh [LINES] [ROUNDS]        (defaults: 1000000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}; rounds=${2:-3}
corpus=/tmp/xdrmap-corpus-$lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$lines" -o "$corpus"
cargo build --release -q
bin=target/release/xdrmap
work=$(mktemp -d /tmp/xdrmap-query-bench.XXXX)
trap 'rm -rf "$work"' EXIT
queries=(
  'eventName: LOGIN_FAILED'
  'eventName: login AND NOT sourceIpv4: 10.0.0.0/8'
  'inByte > 1048576 OR outByte > 1048576'
)
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
declare -A runs
for round in $(seq "$rounds"); do
  t0=$(now)
  taskset -c 0 "$bin" map --threads 1 "$corpus" -o "$work/events.jsonl" 2>/dev/null
  t1=$(now)
  runs[map]+="$(rate "$lines" "$(echo "$t1 - $t0" | bc)") "
  line="round $round: map $(rate "$lines" "$(echo "$t1 - $t0" | bc)") events/s"
  for i in "${!queries[@]}"; do
    t0=$(now)
    n=$(taskset -c 0 "$bin" query "${queries[$i]}" --count "$work/events.jsonl" || true)
    t1=$(now)
    runs[q$i]+="$(rate "$lines" "$(echo "$t1 - $t0" | bc)") "
    line+=", query $i $(rate "$lines" "$(echo "$t1 - $t0" | bc)") events/s ($n matched)"
  done
  echo "$line"
done
m=$(median ${runs[map]})
echo "medians of $rounds rounds, $lines events, one core:"
echo "  map                                                      $m events/s"
for i in "${!queries[@]}"; do
  q=$(median ${runs[q$i]})
  printf '  query %-50s %s events/s  (%.2f x map)\n' "'${queries[$i]}'" "$q" "$(echo "$q / $m" | bc -l)"
done
