#!/usr/bin/env bash
# The contract run (part of `make test`): schemathesis (pinned, own venv) drives every operation
# in docs/openapi.yaml with generated inputs against every function's routes, served by
# tests/src/bin/contract-server.rs on the running local stack. It fails on any 5xx, any response
# that does not match the documented status codes, content types and schemas, and any accepted
# request the schema says is invalid.
# Expects the emulators of start_throwaway_stack (infra/test.sh), or runs its own.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_tools
ensure_venv "$TOOLS/schemathesis" "$ROOT/infra/requirements-schemathesis.txt" "schemathesis"
if [ -z "${STOCKROOM_LOCAL_STACK:-}" ]; then
  start_throwaway_stack
else
  LOG_DIR=$(mktemp -d)
  trap 'stop_all; rm -rf "$LOG_DIR"' EXIT
fi

cargo build -q -p stockroom-tests --bin contract-server
out="$LOG_DIR/contract-server.out"
target/debug/contract-server >"$out" 2>"$LOG_DIR/contract-server.log" &
server=$!
PIDS+=("$server")
for _ in $(seq 1 100); do
  grep -q '^token=' "$out" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || die "the contract server did not start: $(cat "$LOG_DIR/contract-server.log")"
  sleep 0.2
done
url=$(sed -n 's/^url=//p' "$out")
token=$(sed -n 's/^token=//p' "$out")

say "schemathesis: every operation in docs/openapi.yaml against $url"
"$TOOLS/schemathesis/bin/st" --config-file infra/schemathesis.toml run docs/openapi.yaml --url "$url" \
  --header "Authorization: Bearer $token" \
  --phases examples,coverage,fuzzing \
  --max-examples "${CONTRACT_EXAMPLES:-25}" \
  --workers 1 \
  --seed 1 \
  --request-timeout 30 \
  --suppress-health-check all \
  --warnings off

# The spec must make working clients: generate a Python client from it (pinned
# openapi-python-client, warnings fail), import every module, and use it against the same API.
ensure_venv "$TOOLS/openapi-client" "$ROOT/infra/requirements-client.txt" "openapi-python-client"
say "openapi-python-client: generate a client from docs/openapi.yaml, import it, use it"
generated=$(mktemp -d)
PATH="$TOOLS/openapi-client/bin:$PATH" "$TOOLS/openapi-client/bin/openapi-python-client" generate \
  --path docs/openapi.yaml --output-path "$generated/stockroom_client" --meta none --fail-on-warning \
  >"$generated/generate.log" 2>&1 || { cat "$generated/generate.log" >&2; die "openapi-python-client could not generate a client"; }
"$TOOLS/openapi-client/bin/python" infra/client_check.py "$generated" stockroom_client "$url" "$token"
rm -rf "$generated"
