#!/usr/bin/env bash
# `xdrmap serve` against `xdrmap map` on the generated corpus of ../shared/bench, side by side:
# each round runs `map FILE -o FILE`, then `serve` fed the same lines over TCP (octet counting)
# and over TLS by benches/loadgen.rs from another process, timed from the first byte sent (the
# generator frames everything before) to the last event written (read off /metrics), with the counts compared (zero loss) and the
# peak RSS of serve. Then UDP at three rates, with the datagrams received, the kernel's drops
# and the loss. Prints every run and the medians; serve/map is the ratio of lines per second.
#
#   benches/serve.sh [LINES] [ROUNDS] [UDP_LINES]     (defaults: 1000000, 3, 300000)
#   ZERO_LOSS=10000000 benches/serve.sh [LINES]       one TCP run of that many messages (the corpus
#                                                     sent again and again), counts and peak RSS
#   CALLGRIND=1 benches/serve.sh                      instructions per line, map and serve over TCP
#                                                     (20,000 lines, one worker, start-up subtracted)
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}; rounds=${2:-3}; udp_lines=${3:-300000}
corpus=/tmp/xdrmap-corpus-$lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$lines" -o "$corpus"
cargo build --release -q
cargo bench --bench loadgen --no-run -q 2>/dev/null
bin=target/release/xdrmap
loadgen() { cargo bench -q --bench loadgen -- "$@" 2>"$work/started"; }
work=$(mktemp -d /tmp/xdrmap-serve-bench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
loadgen pki "$work/pki"
now() { date +%s.%N; }
metric() { curl -s "http://$metrics/metrics" | awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }'; }

# Starts serve with the given listener flags; sets pid, addr (of the first listener), metrics.
start() {
  rm -f "$work/events.jsonl" "$work/err"
  "$bin" serve "$@" --metrics 127.0.0.1:0 -o "$work/events.jsonl" --rejects "$work/rejects.jsonl" 2>"$work/err" &
  pid=$!
  for _ in $(seq 200); do grep -q "metrics on" "$work/err" 2>/dev/null && break; sleep 0.05; done
  addr=$(sed -n 's#.*listening on [a-z]*://\([0-9.:]*\).*#\1#p' "$work/err")
  metrics=$(sed -n 's#.*metrics on http://\([0-9.:]*\)/metrics#\1#p' "$work/err")
}

stop() {
  kill -TERM "$pid"; wait "$pid" || true
}

# Feeds serve (already started) N lines over PROTO; prints lines/s, the counts and peak RSS.
feed() {
  local proto=$1 n=$2; shift 2
  local t0 t1 done=0 before=-1 still=0
  t0=$(now)
  loadgen send --to "$proto://$addr" --file "$corpus" --count "$n" "$@" >"$work/sent"
  t0=$(awk '/^started/ {print $2}' "$work/started")
  # Until every message is accounted for, or nothing has moved for 5 s (a loss, printed).
  while [ "$still" -lt 250 ]; do
    done=$(( $(metric xdrmap_events_total) + $(metric xdrmap_rejects_total) ))
    [ "$done" -ge "$n" ] && break
    if [ "$done" = "$before" ]; then still=$((still + 1)); else still=0; fi
    before=$done
    sleep 0.02
  done
  t1=$(now)
  local rss; rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  stop
  local secs; secs=$(echo "$t1 - $t0" | bc -l)
  printf '%s  %6.3f s %9.0f lines/s  sent %s, mapped+rejected %s  peak RSS %s KB\n' "$proto" "$secs" \
    "$(echo "$n / $secs" | bc -l)" "$(awk '{print $2}' "$work/sent")" "$done" "$rss"
  runs[$proto]+="$secs "
}

declare -A runs
if [ "${CALLGRIND:-0}" = 1 ]; then
  head -20000 "$corpus" > "$work/20k.log"; head -1 "$corpus" > "$work/1.log"
  grind() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
  # serve under callgrind, fed FILE over TCP, stopped once it has mapped every line.
  grind_serve() {
    local n; n=$(wc -l < "$1")
    rm -f "$work/err"
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" serve --threads 1 --tcp 127.0.0.1:0 \
      --metrics 127.0.0.1:0 -o /dev/null 2>"$work/err" &
    pid=$!
    for _ in $(seq 600); do grep -q "metrics on" "$work/err" 2>/dev/null && break; sleep 0.1; done
    addr=$(sed -n 's#.*listening on [a-z]*://\([0-9.:]*\).*#\1#p' "$work/err")
    metrics=$(sed -n 's#.*metrics on http://\([0-9.:]*\)/metrics#\1#p' "$work/err")
    loadgen send --to "tcp://$addr" --file "$1" >/dev/null
    until [ "$(( $(metric xdrmap_events_total) + $(metric xdrmap_rejects_total) ))" -ge "$n" ]; do sleep 0.2; done
    kill -TERM "$pid"; wait "$pid" || true
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/err"
  }
  m=$(( $(grind "$bin" map --threads 1 "$work/20k.log" -o /dev/null) - $(grind "$bin" map --threads 1 "$work/1.log" -o /dev/null) ))
  s=$(( $(grind_serve "$work/20k.log") - $(grind_serve "$work/1.log") ))
  printf 'instructions per line (callgrind, 20,000 lines, one worker): map %d, serve over TCP %d (serve/map %.3f)\n' \
    $((m / 19999)) $((s / 19999)) "$(echo "$s / $m" | bc -l)"
  exit 0
fi
if [ -n "${ZERO_LOSS:-}" ]; then
  start --tcp 127.0.0.1:0; feed tcp "$ZERO_LOSS"
  exit 0
fi
for _ in $(seq "$rounds"); do
  t0=$(now); /usr/bin/time -f "%M" -o "$work/rss" "$bin" map "$corpus" -o "$work/events.jsonl" 2>/dev/null; t1=$(now)
  secs=$(echo "$t1 - $t0" | bc -l); runs[map]+="$secs "
  printf 'map  %6.3f s %9.0f lines/s  peak RSS %s KB\n' "$secs" "$(echo "$lines / $secs" | bc -l)" "$(cat "$work/rss")"
  start --tcp 127.0.0.1:0; feed tcp "$lines"
  start --tls 127.0.0.1:0 --tls-cert "$work/pki/server.pem" --tls-key "$work/pki/server.key"
  feed tls "$lines" --ca "$work/pki/ca.pem"
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
map_secs=$(median "${runs[map]}")
echo "medians of $rounds rounds, $lines lines:"
for what in map tcp tls; do
  m=$(median "${runs[$what]}")
  printf '  %-4s %9.0f lines/s   /map %.3f\n' "$what" "$(echo "$lines / $m" | bc -l)" "$(echo "$map_secs / $m" | bc -l)"
done

echo "UDP, $udp_lines datagrams at each rate:"
for rate in 20000 100000 0; do
  start --udp 127.0.0.1:0
  if [ "$rate" = 0 ]; then loadgen send --to "udp://$addr" --file "$corpus" --count "$udp_lines" >"$work/sent"
  else loadgen send --to "udp://$addr" --file "$corpus" --count "$udp_lines" --rate "$rate" >"$work/sent"; fi
  sleep 1
  got=$(metric xdrmap_messages_total); kernel=$(metric 'xdrmap_udp_dropped_total{listener="udp://'"$addr"'",by="kernel"}')
  secs=$(awk '{print $6}' "$work/sent")
  stop
  printf '  asked %7s/s, sent at %7.0f/s: received %s of %s (lost %.3f%%), kernel drops %s\n' \
    "$([ "$rate" = 0 ] && echo max || echo "$rate")" "$(echo "$udp_lines / $secs" | bc -l)" "$got" "$udp_lines" \
    "$(echo "($udp_lines - $got) * 100 / $udp_lines" | bc -l)" "$kernel"
done
