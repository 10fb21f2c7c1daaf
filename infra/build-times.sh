#!/usr/bin/env bash
# `make build-times`: what an edit rebuilds. Touches one file at a time (no content changes),
# rebuilds debug binaries, and writes the crates recompiled and the wall time to the
# "incremental-builds" section of docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs `cargo build $2...` after touching $1; prints "<seconds> <crates recompiled>".
measure() {
  local file=$1; shift
  touch "$file"
  local start end log
  start=$(date +%s.%N)
  log=$(cargo build "$@" 2>&1)
  end=$(date +%s.%N)
  local crates
  crates=$(grep -E '^\s+Compiling ' <<<"$log" | awk '{print $2}' | sort | paste -sd, - || true)
  printf '%s %s\n' "$(python3 -c "print(f'{$end - $start:.1f}')")" "${crates:-none}"
}

row() { # label, file, cargo args...
  local label=$1 file=$2; shift 2
  # Up to date first: each package selection unifies shared's features on its own (only
  # the search functions enable `search`), so a selection is warmed with itself.
  cargo build -q "$@"
  read -r secs crates < <(measure "$file" "$@")
  echo "| $label | \`cargo build $*\` | $secs | $crates |"
}

body=$(cat <<TABLE
## Incremental builds (debug, \`make build-times\`)

What an edit rebuilds, measured by touching one file and building (2 cores; the figures are
from the last run of \`make build-times\`). A handler lives in its function's crate, so
editing it rebuilds that function alone; \`shared\` is rebuilt only when shared code changes.
Each row starts from an up-to-date build of the same package selection.

| edit | then | seconds | crates recompiled |
|---|---|---|---|
$(row "a products handler (\`functions/products/src/lib.rs\`)" functions/products/src/lib.rs -p products)
$(row "a products handler" functions/products/src/lib.rs -p stock)
$(row "a stock handler (\`functions/stock/src/lib.rs\`)" functions/stock/src/lib.rs --workspace --bins)
$(row "a shared service (\`shared/src/services/movements.rs\`)" shared/src/services/movements.rs -p stock)
TABLE
)
python3 - "$body" <<'PY'
import sys, pathlib
path = pathlib.Path("docs/PERFORMANCE.md")
doc, body = path.read_text(), sys.argv[1]
start, end = "<!-- section: incremental-builds -->", "<!-- end: incremental-builds -->"
section = f"{start}\n{body}\n{end}"
if start in doc and end in doc:
    a, b = doc.index(start), doc.index(end) + len(end)
    doc = doc[:a] + section + doc[b:]
else:
    doc = doc.rstrip("\n") + "\n\n" + section + "\n"
path.write_text(doc)
PY
echo "wrote the incremental-builds section of docs/PERFORMANCE.md"
