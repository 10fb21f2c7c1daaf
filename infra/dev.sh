#!/usr/bin/env bash
# `make dev`: the whole API on http://localhost:9000 with no AWS account and no Docker.
# DynamoDB Local keeps its data in .local/dynamodb across restarts; Ctrl-C stops everything.
#
# Every setting can be overridden from the environment, e.g.
#   make dev PORT=9100 WS_PORT=9102 DYNAMODB_PORT=8100 S3_PORT=4600 MAIL_PORT=4601 RAZORPAY_PORT=9011 GOOGLE_PORT=9021 LOG_LEVEL=debug
# Razorpay: RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET and RAZORPAY_BASE_URL
# (a test-mode account) replace the local stand-in and its generated keys. Google sign-in
# trusts the local Google stand-in (`make google-token EMAIL=...`) unless GOOGLE_CERTS_URL and
# GOOGLE_CLIENT_IDS are given.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT=${PORT:-9000}
WS_PORT=${WS_PORT:-9002}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
S3_PORT=${S3_PORT:-4569}
MAIL_PORT=${MAIL_PORT:-4570}
RAZORPAY_PORT=${RAZORPAY_PORT:-9010}
GOOGLE_PORT=${GOOGLE_PORT:-9020}
LOCAL="$ROOT/.local"
LOG_DIR="$LOCAL/logs"
mkdir -p "$LOG_DIR"

require_free_port "$PORT" PORT "the API"
require_free_port "$WS_PORT" WS_PORT "the WebSocket API"
require_free_port "$DYNAMODB_PORT" DYNAMODB_PORT "DynamoDB Local"
require_free_port "$S3_PORT" S3_PORT "moto S3"
require_free_port "$MAIL_PORT" MAIL_PORT "moto SES"
# Real Razorpay (a test-mode account) when RAZORPAY_BASE_URL is given; else the local stand-in.
STAND_IN=1
if [ -n "${RAZORPAY_BASE_URL:-}" ]; then
  STAND_IN=0
  for v in RAZORPAY_KEY_ID RAZORPAY_KEY_SECRET RAZORPAY_WEBHOOK_SECRET; do
    [ -n "${!v:-}" ] || die "RAZORPAY_BASE_URL is set, so $v must be set too"
  done
else
  require_free_port "$RAZORPAY_PORT" RAZORPAY_PORT "the local Razorpay stand-in"
fi

# Google's real keys when GOOGLE_CERTS_URL is given; else the local stand-in's.
GOOGLE_STAND_IN=1
if [ -n "${GOOGLE_CERTS_URL:-}" ]; then
  GOOGLE_STAND_IN=0
  [ -n "${GOOGLE_CLIENT_IDS:-}" ] || die "GOOGLE_CERTS_URL is set, so GOOGLE_CLIENT_IDS must be set too"
else
  require_free_port "$GOOGLE_PORT" GOOGLE_PORT "the local Google sign-in stand-in"
fi

ensure_tools
trap 'say "stopping"; stop_all' EXIT
trap 'exit 130' INT TERM

say "starting DynamoDB Local on :$DYNAMODB_PORT (data in .local/dynamodb), moto S3 on :$S3_PORT and moto SES on :$MAIL_PORT"
start_dynamodb "$DYNAMODB_PORT" "$LOCAL/dynamodb"
start_s3 "$S3_PORT"
start_mail "$MAIL_PORT"
wait_for "DynamoDB Local" "http://127.0.0.1:$DYNAMODB_PORT"
wait_for "moto_server" "http://127.0.0.1:$S3_PORT"
wait_for "moto_server (SES)" "http://127.0.0.1:$MAIL_PORT"
export_local_aws "$DYNAMODB_PORT" "$S3_PORT" "$MAIL_PORT"
# The sender of the stack's e-mail, verified in the local SES by `devstack resources`.
export MAIL_FROM=${MAIL_FROM:-stockroom@localhost.example}

say "building the functions and the local helper"
cargo build --bins

say "creating tables and buckets from template.yaml"
resources=$(target/debug/devstack resources template.yaml stockroom-dev)
jwks=$(target/debug/devstack jwks "$LOCAL/signing-key.der")

# Local Razorpay keys, generated once and kept in .local (environment values win).
if [ ! -f "$LOCAL/razorpay.env" ]; then
  python3 - >"$LOCAL/razorpay.env" <<'PY'
