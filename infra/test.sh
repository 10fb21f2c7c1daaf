#!/usr/bin/env bash
# `make test`: throwaway emulators on free ports, every test, the emulators stopped whatever
# happens. Exits non-zero when anything fails. Arguments go to nextest (e.g. a test filter).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools
start_throwaway_stack

say "cfn-lint template.yaml"
cfn-lint template.yaml

say "cargo nextest run --workspace"
cargo nextest run --workspace --no-fail-fast "$@"
