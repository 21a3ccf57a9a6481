#!/usr/bin/env bash
# The main job on a built-in task, from a fresh machine: install what is missing, build, then
# in the workspace folder kforge-workspace/ (default store kforge-workspace/kforge.db) check the
# machine, show the task and optimize it starting from its seed kernels. Without a GPU the best
# verdict is `compiled`: the kernel compiled and its launch plan fits every shape; nothing ran.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
task=${1:-builtin/softmax}
./scripts/install-deps.sh --build
# Only the binary: the test binaries are built by the test command (scripts/test.sh).
./scripts/build.sh kforge
mkdir -p kforge-workspace
cd kforge-workspace
kforge=$root/build/kforge
echo "== kforge doctor"
"$kforge" doctor || true
echo "== kforge tasks show $task"
"$kforge" tasks show "$task" | sed -n '1,/^---- source/p'
# The agent: the LLM when kforge-workspace/kforge.toml configures one whose key is in the
# environment, otherwise replay of the task's hand-written seed kernels (kernels/seeds/).
agent=replay
config=$("$kforge" config show --json)
key_env=$(/usr/bin/python3 -c 'import json,sys; c=json.load(sys.stdin); print(c.get("llm.api_key_env","") if c.get("llm.base_url") and c.get("llm.model") else "")' <<<"$config")
if [ -n "$key_env" ] && [ -n "${!key_env:-}" ]; then agent=llm; fi
echo "== kforge optimize $task --agent $agent"
"$kforge" optimize "$task" --agent "$agent"
echo "== kforge runs"
"$kforge" runs --limit 3
echo "== done: the store is $PWD/kforge.db (summary: build/kforge --workspace kforge-workspace dataset stats)"
