#!/usr/bin/env bash
# The main job on a built-in task, from a fresh machine: install what is missing, build, then
# in the workspace folder kforge-workspace/ (default store kforge-workspace/kforge.db) check the
# machine, show the task and evaluate its hand-written seed kernel. Without a GPU the best
# verdict is `compiled`: the kernel compiled and its launch plan fits every shape; nothing ran.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
task=${1:-builtin/softmax}
./scripts/install-deps.sh
./scripts/build.sh
mkdir -p kforge-workspace
cd kforge-workspace
kforge=$root/build/kforge
echo "== kforge doctor"
"$kforge" doctor || true
echo "== kforge tasks show $task"
"$kforge" tasks show "$task" | sed -n '1,/^---- source/p'
stem=${task#builtin/}
for seed in "$root"/kernels/seeds/"$stem"/*/kernel.cu; do
  echo "== kforge eval ${seed#$root/} --task $task"
  "$kforge" eval "$seed" --task "$task"
done
echo "== done: the store is $PWD/kforge.db (summary: build/kforge --workspace kforge-workspace dataset stats)"
