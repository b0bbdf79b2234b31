#!/usr/bin/env bash
# End-to-end throughput of `xdrmap map` on the generated corpus of ../shared/bench: file in,
# JSON Lines file out, built-in Citrix guide. Two release builds side by side (benches/ab.sh):
#   A  default  run-time grammars on (pest_meta and pest_vm switch on pest's `std`, whose stack
#               probe runs on every parser call);
#   B  fast     --no-default-features (built-in grammars only, no stack probe).
#
#   benches/run.sh [LINES] [ROUNDS]      (defaults: 1000000 lines, 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
cargo build --release -q --no-default-features --target-dir target/fast
exec benches/ab.sh target/release/xdrmap target/fast/release/xdrmap "${1:-1000000}" "${2:-5}"
