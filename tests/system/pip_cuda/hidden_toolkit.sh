#!/usr/bin/env bash
# Runs kforge where the only CUDA is pip's NVIDIA wheels: in a private mount namespace (root
# only: unshare --mount) every folder that holds NVRTC or the CUDA headers (/usr/local/cuda*,
# what `ldconfig -p` and a search of /usr and /opt find) is covered by an empty folder, so
# neither the dynamic linker nor kforge's toolkit fallbacks can find them, and
# KFORGE_CUDA_LIB_DIRS names the wheels' lib folder. Nothing outside the namespace changes.
#
#   hidden_toolkit.sh <kforge> <nvidia/cu13 folder> <results folder> <candidate.cu> <workspace>
#
# Writes into <results>: hidden.txt (the folders covered), then for each step <step>.out,
# <step>.err and <step>.rc:
#   doctor       kforge doctor --require nvrtc --json, KFORGE_CUDA_LIB_DIRS=<cu13>/lib
#   eval         kforge eval <candidate> --task builtin/relu --json, the same
#   no_builtins  the doctor again, NVRTC alone in a folder without libnvrtc-builtins
# Exit 2 when the toolkit could not be hidden; the steps' own exit codes are in the .rc files.
set -uo pipefail
if [[ "${KFORGE_TOOLKIT_HIDDEN:-}" != 1 ]]; then
  export KFORGE_TOOLKIT_HIDDEN=1
  exec unshare --mount --propagation private "$0" "$@"
fi
kforge=$1 cu13=$2 results=$3 candidate=$4 workspace=$5
mkdir -p "$results"

folders=()
for dir in /usr/local/cuda*; do
  [[ -d $dir && ! -L $dir ]] && folders+=("$dir")
done
while read -r library; do
  folders+=("$(dirname "$(readlink -f "$library")")")
done < <(ldconfig -p | awk '/libnvrtc|libcudart/ {print $NF}')
while read -r found; do
  folders+=("$(dirname "$found")")
done < <(find /usr /opt -xdev \( -name 'libnvrtc*' -o -name cuda_fp16.h \) 2>/dev/null)

empty=$(mktemp -d)
: > "$results/hidden.txt"
# Parents sort before their children: once a parent is covered, its children are gone.
while read -r dir; do
  [[ -z $dir || ! -d $dir ]] && continue
  case "$cu13/" in "$dir"/*) continue ;; esac  # never the wheels themselves
  mount --bind "$empty" "$dir" && echo "$dir" >> "$results/hidden.txt"
done < <(printf '%s\n' "${folders[@]}" | sort -u)

unset CUDA_HOME CUDA_PATH LD_LIBRARY_PATH
if python3 -c "import ctypes; ctypes.CDLL('libnvrtc.so.13')" 2>/dev/null ||
    [[ -e /usr/local/cuda/include/cuda_fp16.h ]]; then
  echo "hidden_toolkit.sh: the toolkit is still visible after covering $(paste -sd' ' "$results/hidden.txt")" >&2
  exit 2
fi

step() {
  local name=$1
  shift
  (cd "$workspace" && "$@" > "$results/$name.out" 2> "$results/$name.err")
  echo $? > "$results/$name.rc"
}

export KFORGE_CUDA_LIB_DIRS="$cu13/lib"
step doctor "$kforge" --python /usr/bin/python3 doctor --require nvrtc --json
step eval "$kforge" --python /usr/bin/python3 eval "$candidate" --task builtin/relu --json

alone=$(mktemp -d)
ln -s "$cu13/lib/libnvrtc.so.13" "$alone/libnvrtc.so.13"
KFORGE_CUDA_LIB_DIRS="$alone" step no_builtins "$kforge" --python /usr/bin/python3 doctor \
  --require nvrtc --json
exit 0
