#!/usr/bin/env bash
# Instructions per line of each stage of benches/stages.rs, per family of the bench corpus
# (callgrind, exact whatever the machine is doing): the built-in grammar's scanner, the engine
# (tokenize + map + JSON) and the run-time grammar on the interpreter, on LINES lines of each
# family, with the bench's set-up (corpus read, plan compiled) subtracted.
#
#   benches/families.sh [LINES]      (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
cargo bench --bench stages --no-run -q 2>/dev/null
bench=$(ls -t target/release/deps/stages-* | grep -v '\.d$' | head -1)
corpus=/tmp/xdrmap-families-corpus.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n 200000 -o "$corpus"
count() { # FILE STAGE: instructions of one round of STAGE on FILE
  XDRMAP_BENCH_CORPUS=$1 XDRMAP_BENCH_ONLY=$2 XDRMAP_BENCH_ROUNDS=1 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bench" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-24s %10s %10s %12s\n' family scanner engine interpreter
for family in "TCP CONN_TERMINATE" "TCP CONN_DELINK" "APPFW" "GUI CMD_EXECUTED" "SSLVPN LOGIN_FAILED"; do
  file=/tmp/xdrmap-family-${family// /_}.log
  awk -v f="$family" -v n="$n" 'index($0, f) && k++ < n' "$corpus" >"$file"
  lines=$(wc -l <"$file")
  base=$(count "$file" none)
  per() { echo $(( ($(count "$file" "$1") - base) / lines )); }
  printf '%-24s %10s %10s %12s\n' "$family" "$(per lines)" "$(per engine)" "$(per interpreter)"
done
