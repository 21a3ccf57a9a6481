#!/usr/bin/env bash
# One kforge node of many: runs on one GPU and writes to the one shared store (docs/scale-out.md).
# Slurm's array job (kforge-array.sbatch) and the Kubernetes indexed Job (kforge-job.yaml) both
# start it, once per GPU; it needs nothing from either beyond the settings below.
#
# Settings (environment):
#   KFORGE_DB          the shared store: postgresql://user@host/db?sslmode=verify-full (no
#                      password: kforge refuses one on the command line; the password comes from
#                      PGPASSWORD, or PGPASSFILE / ~/.pgpass with mode 600; docs/postgresql-store.md)
#   KFORGE_TASKS       the tasks of the run, separated by spaces ("suite/a suite/b ...")
#   KFORGE_ARGS        more `kforge optimize` arguments for the node that makes the run (split:
#                      every node), separated by spaces ("--agent llm --iterations 20"; not
#                      -q: node 0 reads the run's id from kforge's "run N" line on stderr)
#   KFORGE_INDEX       this node's number, 0 to KFORGE_NODES - 1
#   KFORGE_NODES       how many nodes there are
#   KFORGE_MODE        join (default): node 0 makes the run, every other node joins it
#                      (`kforge optimize --join RUN`); split: every node runs its own share of the
#                      tasks (task i goes to node i mod KFORGE_NODES) as a run of its own
#   KFORGE_RUN         join: a run made beforehand; every node joins it, node 0 too
#   KFORGE_HANDOVER    join: a folder every node sees (a shared file system) where node 0 leaves
#                      the run's id for the others; unset, they find the run in the store
#   KFORGE_JOIN_WAIT_S join: how long the others wait for node 0's run (default 600)
#   KFORGE_JOIN_ARGS   join: arguments for the joining nodes (the run holds the rest; e.g. --gpus)
#   KFORGE_JOIN_SINCE_S join, without KFORGE_HANDOVER: the others take the newest running run
#                      of the same tasks started at most this long before them (default 3600)
#   KFORGE_CONFIG      a kforge.toml for the node's workspace (optional)
#   KFORGE_SCRATCH     where the node's workspace (caches) goes (default: TMPDIR, else /tmp)
#   KFORGE, KFORGE_PYTHON  the kforge binary and a python3 (defaults: from PATH)
# The exit status is kforge's: non-zero when the node's work failed.
set -euo pipefail

kforge=${KFORGE:-kforge}
python=${KFORGE_PYTHON:-python3}
index=${KFORGE_INDEX:?set KFORGE_INDEX, this node number}
nodes=${KFORGE_NODES:?set KFORGE_NODES, the number of nodes}
mode=${KFORGE_MODE:-join}
db=${KFORGE_DB:?set KFORGE_DB, the shared store URL}
read -r -a tasks <<<"${KFORGE_TASKS:-}"
read -r -a args <<<"${KFORGE_ARGS:-}"

say() { echo "kforge-node $index/$nodes: $*" >&2; }

# Leaves $2 in the handover folder's file $1, whole or not at all.
hand_over() {
  if [ -n "${KFORGE_HANDOVER:-}" ]; then
    mkdir -p "$KFORGE_HANDOVER"
    echo "$2" >"$KFORGE_HANDOVER/$1.$$"
    mv "$KFORGE_HANDOVER/$1.$$" "$KFORGE_HANDOVER/$1"
  fi
}

# A workspace of the node's own on local disk: its caches (compiled candidates, references)
# are per node; the store is the shared one.
workspace=$(mktemp -d "${KFORGE_SCRATCH:-${TMPDIR:-/tmp}}/kforge-node-$index.XXXXXX")
made_run=""
# shellcheck disable=SC2317  # (run by the EXIT trap)
finish() {
  local status=$?
  rm -rf "$workspace"
  # Node 0 stopping before it handed a run over, however it stopped: the others stop waiting.
  if [ "$mode" = join ] && ((index == 0)) && [ -z "${KFORGE_RUN:-}" ] && [ -z "$made_run" ]; then
    hand_over failed "node 0 stopped (exit status $status) before making a run"
  fi
}
trap finish EXIT
if [ -n "${KFORGE_CONFIG:-}" ]; then
  install -m 600 "$KFORGE_CONFIG" "$workspace/kforge.toml"
fi
node_kforge() { "$kforge" --workspace "$workspace" --db "$db" "$@"; }

