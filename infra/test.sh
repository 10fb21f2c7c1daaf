#!/usr/bin/env bash
# `make test`: throwaway emulators on free ports, every test, the emulators stopped whatever
# happens. Exits non-zero when anything fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools
LOG_DIR=$(mktemp -d)
trap 'stop_all; rm -rf "$LOG_DIR"' EXIT
trap 'exit 130' INT TERM

ddb_port=$(free_port)
s3_port=$(free_port)
say "starting DynamoDB Local (:$ddb_port, in memory) and moto S3 (:$s3_port)"
start_dynamodb "$ddb_port" --in-memory
start_s3 "$s3_port"
wait_for "DynamoDB Local" "http://127.0.0.1:$ddb_port"
wait_for "moto_server" "http://127.0.0.1:$s3_port"
export_local_aws "$ddb_port" "$s3_port"
export STOCKROOM_LOCAL_STACK=1

say "cfn-lint template.yaml"
cfn-lint template.yaml

say "cargo nextest run --workspace"
cargo nextest run --workspace --no-fail-fast "$@"
