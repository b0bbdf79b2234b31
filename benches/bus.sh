#!/usr/bin/env bash
# The bus end to end: `xdrmap serve --nats` (the collector) publishing to a three-node JetStream
# cluster on loopback (R3 streams), and one, then two, `xdrmap consume` workers mapping the raw
# stream into XDRMAP_EVENTS and XDRMAP_REJECTS. Each round starts a fresh cluster (new stores),
# the consumers, then serve, and feeds serve N messages over TCP with benches/loadgen.rs. Timed
# from loadgen's first byte to the moment the raw stream holds N messages (the collector's rate)
# and to the moment events + rejects reach N (end to end), read off the servers' /jsz every 50 ms.
# Then what a node failure costs, with two consumers: once a third of the events are in, a node
# is killed (SIGKILL) and restarted 5 s later, first a follower (leader of neither the raw nor
# the events stream), then the leader of XDRMAP_RAW. Checked: raw == N and events + rejects ==
# raw exactly (no loss, no duplicate past the streams' dedupe, at either hop), the duplicates the
# consumers saw dropped, the redeliveries, the time to recover (from the kill to the end of the
# last stall of 0.5 s or more in the events), the longest stall, and the total time against the
# median of the runs without a kill, with xdrmap's complaints timed. Prints every run, the medians.
#
#   benches/bus.sh [MESSAGES] [ROUNDS]        (defaults: 200000, 3)
#   XDRMAP=path    the xdrmap binary (default: cargo build --release, target/release/xdrmap)
#   LOADGEN=path   the loadgen executable (default: cargo bench --bench loadgen)
#   RESTART_AFTER=SECS  restart the killed node after SECS (default 5; 0: leave it down)
#   CORPUS_LINES=N      lines of the generated corpus, repeated as needed (default 100000)
#   KEEP=1              keep the work dir: per run the nodes' logs, xdrmap's stderr, and
#                       timeline (microseconds since the first byte, raw, events, rejects)
#   benches/bus.sh N 0  the node failures only
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-200000}; rounds=${2:-3}
restart_after=${RESTART_AFTER:-5}
corpus_lines=${CORPUS_LINES:-100000}
corpus=/tmp/xdrmap-corpus-$corpus_lines.log
[ -f "$corpus" ] || python3 ../shared/bench/gen_corpus.py -n "$corpus_lines" -o "$corpus"
if [ -n "${XDRMAP:-}" ]; then bin=$XDRMAP; else cargo build --release -q; bin=target/release/xdrmap; fi
if [ -n "${LOADGEN:-}" ]; then loadgen=("$LOADGEN")
else cargo bench --bench loadgen --no-run -q 2>/dev/null; loadgen=(cargo bench -q --bench loadgen --); fi
for tool in nats-server curl jq; do command -v "$tool" >/dev/null || { echo "bus.sh needs $tool" >&2; exit 1; }; done
work=$(mktemp -d /tmp/xdrmap-bus-bench.XXXX)
# Everything started here is a job of this shell; teardown at exit is SIGKILL (no draining).
trap 'kill -KILL $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi' EXIT

us() { printf '%s\n' "${EPOCHREALTIME/./}"; }               # the clock in microseconds
secs() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'; }  # microseconds as seconds
rate() { awk -v n="$1" -v u="$2" 'BEGIN { printf "%.0f", n * 1e6 / u }'; }
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Nine free loopback ports (client, monitor, route for each node): bound together, then released.
free_ports() {
  python3 -c 'import socket
s = [socket.socket() for _ in range(9)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))'
}

