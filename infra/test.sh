#!/usr/bin/env bash
# `make test`: throwaway emulators on free ports; cfn-lint and checkov on template.yaml; every
# unit and integration test; the contract run against docs/openapi.yaml; the emulators stopped
# whatever happens. Exits non-zero when anything fails. Arguments go to nextest (a test filter).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools
start_throwaway_stack

say "cfn-lint template.yaml"
cfn-lint template.yaml
ensure_checkov
say "checkov template.yaml (skipped checks are listed, with reasons, in the template)"
"$TOOLS/checkov/bin/checkov" -f template.yaml --framework cloudformation --skip-download \
  --quiet --compact

say "cargo nextest run --workspace"
cargo nextest run --workspace --no-fail-fast "$@"

# The contract run: generated requests against every documented route (infra/contract.sh).
infra/contract.sh
