#!/usr/bin/env bash
# Measures `kforge dataset export --format archive` on generated stores of two sizes: rows per
# second (rows exported / wall time) and peak resident memory (GNU time's "Maximum resident set
# size"). The figures go to docs/dataset-performance.md by hand, with the machine they came from.
# Usage: [FORMATS="archive sft"] bench/export_bench.sh [SMALL] [LARGE]   (defaults 50000, 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-50000}
large=${2:-200000}
work=$(mktemp -d /tmp/kforge-export-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for size in "$small" "$large"; do
  store="$work/store-$size.db"
  /usr/bin/python3 bench/make_export_store.py "$store" "$size"
  rows=$(sqlite3 "$store" "SELECT count(*) FROM evaluations")
  bytes=$(stat -c %s "$store")
  for format in ${FORMATS:-archive}; do
    out="$work/out-$size-$format"
    /usr/bin/time -v build/kforge -q --db "$store" dataset export --format "$format" \
      --out "$out" --json >"$work/report.json" 2>"$work/time.txt"
    wall=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
    user=$(grep "User time" "$work/time.txt" | awk '{print $NF}')
    system=$(grep "System time" "$work/time.txt" | awk '{print $NF}')
    load=$(cut -d' ' -f1 /proc/loadavg)
    exported=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rows']['exported'])" "$work/report.json")
    seconds=$(/usr/bin/python3 -c "import sys; p=sys.argv[1].split(':'); print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))" "$wall")
    rate=$(/usr/bin/python3 -c "import sys; print(round(int(sys.argv[1])/float(sys.argv[2])))" "$exported" "$seconds")
    size_out=$(du -sb "$out" | awk '{print $1}')
    cpu_rate=$(/usr/bin/python3 -c "import sys; print(round(int(sys.argv[1])/(float(sys.argv[2])+float(sys.argv[3]))))" "$exported" "$user" "$system")
    # On a shared machine wall time includes waiting for a core: the CPU-time rate (user + sys)
    # is what the export itself costs; the load average says how shared the machine was.
    echo "format=$format candidates=$rows store_bytes=$bytes exported=$exported wall_s=$seconds rows_per_s=$rate user_s=$user sys_s=$system rows_per_cpu_s=$cpu_rate peak_rss_kb=$rss output_bytes=$size_out load=$load"
    rm -rf "$out"
  done
  rm -f "$store" "$store-wal" "$store-shm"
done
