#!/usr/bin/env bash
# `make carrier-update TRACKING=<number> STATUS=in_transit`: posts a carrier's tracking update
# to make dev's `POST /v1/webhooks/carrier`, signed the way a carrier signs (hex HMAC-SHA256 of
# the raw body with the carrier secret), with curl. CARRIER (default delhivery), LOCATION,
# NOTE, OCCURRED_AT (default now) and EVENT_ID (default a new one) may be set; sending the
# same EVENT_ID again is a duplicate.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

TRACKING=${TRACKING:?set TRACKING to the tracking number given when the shipment was shipped}
STATUS=${STATUS:?set STATUS to in_transit, out_for_delivery, failed, delivered or returned}
PORT=${PORT:-9000}
[ -f .local/dev.env ] || die "run make dev first (it creates the local stack and its keys)"
secret=$(sed -n 's/^CARRIER_WEBHOOK_SECRET=//p' .local/dev.env | cut -d, -f1)
[ -n "$secret" ] || die "no CARRIER_WEBHOOK_SECRET in .local/dev.env; restart make dev"

body=$(CARRIER="${CARRIER:-delhivery}" TRACKING="$TRACKING" STATUS="$STATUS" \
  LOCATION="${LOCATION:-}" NOTE="${NOTE:-}" OCCURRED_AT="${OCCURRED_AT:-}" EVENT_ID="${EVENT_ID:-}" python3 - <<'PY'
import datetime, json, os, secrets
e = os.environ
update = {
    "event_id": e["EVENT_ID"] or "evt_" + secrets.token_hex(7),
    "carrier": e["CARRIER"],
    "tracking_number": e["TRACKING"],
    "status": e["STATUS"],
    "occurred_at": e["OCCURRED_AT"]
    or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
}
for field in ("location", "note"):
    if e[field.upper()]:
        update[field] = e[field.upper()]
print(json.dumps(update, separators=(",", ":")))
PY
)
signature=$(BODY="$body" SECRET="$secret" python3 -c '
import hashlib, hmac, os
print(hmac.new(os.environ["SECRET"].encode(), os.environ["BODY"].encode(), hashlib.sha256).hexdigest())')

say "curl -X POST http://127.0.0.1:$PORT/v1/webhooks/carrier -H 'X-Carrier-Signature: $signature' --data-raw '$body'"
curl -sS -X POST "http://127.0.0.1:$PORT/v1/webhooks/carrier" \
  -H "Content-Type: application/json" \
  -H "X-Carrier-Signature: $signature" \
  --data-raw "$body"
echo
