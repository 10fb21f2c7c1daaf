#!/usr/bin/env bash
# `make restore-drill STAGE=staging [AT=2026-12-01T21:00:00Z] [KEEP=1]`: restores the stage's
# table to a point in time (default: the latest restorable) into a new table, checks the
# invariants on the copy (ledger sums equal levels, held reservations equal reserved stock,
# every order's reservation exists and agrees), prints the report, and deletes the copy (KEEP=1
# keeps it). Exits non-zero when an invariant does not hold. Needs AWS credentials for the
# stage's account (dynamodb:RestoreTableToPointInTime, DescribeTable, Scan, DeleteTable).
# The report is also written to .local/restore-drill-$STAGE.json for OPERATIONS.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STAGE=${STAGE:?set STAGE, e.g. make restore-drill STAGE=staging}
table=$(stack_output "$STAGE" TableName)
args=("$table")
[ -n "${AT:-}" ] && args+=(--at "$AT")
[ -n "${KEEP:-}" ] && args+=(--keep)
mkdir -p .local
say "restore drill: $table ($STAGE), to ${AT:-the latest restorable time}"
cargo run -q -p devstack -- restore-drill "${args[@]}" | tee ".local/restore-drill-$STAGE.json"
