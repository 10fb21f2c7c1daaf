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

if [ -n "${COVERAGE:-}" ]; then
  # `make coverage`: the same tests, instrumented; the report goes to target/coverage.
  command -v cargo-llvm-cov >/dev/null || die "make coverage needs cargo-llvm-cov and the llvm-tools-preview component (CI installs both)"
  say "cargo llvm-cov nextest --workspace"
  mkdir -p target/coverage
  cargo llvm-cov nextest --workspace --no-fail-fast --lcov --output-path target/coverage/lcov.info "$@"
  cargo llvm-cov report --summary-only | tee target/coverage/summary.txt
else
  say "cargo nextest run --workspace"
  cargo nextest run --workspace --no-fail-fast "$@"
fi

say "infra/live_versions.py (the deployment roll-back) against moto"
"$VENV/bin/python" infra/tests/test_live_versions.py

say "Razorpay's official Python SDK against the local stand-in"
cargo build -q -p razorpay-local --bin razorpay-local
"$VENV/bin/python" infra/tests/test_razorpay_sdk.py

# The contract run: generated requests against every documented route (infra/contract.sh).
infra/contract.sh
