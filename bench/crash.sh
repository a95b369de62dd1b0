#!/usr/bin/env bash
# Crash harness (issue 5): 50 SIGKILL cycles of fwrepo-server under a publish storm, each
# followed by a restart on the same data dir and checks (every acknowledged publish intact,
# every blob hashing to its name, no temp file left, version numbers never backwards), then
# `fwrepo-server fsck` on the final data dir. Extra arguments go to `fwrepo-bench crash`
# (e.g. --cycles 10 --workers 16 --seed 42 --work-dir /var/tmp/crash).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/fwrepo/target}"
(cd "$root" && cargo build -q -p fwrepo-server -p fwrepo-bench --bins)
exec "$CARGO_TARGET_DIR/debug/fwrepo-bench" crash --server-bin "$CARGO_TARGET_DIR/debug/fwrepo-server" "$@"
