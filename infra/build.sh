#!/usr/bin/env bash
# `make build`: `sam build` of every function (cargo lambda build --release --arm64 per binary,
# cross-compiled with zig) into .aws-sam/build, ready for `sam deploy`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools
ensure_sam
say "sam build (arm64 release binaries; the first build takes several minutes)"
"$TOOLS/sam/bin/sam" build "$@"
