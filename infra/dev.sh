#!/usr/bin/env bash
# `make dev`: the whole API on http://localhost:9000 with no AWS account and no Docker.
# DynamoDB Local keeps its data in .local/dynamodb across restarts; Ctrl-C stops everything.
#
# Every setting can be overridden from the environment, e.g.
#   make dev PORT=9100 DYNAMODB_PORT=8100 S3_PORT=4600 LOG_LEVEL=debug
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

PORT=${PORT:-9000}
DYNAMODB_PORT=${DYNAMODB_PORT:-8000}
S3_PORT=${S3_PORT:-4569}
LOCAL="$ROOT/.local"
LOG_DIR="$LOCAL/logs"
mkdir -p "$LOG_DIR"

require_free_port "$PORT" PORT "the API"
require_free_port "$DYNAMODB_PORT" DYNAMODB_PORT "DynamoDB Local"
require_free_port "$S3_PORT" S3_PORT "moto S3"

ensure_tools
trap 'say "stopping"; stop_all' EXIT
trap 'exit 130' INT TERM

say "starting DynamoDB Local on :$DYNAMODB_PORT (data in .local/dynamodb) and moto S3 on :$S3_PORT"
start_dynamodb "$DYNAMODB_PORT" "$LOCAL/dynamodb"
start_s3 "$S3_PORT"
wait_for "DynamoDB Local" "http://127.0.0.1:$DYNAMODB_PORT"
wait_for "moto_server" "http://127.0.0.1:$S3_PORT"
export_local_aws "$DYNAMODB_PORT" "$S3_PORT"

say "building the functions and the local helper"
cargo build --bins

say "creating tables and buckets from template.yaml"
resources=$(target/debug/devstack resources template.yaml stockroom-dev)
jwks=$(target/debug/devstack jwks "$LOCAL/signing-key.der")

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
  echo "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID"
  echo "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
  echo "AWS_REGION=$AWS_REGION"
  echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
  echo "AWS_ENDPOINT_URL_S3=$AWS_ENDPOINT_URL_S3"
} >"$LOCAL/dev.env"

cat >&2 <<MSG

  Stockroom is starting on http://localhost:$PORT  (Ctrl-C stops everything)
    curl http://localhost:$PORT/health
    make admin EMAIL=you@example.com PASSWORD='a long passphrase'   # then log in
    TOKEN=\$(make -s token ROLE=manager)                               # or a dev token
    curl -H "Authorization: Bearer \$TOKEN" http://localhost:$PORT/v1/products
  Emulator logs: .local/logs/   Function environment: .local/dev.env

MSG
cargo lambda watch -A 127.0.0.1 -P "$PORT" --env-file "$LOCAL/dev.env"
