#!/usr/bin/env bash
# `make deny`: cargo-deny (pinned) on the dependency graph: licences, banned crates (a second
# TLS stack), duplicate versions (reported) and sources. The RustSec advisory check needs the
# advisory database from GitHub, so it runs only when asked: `make deny CHECKS=all` (CI on
# GitHub does).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DENY_VERSION=0.20.2
if [ "$(cargo deny --version 2>/dev/null | awk '{print $2}')" != "$DENY_VERSION" ]; then
  say "installing cargo-deny $DENY_VERSION"
  cargo install --locked --quiet "cargo-deny@$DENY_VERSION"
fi
if [ "${CHECKS:-offline}" = all ]; then
  cargo deny check
else
  cargo deny check licenses bans sources
fi
