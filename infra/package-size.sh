#!/usr/bin/env bash
# `make package-size`: each function's deployment package (the zip `sam deploy` uploads) after
# `make build`, largest first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[ -d .aws-sam/build ] || die "nothing built yet: run make build first"
python3 - <<'PY'
import io, os, zipfile
rows = []
for name in sorted(os.listdir(".aws-sam/build")):
    binary = os.path.join(".aws-sam/build", name, "bootstrap")
    if not os.path.isfile(binary):
        continue
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.write(binary, "bootstrap")
    rows.append((len(buffer.getvalue()), os.path.getsize(binary), name))
print(f"{'function':<28} {'zip':>10} {'binary':>10}")
for zipped, raw, name in sorted(rows, reverse=True):
    print(f"{name:<28} {zipped / 1048576:>8.1f} MB {raw / 1048576:>8.1f} MB")
print(f"{'total':<28} {sum(r[0] for r in rows) / 1048576:>8.1f} MB")
PY