# ---- creating and joining the run: the part to adapt --------------------------------------
# The newest optimize run of exactly these tasks that is still running and started at or after
# $1 (UTC, ISO 8601), from `kforge runs --json`; prints its id, or nothing.
find_run() {
  node_kforge runs --json --limit 100 | "$python" -c '
import json, sys
since, tasks = sys.argv[1], sys.argv[2:]
for run in json.load(sys.stdin)["runs"]:
    if (run["kind"] == "optimize" and run["tasks"] == tasks and run["started_at"] >= since
            and run["status"] == "running"):
        print(run["id"])
        break
' "$1" "${tasks[@]}"
}

# The stored status of run $1 ("running", "completed", ...).
run_status() {
  node_kforge runs --json --limit 1000 | "$python" -c '
import json, sys
print(next((r["status"] for r in json.load(sys.stdin)["runs"] if r["id"] == int(sys.argv[1])), ""))
' "$1"
}

# Node 0: starts the run (an ordinary `kforge optimize`, which works on it like any node); the
# run's id is its first line on stderr ("run N"), handed over to the others.
create_run() {
  local pid run=""
  node_kforge optimize "${tasks[@]}" "${args[@]}" --json 2> >(tee "$workspace/stderr" >&2) &
  pid=$!
  while [ -z "$run" ]; do
    run=$(sed -n 's/^run \([0-9][0-9]*\)$/\1/p' "$workspace/stderr" 2>/dev/null | head -n 1 || true)
    if [ -z "$run" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  if [ -n "$run" ]; then
    say "made run $run"
    hand_over run "$run"
    made_run=$run
  else
    say "kforge optimize stopped before making a run"
  fi
  wait "$pid"
}

# The other nodes: wait for node 0's run.
wait_for_run() {
  local waited=0 limit=${KFORGE_JOIN_WAIT_S:-600} run="" recent
  # From the store: a run started at most KFORGE_JOIN_SINCE_S before this node (default an
  # hour), so that an old run of the same tasks, killed and left "running", is not joined.
  recent=$(date -u -d "-${KFORGE_JOIN_SINCE_S:-3600} seconds" +%Y-%m-%dT%H:%M:%S)
  while [ -z "$run" ]; do
    if [ -n "${KFORGE_HANDOVER:-}" ]; then
      if [ -e "$KFORGE_HANDOVER/failed" ]; then
        say "no run to join: $(cat "$KFORGE_HANDOVER/failed")"
        return 1
      fi
      run=$(cat "$KFORGE_HANDOVER/run" 2>/dev/null || true)
    else
      run=$(find_run "$recent" || true)
    fi
    if [ -z "$run" ]; then
      if ((waited >= limit)); then
        say "no run to join after ${limit} s (KFORGE_JOIN_WAIT_S): did node 0 start?"
        return 1
      fi
      sleep 2
      waited=$((waited + 2))
    fi
  done
  echo "$run"
}

# A joining node takes the tasks, agent and budgets from the stored run: only
# KFORGE_JOIN_ARGS (e.g. --gpus) go with --join. A run already completed (this node started
# late) leaves nothing to do.
join_run() {
  if [ "$(run_status "$1")" = completed ]; then
    say "run $1 has completed: nothing left to join"
    return 0
  fi
  say "joining run $1"
  read -r -a join_args <<<"${KFORGE_JOIN_ARGS:-}"
  node_kforge optimize --join "$1" "${join_args[@]}" --json
}
# ---- end of the part to adapt -------------------------------------------------------------

# The node's work, in a function read whole before it runs: bash reads a script as it goes, so
# a node script changed on the shared file system while nodes run cannot derail them.
main() {
  case "$mode" in
    join)
      if [ -n "${KFORGE_RUN:-}" ]; then
        join_run "$KFORGE_RUN"
      elif ((index == 0)) && [ -s "${KFORGE_HANDOVER:-/nonexistent}/run" ]; then
        # Node 0 started again (a requeued array task): its run exists; join it.
        made_run=$(cat "$KFORGE_HANDOVER/run")
        join_run "$made_run"
      elif ((index == 0)); then
        create_run
      else
        run=$(wait_for_run)
        join_run "$run"
      fi
      ;;
    split)
      mine=()
      for ((i = index; i < ${#tasks[@]}; i += nodes)); do mine+=("${tasks[i]}"); done
      if ((${#mine[@]} == 0)); then
        say "no task for this node (${#tasks[@]} tasks, $nodes nodes)"
        exit 0
      fi
      say "optimizing ${mine[*]}"
      node_kforge optimize "${mine[@]}" "${args[@]}" --json
      ;;
    *)
      say "KFORGE_MODE is '$mode': join or split"
      exit 2
      ;;
  esac
}
main; exit $?  # one line: nothing after it is read