# A fresh cluster in $run/nI: sets port[], mon[], node_pid[], urls; returns once it has a meta
# leader and every node has JetStream up.
cluster_start() {
  local p i routes=""; read -r -a p <<<"$(free_ports)"
  for i in 1 2 3; do port[$i]=${p[i-1]}; mon[$i]=${p[i+2]}; route[$i]=${p[i+5]}; done
  for i in 1 2 3; do routes+="nats-route://127.0.0.1:${route[$i]}, "; done
  urls="nats://127.0.0.1:${port[1]},nats://127.0.0.1:${port[2]},nats://127.0.0.1:${port[3]}"
  for i in 1 2 3; do
    mkdir -p "$run/n$i"
    cat >"$run/n$i.conf" <<EOF
server_name: n$i
listen: 127.0.0.1:${port[$i]}
http: 127.0.0.1:${mon[$i]}
jetstream { store_dir: "$run/n$i" }
cluster { name: xdrmap-bench, listen: 127.0.0.1:${route[$i]}, routes: [${routes%, }] }
EOF
    start_node "$i"
  done
  for _ in $(seq 600); do
    local ready=0
    for i in 1 2 3; do
      [ -n "$(curl -s --max-time 1 "http://127.0.0.1:${mon[$i]}/jsz" | jq -r '.meta_cluster.leader // empty' 2>/dev/null)" ] \
        && ready=$((ready + 1))
    done
    [ "$ready" = 3 ] && return 0
    sleep 0.05
  done
  echo "the cluster has no meta leader after 30 s" >&2; exit 1
}
start_node() { nats-server -c "$run/n$1.conf" >>"$run/n$1.log" 2>&1 & node_pid[$1]=$!; }
cluster_stop() {
  local i; for i in 1 2 3; do kill -TERM "${node_pid[$i]}" 2>/dev/null || true; done
  for i in 1 2 3; do wait "${node_pid[$i]}" 2>/dev/null || true; done
}

# Copies stdin to stdout, each line stamped with the clock in microseconds (xdrmap's stderr).
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "${EPOCHREALTIME/./}" "$l"; done; }

# Waits until FILE has a line matching PATTERN (10 s at most).
wait_for() { for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "no '$2' in $1:" >&2; cat "$1" >&2; exit 1; }

# K consumers (one durable, sharing the work), then serve; sets consumer_pid[], serve_pid, addr.
# One at a time, so that the streams are created once, by the first consumer.
xdrmap_start() {
  local j
  for j in $(seq "$1"); do
    "$bin" consume "$urls" --replicas 3 2> >(stamp >"$run/consume$j.err") & consumer_pid[$j]=$!
    wait_for "$run/consume$j.err" "consuming"
  done
  "$bin" serve --tcp 127.0.0.1:0 --nats "$urls" --replicas 3 2> >(stamp >"$run/serve.err") & serve_pid=$!
  wait_for "$run/serve.err" "listening on"
  addr=$(sed -n 's#.*listening on tcp://\([0-9.:]*\).*#\1#p' "$run/serve.err")
}
xdrmap_stop() {
  local pid; for pid in "${consumer_pid[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${consumer_pid[@]}"; do wait "$pid" || echo "  a consumer exited $?" >&2; done
  kill -TERM "$serve_pid" 2>/dev/null || true; wait "$serve_pid" || echo "  serve exited $?" >&2
}

# Which node each of serve and the consumers is connected to (by its local port, from ss).
connections() {
  local i pid lports out=""
  for pid in "$serve_pid" "${consumer_pid[@]}"; do
    lports=$(ss -tnpH state established | awk -v p="pid=$pid," 'index($0, p) { print $4 }')
    for i in 1 2 3; do grep -q ":${port[$i]}\$" <<<"$lports" && out+="n$i "; done
  done
  set -- $out; local serve_on=$1; shift; echo "serve on $serve_on, consumers on $*"
}

