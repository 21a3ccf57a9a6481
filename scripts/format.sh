#!/usr/bin/env bash
# Formats every C++ file of the project in place with the checked-in .clang-format.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' |
  while read -r f; do [ -f "$f" ] && echo "$f"; done | xargs -r "${CLANG_FORMAT:-clang-format}" -i --style=file
