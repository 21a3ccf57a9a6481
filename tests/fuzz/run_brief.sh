#!/usr/bin/env bash
# One fuzz target, briefly: every input of its seed corpus (crash regressions included), then
# 2000 new ones. run_brief.sh BINARY SEED_CORPUS WORK_DIR [RUNS]. New inputs go to WORK_DIR
# (emptied first), never into the seed corpus; a crash input lands there too and fails the test.
set -euo pipefail
binary=$1 seeds=$2 work=$3 runs=${4:-2000}
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
exec "$binary" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/new" "$seeds"
