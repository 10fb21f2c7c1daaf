#!/usr/bin/env bash
# `make bench`: request costs on throwaway emulators, written to docs/PERFORMANCE.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools
start_throwaway_stack
say "cargo bench -p stockroom-tests --bench api --bench search --bench live"
cargo bench -p stockroom-tests --bench api --bench search --bench live
