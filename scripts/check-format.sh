#!/usr/bin/env bash
# Fails, listing the files, if any C++ file differs from what clang-format makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=${CLANG_FORMAT:-clang-format}
mapfile -t sources < <(git ls-files --cached --others --exclude-standard \
  '*.cpp' '*.hpp' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
bad=()
for file in "${sources[@]}"; do
  if ! "$clang_format" --style=file "$file" | cmp -s - "$file"; then bad+=("$file"); fi
done
if ((${#bad[@]})); then
  echo "not formatted (run scripts/format.sh): ${bad[*]}" >&2
  exit 1
fi
echo "format: ${#sources[@]} files checked"
