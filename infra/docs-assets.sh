#!/usr/bin/env bash
# Refreshes the API reference page's vendored Swagger UI (functions/docs/assets/swagger-ui)
# from npm at the pinned version: `infra/docs-assets.sh 5.32.0`. The assets are in the
# repository so that any `cargo build` has them; this script is how they change.
set -euo pipefail
version=${1:?usage: infra/docs-assets.sh <swagger-ui-dist version>}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
dest=functions/docs/assets/swagger-ui
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
  cp "$work/package/$f" "$dest/$f"
done
echo "$version (npm swagger-ui-dist; refresh with infra/docs-assets.sh)" >"$dest/VERSION"
echo "Swagger UI $version in $dest; update the version named in functions/docs/src/lib.rs and docs/openapi.yaml"