import secrets
print(f"LOCAL_RAZORPAY_KEY_SECRET={secrets.token_hex(16)}")
print(f"LOCAL_RAZORPAY_WEBHOOK_SECRET={secrets.token_hex(16)}")
PY
fi
# shellcheck disable=SC1091
source "$LOCAL/razorpay.env"
export RAZORPAY_KEY_ID=${RAZORPAY_KEY_ID:-rzp_test_stockroomlocal}
export RAZORPAY_KEY_SECRET=${RAZORPAY_KEY_SECRET:-$LOCAL_RAZORPAY_KEY_SECRET}
export RAZORPAY_WEBHOOK_SECRET=${RAZORPAY_WEBHOOK_SECRET:-$LOCAL_RAZORPAY_WEBHOOK_SECRET}
export RAZORPAY_BASE_URL=${RAZORPAY_BASE_URL:-http://127.0.0.1:$RAZORPAY_PORT}
# The secret carriers sign tracking updates with, generated once (`make carrier-update` signs
# with it; an environment value wins).
if [ ! -f "$LOCAL/carrier.env" ]; then
  python3 -c 'import secrets; print(f"LOCAL_CARRIER_WEBHOOK_SECRET={secrets.token_hex(16)}")' >"$LOCAL/carrier.env"
fi
# shellcheck disable=SC1091
source "$LOCAL/carrier.env"
export CARRIER_WEBHOOK_SECRET=${CARRIER_WEBHOOK_SECRET:-$LOCAL_CARRIER_WEBHOOK_SECRET}
if [ "$STAND_IN" = 1 ]; then
  say "starting the local Razorpay stand-in on :$RAZORPAY_PORT (not Razorpay; see infra/razorpay-local)"
  RAZORPAY_LOCAL_PORT=$RAZORPAY_PORT \
    RAZORPAY_LOCAL_WEBHOOK_URL="http://127.0.0.1:$PORT/v1/webhooks/razorpay" \
    target/debug/razorpay-local >"$LOG_DIR/razorpay.log" 2>&1 &
  PIDS+=($!)
  wait_for "razorpay-local" "http://127.0.0.1:$RAZORPAY_PORT/_stand-in/health"
fi

export GOOGLE_CLIENT_IDS=${GOOGLE_CLIENT_IDS:-stockroom-local.apps.example}
export GOOGLE_CERTS_URL=${GOOGLE_CERTS_URL:-http://127.0.0.1:$GOOGLE_PORT/oauth2/v3/certs}
if [ "$GOOGLE_STAND_IN" = 1 ]; then
  say "starting the local Google sign-in stand-in on :$GOOGLE_PORT (not Google; see infra/google-local)"
  GOOGLE_LOCAL_PORT=$GOOGLE_PORT target/debug/google-local >"$LOG_DIR/google.log" 2>&1 &
  PIDS+=($!)
  wait_for "google-local" "http://127.0.0.1:$GOOGLE_PORT/_stand-in/health"
fi

# The functions' environment: generated values unless given in the environment.
{
  echo "$resources" | while IFS='=' read -r name value; do
    echo "$name=${!name:-$value}"
  done
  echo "AUTH_JWKS='${AUTH_JWKS:-$jwks}'"
  # Only the auth function reads the private key; the others only ever see AUTH_JWKS.
  echo "AUTH_SIGNING_KEY_FILE=${AUTH_SIGNING_KEY_FILE:-$LOCAL/signing-key.der}"
  echo "AUTH_SIGNING_KEY_ID=${AUTH_SIGNING_KEY_ID:-local-dev-1}"
  echo "AUTH_ISSUER=${AUTH_ISSUER:-stockroom}"
  echo "AUTH_AUDIENCE=${AUTH_AUDIENCE:-stockroom-api}"
  echo "CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-http://localhost:3000}"
  echo "LOG_LEVEL=${LOG_LEVEL:-info}"
  echo "METRICS_NAMESPACE=${METRICS_NAMESPACE:-Stockroom}"
  echo "S3_FORCE_PATH_STYLE=true"
  echo "RAZORPAY_BASE_URL=$RAZORPAY_BASE_URL"
  echo "RAZORPAY_KEY_ID=$RAZORPAY_KEY_ID"
  echo "RAZORPAY_KEY_SECRET=$RAZORPAY_KEY_SECRET"
  echo "RAZORPAY_WEBHOOK_SECRET=$RAZORPAY_WEBHOOK_SECRET"
  echo "CARRIER_WEBHOOK_SECRET=$CARRIER_WEBHOOK_SECRET"
  for v in ORDER_HOLD_SECONDS ORDER_MAX_OPEN_PER_CUSTOMER ORDER_MAX_UNITS_PER_LINE; do
    if [ -n "${!v:-}" ]; then echo "$v=${!v}"; fi
  done
  # Personas: the offline template generator unless an OpenAI-compatible provider is given.
  echo "PERSONAS_PROVIDER=${PERSONAS_PROVIDER:-template}"
  for v in PERSONAS_OPENAI_BASE_URL PERSONAS_OPENAI_MODEL PERSONAS_API_KEY PERSONAS_TIMEOUT_MS; do
    if [ -n "${!v:-}" ]; then echo "$v=${!v}"; fi
  done
  echo "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
  echo "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
  echo "AWS_REGION=$AWS_REGION"
  echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
  echo "AWS_ENDPOINT_URL_S3=$AWS_ENDPOINT_URL_S3"
  echo "AWS_ENDPOINT_URL_SESV2=$AWS_ENDPOINT_URL_SESV2"
  echo "AWS_ENDPOINT_URL_SNS=$AWS_ENDPOINT_URL_SNS"
  echo "AWS_ENDPOINT_URL_EVENTBRIDGE=$AWS_ENDPOINT_URL_EVENTBRIDGE"
  echo "AWS_ENDPOINT_URL_SQS=$AWS_ENDPOINT_URL_SQS"
  echo "GOOGLE_CLIENT_IDS=$GOOGLE_CLIENT_IDS"
  echo "GOOGLE_CERTS_URL=$GOOGLE_CERTS_URL"
  echo "GOOGLE_PORT=$GOOGLE_PORT"
  echo "MAIL_FROM=$MAIL_FROM"
  echo "APP_URL=${APP_URL:-http://localhost:3000}"
} >"$LOCAL/dev.env"

# The search indexer's handler, fed by DynamoDB Local's stream (the event source mapping's job
# in AWS): products created or changed through the API are searchable a few seconds later.
say "following the table's stream for search (log: .local/logs/search-indexer.log)"
(
  set -a
  # shellcheck disable=SC1091
  source "$LOCAL/dev.env"
  set +a
  exec target/debug/devstack index-stream
) >"$LOG_DIR/search-indexer.log" 2>&1 &
PIDS+=($!)

# The WebSocket API: a local gateway speaking API Gateway's WebSocket events to the
# notifications function, fed as in AWS (stream -> events forwarder -> bus -> queue).
say "serving the WebSocket API on ws://localhost:$WS_PORT (log: .local/logs/live.log)"
(
  set -a
  # shellcheck disable=SC1091
  source "$LOCAL/dev.env"
  set +a
  exec target/debug/devstack live template.yaml "$WS_PORT"
) >"$LOG_DIR/live.log" 2>&1 &
PIDS+=($!)

# The stock-sweeper's sweep (a schedule in AWS): unpaid orders expire and ended holds are
# released here too, within seconds.
say "sweeping expired holds every ${SWEEP_EVERY_SECONDS:-10} s (log: .local/logs/sweeper.log)"
(
  set -a
  # shellcheck disable=SC1091
  source "$LOCAL/dev.env"
  set +a
  exec target/debug/devstack sweep "${SWEEP_EVERY_SECONDS:-10}"
) >"$LOG_DIR/sweeper.log" 2>&1 &
PIDS+=($!)

cat >&2 <<MSG

  Stockroom is starting on http://localhost:$PORT  (Ctrl-C stops everything)
    curl http://localhost:$PORT/health
    make admin EMAIL=you@example.com PASSWORD='a long passphrase'   # then log in
    TOKEN=\$(make -s token ROLE=manager)                               # or a dev token
    curl -H "Authorization: Bearer \$TOKEN" http://localhost:$PORT/v1/products
  Search (the index follows the table within seconds):
    curl -H "Authorization: Bearer \$TOKEN" 'http://localhost:$PORT/v1/search?q=jaket'
  Payments go to $RAZORPAY_BASE_URL; pay an order with
    curl -X POST http://127.0.0.1:$RAZORPAY_PORT/_stand-in/orders/<razorpay_order_id>/pay
  Sign in with Google (the local stand-in's ID tokens):
    curl -X POST http://localhost:$PORT/v1/auth/google -H 'Content-Type: application/json' \\
      -d "{\"id_token\":\"\$(make -s google-token EMAIL=you@example.com)\"}"
  Live updates (order.paid, shipments, ...; subscribe as staff, see docs/asyncapi.yaml):
    .tools/venv/bin/python -m websockets "ws://localhost:$WS_PORT/?token=\$TOKEN"
  Mail and texts the stack sent: make outbox
  Emulator logs: .local/logs/   Function environment: .local/dev.env

MSG
# A rebuild (a source file changed) stops each function process at once, and an invocation it
# was running is never answered: --timeout answers such a request 408 after 30 s (API
# Gateway's own limit) instead of leaving it hanging.
cargo lambda watch -A 127.0.0.1 -P "$PORT" --env-file "$LOCAL/dev.env" --timeout "${INVOKE_TIMEOUT_SECONDS:-30}"
