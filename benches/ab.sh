#!/usr/bin/env bash
# Two xdrmap binaries side by side on the generated corpus of ../shared/bench: A B A B ...,
# each run `map FILE -o FILE`, pinned to one core (--threads 1) and then on all cores, so that
# a noisy neighbour hits both alike. Prints every run with its peak memory, the medians and
# the ratio B/A of throughput; with CALLGRIND=1 also the instructions per line of each (5,000
# lines, start-up subtracted by a run on one line).
#
#   benches/ab.sh BIN_A BIN_B [LINES] [ROUNDS]      (defaults: 200000 lines, 7 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1; b=$2; lines=${3:-200000}; rounds=${4:-7}
corpus=/tmp/xdrmap-corpus-$lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$lines" -o "$corpus"
out=/tmp/xdrmap-ab-out.jsonl
echo "A = $a"; echo "B = $b"
declare -A runs
for _ in $(seq "$rounds"); do
  for cores in one all; do
    for side in A B; do
      bin=$a; [ "$side" = B ] && bin=$b
      if [ "$cores" = one ]; then cmd=(taskset -c 0 "$bin" map --threads 1); else cmd=("$bin" map); fi
      rm -f "$out"; sync # the last output's truncation and writeback, not timed (see run.sh)
      start=$(date +%s.%N)
      /usr/bin/time -f "%M" -o /tmp/xdrmap-ab-rss "${cmd[@]}" "$corpus" -o "$out" 2>/dev/null
      secs=$(echo "$(date +%s.%N) - $start" | bc -l)
      printf '%s %-4s %6.3f s %9.0f lines/s  peak RSS %s KB\n' "$side" "$cores" "$secs" \
        "$(echo "$lines / $secs" | bc -l)" "$(cat /tmp/xdrmap-ab-rss)"
      runs[$side-$cores]+="$secs "
    done
  done
done
rm -f "$out"
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "medians of $rounds rounds, $lines lines:"
for cores in one all; do
  ma=$(median "${runs[A-$cores]}"); mb=$(median "${runs[B-$cores]}")
  printf '  %-4s A %9.0f lines/s   B %9.0f lines/s   B/A %.3f\n' "$cores" \
    "$(echo "$lines / $ma" | bc -l)" "$(echo "$lines / $mb" | bc -l)" "$(echo "$ma / $mb" | bc -l)"
done
if [ "${CALLGRIND:-0}" = 1 ]; then
  head -5000 "$corpus" > /tmp/xdrmap-ab-5k.log
  head -1 "$corpus" > /tmp/xdrmap-ab-1.log
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" map --threads 1 "$2" -o /dev/null 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
  for side in A B; do
    bin=$a; [ "$side" = B ] && bin=$b
    full=$(count "$bin" /tmp/xdrmap-ab-5k.log); base=$(count "$bin" /tmp/xdrmap-ab-1.log)
    printf '  %s: %d instructions per line (callgrind, 5,000 lines)\n' "$side" $(( (full - base) / 4999 ))
  done
fi