# Message counts of the three streams as node I sees them: sets raw, events, rejects.
counts() {
  local c; c=$(curl -s --max-time 1 "http://127.0.0.1:${mon[$1]}/jsz?streams=true" | jq -r '
    [.account_details[]?.stream_detail[]? | {(.name): .state.messages}] | add // {}
    | "\(.XDRMAP_RAW // 0) \(.XDRMAP_EVENTS // 0) \(.XDRMAP_REJECTS // 0)"' 2>/dev/null) || return 1
  [ -n "$c" ] || return 1
  read -r raw events rejects <<<"$c"
}

# The leader of a stream (or "meta") as node I sees it.
leader() {
  curl -s --max-time 1 "http://127.0.0.1:${mon[$1]}/jsz?streams=true" | jq -r --arg s "$2" '
    if $s == "meta" then .meta_cluster.leader
    else [.account_details[]?.stream_detail[]? | select(.name == $s) | .cluster.leader][0] // "" end'
}

# The sum over the consumers' summaries of the number before WHAT ("lines read", "duplicates").
summed() { local f n=0; for f in "$run"/consume*.err; do
  n=$((n + $(sed -n "s/.* \([0-9]*\) $1.*/\1/p" "$f" | tail -1 | grep . || echo 0))); done; echo "$n"; }
# CPU time of process PID so far, in clock ticks (utime + stime).
cpu() { local st; if read -r -a st 2>/dev/null <"/proc/$1/stat"; then echo $((st[13] + st[14])); else echo 0; fi; }

# The node to kill: for "follower", one that leads neither XDRMAP_RAW nor XDRMAP_EVENTS (and,
# when there is one such, not the meta leader either); for "raw-leader", XDRMAP_RAW's leader.
victim() {
  local r e m i
  r=$(leader "$watch" XDRMAP_RAW); e=$(leader "$watch" XDRMAP_EVENTS); m=$(leader "$watch" meta)
  roles="raw leader $r, events leader $e, meta leader $m"
  if [ "$1" = raw-leader ]; then victim_i=${r#n}; return; fi
  for i in 1 2 3; do [ "n$i" != "$r" ] && [ "n$i" != "$e" ] && [ "n$i" != "$m" ] && { victim_i=$i; return; }; done
  for i in 1 2 3; do [ "n$i" != "$r" ] && [ "n$i" != "$e" ] && { victim_i=$i; return; }; done
}

# Polls the counts every 50 ms until events + rejects reach N (and the raw count: a message
# serve published twice is mapped twice), or nothing moved for GIVE_UP microseconds. With KILL,
# kills a node once a third of the events are in and restarts it RESTART_AFTER s later. Sets
# t_end, raw_at (0: never), stalled (the events' gaps of 0.5 s or more, summed: after the kill,
# if any), and after a kill: victim_i, roles, kill_at, kill_done, restarted, stall_ev and
# stall_raw (the longest gaps between moves of the events and of raw, counted from their last
# move before the kill), recovered (from the kill to the end of the last gap of 0.5 s or more:
# the time to recover), cpu_kill[] (CPU ticks per consumer at the kill).
poll() {
  local kill_mode=$1 give_up=$2 now done=0 before=-1 before_raw=-1 last_move last_ev=0 last_raw=0 j
  raw_at=0 kill_at=0 restarted=0 stalled=0 recovered=0 stall_ev=0 stall_raw=0 victim_i="" roles=""
  last_move=$(us); last_ev=$last_move; last_raw=$last_move
  while :; do
    now=$(us)
    if counts "$watch"; then
      done=$((events + rejects)); echo "$((now - t0)) $raw $events $rejects" >>"$run/timeline"
      if [ "$done" != "$before" ]; then
        if [ "$kill_at" != 0 ]; then
          [ $((now - last_ev)) -gt "$stall_ev" ] && stall_ev=$((now - last_ev))
        fi
        # A gap of 0.5 s or more: stalled (in a run without a kill too, for comparison).
        if { [ -z "$kill_mode" ] && [ "$before" -gt 0 ]; } || [ "$kill_at" != 0 ]; then
          [ $((now - last_ev)) -ge 500000 ] && { stalled=$((stalled + now - last_ev)); recovered=$((now - kill_at)); }
        fi
        last_ev=$now; last_move=$now
      fi
      if [ "$raw" != "$before_raw" ]; then
        [ "$kill_at" != 0 ] && [ $((now - last_raw)) -gt "$stall_raw" ] && stall_raw=$((now - last_raw))
        last_raw=$now; last_move=$now
      fi
      [ "$raw_at" = 0 ] && [ "$raw" -ge "$messages" ] && raw_at=$now
      [ "$done" -ge "$messages" ] && [ "$done" -ge "$raw" ] && break
      before=$done; before_raw=$raw
    fi
    [ $((now - last_move)) -gt "$give_up" ] && break
    if [ -n "$kill_mode" ] && [ "$kill_at" = 0 ] && [ "$done" -ge $((messages / 3)) ]; then
      victim "$kill_mode"
      kill -KILL "${node_pid[$victim_i]}"; wait "${node_pid[$victim_i]}" 2>/dev/null || true
      kill_at=$(us); kill_done=$done; watch=$((victim_i % 3 + 1))
      for j in "${!consumer_pid[@]}"; do cpu_kill[$j]=$(cpu "${consumer_pid[$j]}"); done
    fi
    if [ "$kill_at" != 0 ] && [ "$restarted" = 0 ] && [ "$restart_after" != 0 ] \
        && [ $((now - kill_at)) -ge $((restart_after * 1000000)) ]; then
      start_node "$victim_i"; restarted=1
    fi
    sleep 0.05
  done
  t_end=$(us)
}

# One run: K consumers, N messages; KILL is "", "follower" or "raw-leader". Prints a line (and,
# with KILL, what the kill did), sets e2e_us and raw_us (both 0 when the run gave up).
run_once() {
  local k=$1 kill_mode=${2:-} give_up=30000000 j
  # A batch lost with a node comes back after the consumers' --ack-wait (30 s): wait longer.
  [ -n "$kill_mode" ] && give_up=60000000
  run=$work/run$((++runs)); mkdir -p "$run"; consumer_pid=(); cpu_kill=(); watch=1
  cluster_start; xdrmap_start "$k"
  local conns; conns=$(connections)
  "${loadgen[@]}" send --to "tcp://$addr" --file "$corpus" --count "$messages" >"$run/sent" 2>"$run/started" &
  local lg=$!
  wait_for "$run/started" "^started"
  t0=$(awk '/^started/ { printf "%.0f", $2 * 1e6 }' "$run/started")  # not %d: mawk's is 32 bits
  poll "$kill_mode" "$give_up"
  # Settle, then count again: a duplicate past the dedupe, or a late republish, shows up here.
  sleep 1; counts "$watch" || true
  local cpu_after=""; for j in "${!consumer_pid[@]}"; do
    cpu_after+="$(secs $(( ($(cpu "${consumer_pid[$j]}") - ${cpu_kill[$j]:-0}) * 10000 ))) s "; done
  xdrmap_stop
  wait "$lg" || true    # done by now, unless the run gave up (then serve's exit ends it)
  cluster_stop
  [ -n "${KEEP:-}" ] || rm -rf "$run"/n[123]/     # the stores: hundreds of MB a run
  local mapped=$((events + rejects)) reads; reads=$(summed "lines read")
  if [ "$mapped" -ge "$messages" ] && [ "$raw_at" != 0 ]; then e2e_us=$((t_end - t0)); raw_us=$((raw_at - t0)); else e2e_us=0; raw_us=0; fi
  printf '%d consumer%s %d msgs: ' "$k" "$([ "$k" = 1 ] || echo s)" "$messages"
  if [ "$e2e_us" = 0 ]; then printf 'GAVE UP, nothing moved for %s s' "$(secs "$give_up")"
  else printf 'end to end %s s %6s msgs/s, collector %s s %6s msgs/s' "$(secs "$e2e_us")" \
    "$(rate "$messages" "$e2e_us")" "$(secs "$raw_us")" "$(rate "$messages" "$raw_us")"; fi
  [ -n "$kill_mode" ] || printf '; stalls of 0.5 s+: %s s' "$(secs "$stalled")"
  printf '  [raw %d, events %d, rejects %d; read per consumer %s; %s]\n' "$raw" "$events" "$rejects" \
    "$(sed -n 's/.* xdrmap: \([0-9]*\) lines read.*/\1/p' "$run"/consume*.err | paste -sd+)" "$conns"
  # Loss and duplicates at each hop: loadgen -> raw (serve), raw -> events + rejects (consumers).
  local verdict; verdict=$(printf 'loss %d (raw %d, mapping %d), duplicates %d (in raw %d, in events %d)' \
    $(( (messages > raw ? messages - raw : 0) + (raw > mapped ? raw - mapped : 0) )) \
    $((messages > raw ? messages - raw : 0)) $((raw > mapped ? raw - mapped : 0)) \
    $(( (raw > messages ? raw - messages : 0) + (mapped > raw ? mapped - raw : 0) )) \
    $((raw > messages ? raw - messages : 0)) $((mapped > raw ? mapped - raw : 0)))
  [ -n "$kill_mode" ] || [ "$verdict" = "loss 0 (raw 0, mapping 0), duplicates 0 (in raw 0, in events 0)" ] || echo "  $verdict"
  [ -n "$kill_mode" ] || return 0
  if [ "$kill_at" = 0 ]; then
    echo "  no kill: the run gave up before a third of the events were in"
    fail_line[$kill_mode]="$kill_mode GAVE UP before the kill"; fail_us[$kill_mode]=0; return 0
  fi
  printf '  killed n%d (%s; %s) at %s s with %d events in%s\n' "$victim_i" "$kill_mode" "$roles" \
    "$(secs $((kill_at - t0)))" "$kill_done" \
    "$([ "$restarted" = 1 ] && echo ", restarted $restart_after s later" || echo ", not restarted (the run was over)")"
  printf '  after the kill: recovered after %s s (events stalled %s s in all, longest %s s; raw longest %s s)\n' \
    "$(secs "$recovered")" "$(secs "$stalled")" "$(secs "$stall_ev")" "$(secs "$stall_raw")"
  printf '  %s; redeliveries %d, duplicates dropped by the events stream %d; CPU per consumer after the kill: %s\n' \
    "$verdict" $((reads - raw)) "$(summed duplicates)" "$cpu_after"
  # Whatever xdrmap said besides starting and its summary (timeouts, retries, errors), in the
  # order said, timed from the first byte sent; then the summaries.
  for f in "$run"/serve.err "$run"/consume*.err; do
    grep -v -e 'listening on' -e 'consuming XDRMAP' -e 'SIGTERM' -e 'lines read,' -e 'messages published to' "$f" \
      | head -8 | awk -v t0="$t0" -v w="$(basename "$f" .err)" '{ u = $1; $1 = ""; printf "%s   [%6.2f s] %s:%s\n", u, (u - t0) / 1e6, w, $0 }' || true
  done | sort -n | cut -d' ' -f2-
  for f in "$run"/consume*.err "$run"/serve.err; do printf '  %s: %s\n' "$(basename "$f" .err)" "$(tail -1 "$f" | cut -d' ' -f2-)"; done
  fail_line[$kill_mode]=$(printf '%-10s %s, redeliveries %d, recovered after %s s, total %s' \
    "$kill_mode" "$verdict" $((reads - raw)) "$(secs "$recovered")" \
    "$([ "$e2e_us" = 0 ] && echo "GAVE UP" || echo "$(secs "$e2e_us") s")")
  fail_us[$kill_mode]=$e2e_us
}

declare -A e2e coll fail_line fail_us
declare -a cpu_kill
runs=0
echo "bus: $messages messages per run, 3 nodes, R3 streams, $rounds rounds, $(nproc) cores"
for k in 1 2; do
  for _ in $(seq "$rounds"); do
    run_once "$k"
    [ "$e2e_us" != 0 ] && { e2e[$k]+="$e2e_us "; coll[$k]+="$raw_us "; }
  done
done
echo "node failure, 2 consumers:"
run_once 2 follower
run_once 2 raw-leader

echo "medians of $rounds rounds, $messages messages:"
printf '  %-10s %14s %14s\n' consumers "end to end" collector
for k in 1 2; do
  [ -n "${e2e[$k]:-}" ] || { printf '  %-10s no run got through\n' "$k"; continue; }
  printf '  %-10s %8s msgs/s %8s msgs/s\n' "$k" "$(rate "$messages" "$(median "${e2e[$k]}")")" \
    "$(rate "$messages" "$(median "${coll[$k]}")")"
done
base=$(median "${e2e[2]:-}")
echo "node failure (2 consumers; median without a kill: $([ -n "$base" ] && echo "$(secs "$base") s" || echo none)):"
for mode in follower raw-leader; do
  printf '  %s' "${fail_line[$mode]}"
  [ -n "$base" ] && [ "${fail_us[$mode]}" != 0 ] && awk -v a="${fail_us[$mode]}" -v b="$base" 'BEGIN { printf ", %+.3f s", (a - b) / 1e6 }'
  echo
done
