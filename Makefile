# Stockroom's verbs. The two that matter: `make dev` and `make test`.
SHELL := /bin/bash
ROLE ?= manager

.PHONY: dev test coverage smoke restore-drill bench build-times lint fmt token admin webhook carrier-update reindex outbox google-token migrate build package-size contract deny clean help
export EMAIL PASSWORD EVENT ORDER PAYMENT_ID REFUND_ID EVENT_ID CHECKS STAGE AT KEEP

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

dev: ## run the whole API on http://localhost:9000 against local DynamoDB and S3
	@infra/dev.sh

test: ## start throwaway emulators, run every test, stop the emulators
	@infra/test.sh

coverage: ## make test under cargo llvm-cov (needs llvm-tools-preview; CI runs it): target/coverage
	@COVERAGE=1 infra/test.sh

smoke: ## the post-deployment smoke test of a deployed stage: make smoke STAGE=staging (see docs/DEPLOYMENT.md)
	@infra/smoke.sh

restore-drill: ## restore a stage's table to a point in time, check its invariants, delete it: make restore-drill STAGE=staging [AT=...] [KEEP=1]
	@infra/restore-drill.sh

contract: ## schemathesis against every route of docs/openapi.yaml (also part of make test)
	@infra/contract.sh

bench: ## measure request costs (release build) and write docs/PERFORMANCE.md
	@infra/bench.sh

build-times: ## what an edit rebuilds: incremental debug builds, written to docs/PERFORMANCE.md
	@infra/build-times.sh

build: ## sam build: arm64 release binaries of every function into .aws-sam/build
	@infra/build.sh

package-size: ## each function's deployment zip size (after make build)
	@infra/package-size.sh

deny: ## cargo-deny: licences, banned and duplicate crates, sources (CHECKS=all adds advisories)
	@infra/deny.sh

lint: ## rustfmt check, clippy with warnings as errors, the layer and import-cycle check
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 infra/layers.py

fmt: ## format the code
	cargo fmt --all

token: ## print a local access token: make token ROLE=admin|manager|staff|customer
	@cargo run -q -p devstack -- token .local/signing-key.der $(ROLE)

admin: ## create or promote an admin in the make dev stack: make admin EMAIL=... PASSWORD=...
	@test -f .local/dev.env || { echo "run make dev first (it creates the local stack)"; exit 1; }
	@set -a && . .local/dev.env && set +a && cargo run -q -p devstack -- admin "$$EMAIL"

webhook: ## send a signed sample Razorpay webhook to make dev: make webhook EVENT=order.paid ORDER=<order id>
	@infra/webhook.sh

carrier-update: ## post a signed carrier tracking update to make dev: make carrier-update TRACKING=<number> STATUS=in_transit
	@infra/carrier-update.sh

outbox: ## print every e-mail the make dev stack sent, as JSON lines, oldest first
	@test -f .local/dev.env || { echo "run make dev first (it creates the local stack)"; exit 1; }
	@set -a && . .local/dev.env && set +a && cargo run -q -p devstack -- outbox

google-token: ## print a Google ID token from make dev's Google stand-in: make google-token EMAIL=...
	@test -f .local/dev.env || { echo "run make dev first (it creates the local stack)"; exit 1; }
	@test -n "$(EMAIL)" || { echo "usage: make google-token EMAIL=someone@example.com"; exit 1; }
	@set -a && . .local/dev.env && set +a && \
	  curl -sfG "http://127.0.0.1:$$GOOGLE_PORT/_stand-in/token" --data-urlencode "email=$(EMAIL)" \
	  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id_token"])' \
	  || { echo "the Google stand-in did not answer: is make dev running (with the stand-in)?"; exit 1; }

migrate: ## run a data migration on the make dev stack: make migrate NAME=... [DRY_RUN=1] (no NAME: list)
	@test -f .local/dev.env || { echo "run make dev first (it creates the local stack)"; exit 1; }
	@set -a && . .local/dev.env && set +a && cargo run -q -p devstack -- migrate $(NAME) $(if $(DRY_RUN),--dry-run)

reindex: ## rebuild the search index of the make dev stack from its table
	@test -f .local/dev.env || { echo "run make dev first (it creates the local stack)"; exit 1; }
	@set -a && . .local/dev.env && set +a && cargo run -q -p devstack -- reindex

clean: ## remove build output and local data (keeps installed tools)
	cargo clean
	rm -rf .local
