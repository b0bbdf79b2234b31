#!/usr/bin/env bash
# xdrmap against liblognorm's lognormalizer (Debian liblognorm-utils, with the rulebase in
# ../shared/bench/lognorm/) on the generated corpus of ../shared/bench, file in, JSON Lines file
# out, in one interleaved run: each round runs xdrmap pinned to one core (--threads 1),
# lognormalizer pinned to the same core, and xdrmap on both cores, so that a noisy neighbour
# hits all three alike. Prints every run, the medians and the ratios, then each one's
# instructions per line (callgrind, 5,000 lines, start-up subtracted by a run on one line).
# lognormalizer has no threads: its one-core figure is its figure.
#
#   benches/run.sh [LINES] [ROUNDS]      (defaults: 1000000 lines, 5 rounds; CALLGRIND=0 skips)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}; rounds=${2:-5}
rulebase=../shared/bench/lognorm/netscaler.rulebase
if ! command -v lognormalizer >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q liblognorm-utils >/dev/null
  else
    echo "benches/run.sh: lognormalizer is missing; install it with: sudo apt-get install liblognorm-utils" >&2
    exit 2
  fi
fi
cargo build --release -q
bin=target/release/xdrmap
corpus=/tmp/xdrmap-corpus-$lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$lines" -o "$corpus"
out=/tmp/xdrmap-run-out.jsonl
run() { # NAME COMMAND...: one timed run, its output to $out
  local name=$1; shift
  local start secs
  # The last run's output is removed and written back first: truncating a file of hundreds of
  # megabytes, and the writeback it starts, would otherwise be timed as this run's (it held
  # xdrmap on both cores to 150-170% CPU instead of 198%).
  rm -f "$out"; sync
  start=$(date +%s.%N)
  "$@" <"$corpus" >"$out" 2>/dev/null
  secs=$(echo "$(date +%s.%N) - $start" | bc -l)
  printf '%-22s %7.3f s %10.0f lines/s\n' "$name" "$secs" "$(echo "$lines / $secs" | bc -l)"
  runs[$name]+="$secs "
}
declare -A runs
for _ in $(seq "$rounds"); do
  run "xdrmap one core" taskset -c 0 "$bin" map --threads 1 -
  run "lognormalizer one core" taskset -c 0 lognormalizer -r "$rulebase" -e json
  run "xdrmap both cores" "$bin" map -
done
rm -f "$out"
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
x1=$(median "${runs[xdrmap one core]}"); ln=$(median "${runs[lognormalizer one core]}")
x2=$(median "${runs[xdrmap both cores]}")
echo "medians of $rounds rounds, $lines lines ($(du -m "$corpus" | cut -f1) MB):"
printf '  xdrmap, one core         %10.0f lines/s\n' "$(echo "$lines / $x1" | bc -l)"
printf '  xdrmap, both cores       %10.0f lines/s   %.2fx its one core\n' "$(echo "$lines / $x2" | bc -l)" \
  "$(echo "$x1 / $x2" | bc -l)"
printf '  lognormalizer, one core  %10.0f lines/s   xdrmap one core is %.2fx it\n' \
  "$(echo "$lines / $ln" | bc -l)" "$(echo "$ln / $x1" | bc -l)"
if [ "${CALLGRIND:-1}" = 1 ]; then
  head -5000 "$corpus" >/tmp/xdrmap-run-5k.log
  head -1 "$corpus" >/tmp/xdrmap-run-1.log
  count() { # FILE COMMAND...: instructions to run COMMAND on FILE
    local file=$1; shift
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" <"$file" 2>&1 >/dev/null |
      sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
  }
  per_line() { echo $(( ($(count /tmp/xdrmap-run-5k.log "$@") - $(count /tmp/xdrmap-run-1.log "$@")) / 4999 )); }
  echo "instructions per line (callgrind, 5,000 lines):"
  echo "  xdrmap         $(per_line "$bin" map --threads 1 - -o /dev/null)"
  echo "  lognormalizer  $(per_line lognormalizer -r "$rulebase" -e json)"
fi
