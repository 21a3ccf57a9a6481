#!/usr/bin/env bash
# kforge's own cost per candidate in `kforge optimize`, outside the LLM (and the GPU, which this
# machine lacks): the real binary against the fake LLM server on 127.0.0.1, which answers every
# request after LATENCY seconds with a distinct candidate (no compile cache hits).
# Usage: bench/optimize_bench.sh [LATENCY=10] [CONCURRENCY=8] [ROUNDS=3]
# The sample strategy sends CONCURRENCY requests per round and waits for the round, so the LLM
# alone accounts for ROUNDS x LATENCY seconds; everything beyond that is kforge's own time on the
# critical path. Compile-worker occupancy = time the workers spent on compiles (the evaluations'
# compile stage) / (wall time x workers).
set -euo pipefail
cd "$(dirname "$0")/.."
latency=${1:-10}
concurrency=${2:-8}
rounds=${3:-3}
work=$(mktemp -d /tmp/kforge-optimize-bench.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
/usr/bin/python3 tests/support/fake_llm_server.py --latency "$latency" --vary >"$work/port" &
server=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(head -n 1 "$work/port")
kforge="build/kforge --workspace $work --python /usr/bin/python3 -q"
# The task's reference analysis happens once per workspace; do it before the clock starts.
$kforge tasks show builtin/relu >/dev/null
export KFORGE_BENCH_KEY=not-a-real-key
start=$(date +%s.%N)
$kforge optimize builtin/relu --agent llm --strategy sample --samples "$concurrency" \
  --iterations "$rounds" --concurrency "$concurrency" --provider openai \
  --base-url "http://127.0.0.1:$port/v1" --model ok --api-key-env KFORGE_BENCH_KEY --json \
  >"$work/report.json"
end=$(date +%s.%N)
workers=$(nproc)
/usr/bin/python3 - "$work/kforge.db" "$start" "$end" "$latency" "$rounds" "$workers" <<'PY'
import json, sqlite3, sys
db, start, end, latency, rounds, workers = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
con = sqlite3.connect(db)
candidates = con.execute("SELECT count(*) FROM candidates").fetchone()[0]
exchanges = con.execute("SELECT count(*), avg(latency_ms), max(latency_ms) FROM llm_exchanges").fetchone()
verdicts = dict(con.execute("SELECT verdict, count(*) FROM evaluations GROUP BY verdict").fetchall())
compile_ms = 0.0
for (stages,) in con.execute("SELECT stages FROM evaluations"):
    for stage in json.loads(stages):
        if stage["name"] == "compile":
            compile_ms += stage["ms"]
wall = end - start
own = wall - rounds * latency
print(f"wall {wall:.2f} s for {candidates} candidates in {rounds} rounds; LLM latency {latency:.0f} s "
      f"(measured per exchange: mean {exchanges[1]/1000:.2f} s, max {exchanges[2]/1000:.2f} s)")
print(f"kforge's own time on the critical path: {own:.2f} s = {own / max(candidates, 1) * 1000:.0f} ms per candidate")
print(f"compile stage: {compile_ms / 1000:.2f} s in all, {compile_ms / max(candidates, 1):.0f} ms per candidate; "
      f"compile-worker occupancy {compile_ms / 1000 / (wall * workers) * 100:.1f} % of {workers} workers")
print(f"verdicts: {verdicts}")
PY
