#!/usr/bin/env bash
# `make webhook EVENT=payment.captured ORDER=<order id>`: sends the sample Razorpay delivery
# events/razorpay/$EVENT.json for one of your `make dev` orders, signed the way Razorpay signs
# (hex HMAC-SHA256 of the raw body with the webhook secret), with curl. Prints the curl line.
# PAYMENT_ID (default: the order's payment, else a new one), REFUND_ID and EVENT_ID may be set.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

EVENT=${EVENT:?set EVENT, e.g. EVENT=payment.captured (see events/razorpay/)}
ORDER=${ORDER:?set ORDER to an order id from POST /v1/orders}
PORT=${PORT:-9000}
file="events/razorpay/$EVENT.json"
[ -f "$file" ] || die "no sample $file; choose one of: $(ls events/razorpay | sed 's/.json//' | tr '\n' ' ')"
[ -f .local/dev.env ] || die "run make dev first (it creates the local stack and its keys)"
secret=$(sed -n 's/^RAZORPAY_WEBHOOK_SECRET=//p' .local/dev.env | cut -d, -f1)

token=$(cargo run -q -p devstack -- token .local/signing-key.der staff)
order=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$PORT/v1/orders/$ORDER") ||
  die "could not read order $ORDER from http://127.0.0.1:$PORT (is make dev running?)"

body=$(ORDER_JSON="$order" FILE="$file" PAYMENT_ID="${PAYMENT_ID:-}" REFUND_ID="${REFUND_ID:-}" python3 - <<'PY'
import json, os, secrets
order = json.loads(os.environ["ORDER_JSON"])
text = open(os.environ["FILE"]).read()
payment = os.environ["PAYMENT_ID"] or order.get("payment_id") or "pay_" + secrets.token_hex(7)
refund = os.environ["REFUND_ID"] or "rfnd_" + secrets.token_hex(7)
for k, v in {"razorpay_order_id": order["razorpay_order_id"], "order_id": order["id"],
             "payment_id": payment, "refund_id": refund, "amount": str(order["amount"])}.items():
    text = text.replace("{{%s}}" % k, v)
print(json.dumps(json.loads(text), separators=(",", ":")))
PY
)
signature=$(BODY="$body" SECRET="$secret" python3 -c '
import hashlib, hmac, os
print(hmac.new(os.environ["SECRET"].encode(), os.environ["BODY"].encode(), hashlib.sha256).hexdigest())')
event_id=${EVENT_ID:-evt_$(python3 -c 'import secrets; print(secrets.token_hex(7))')}

say "curl -X POST http://127.0.0.1:$PORT/v1/webhooks/razorpay -H 'X-Razorpay-Signature: $signature' -H 'X-Razorpay-Event-Id: $event_id' --data-raw '<$file, filled in>'"
curl -sS -X POST "http://127.0.0.1:$PORT/v1/webhooks/razorpay" \
  -H "Content-Type: application/json" \
  -H "X-Razorpay-Signature: $signature" \
  -H "X-Razorpay-Event-Id: $event_id" \
  --data-raw "$body"
echo
