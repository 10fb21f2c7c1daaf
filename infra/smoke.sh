#!/usr/bin/env bash
# `make smoke STAGE=staging`: the post-deployment smoke test against the deployed stage (CI runs
# it after every deployment to staging and rolls back when it fails). Needs SMOKE_SECRET_ID (a
# secret {"email", "password", "order_id"}: the stage's smoke user and a paid order of theirs,
# made once as docs/DEPLOYMENT.md says) and RAZORPAY_SECRET_ID (the stage's Razorpay secret,
# whose first webhook secret signs the replayed delivery), and AWS credentials to read both.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

STAGE=${STAGE:?set STAGE, e.g. make smoke STAGE=staging}
: "${SMOKE_SECRET_ID:?set SMOKE_SECRET_ID to the stage's smoke-user secret (docs/DEPLOYMENT.md)}"
: "${RAZORPAY_SECRET_ID:?set RAZORPAY_SECRET_ID to the stage's Razorpay secret}"
url=$(stack_output "$STAGE" ApiUrl)
say "smoke test: $url ($STAGE)"
cargo run -q -p devstack -- smoke "$url" "$SMOKE_SECRET_ID" "$RAZORPAY_SECRET_ID"
