# commerce: the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test tour contract bench services fmt lint schemas

CARGO ?= cargo

## Serve the API on 127.0.0.1:8080 with SQLite in ./data (development mode).
run:
	$(CARGO) run -- serve

## Start (or install) PostgreSQL, NATS, Redis and Chromium, run every test (the
## console's in headless Chromium), then the API contract test.
test: services
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		$(CARGO) test --workspace --no-fail-fast; \
	fi
	bash scripts/tour.sh
	$(MAKE) contract

## Run the README's tour against a fresh server and compare every answer it shows.
tour:
	bash scripts/tour.sh

## The OpenAPI document is valid, and a production server answers generated requests
## as it says (schemathesis, fixed seed; tools pinned in target/contract-venv).
contract:
	CARGO=$(CARGO) bash scripts/contract.sh

## Every benchmark at a short, fixed size on fresh databases: one table of figures,
## same-run baselines, ratios and targets, also written to target/bench/ (not in CI).
bench: services
	$(CARGO) build --release --bin commerce
	python3 scripts/bench.py $${CARGO_TARGET_DIR:-target}/release/commerce

## Check that PostgreSQL, NATS and Redis run on 127.0.0.1, and that Chromium and
## chromedriver (the console's browser tests) are installed; start or install them.
services:
	bash scripts/services.sh

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerate event-schemas/json from the Rust types.
schemas:
	UPDATE_SCHEMAS=1 $(CARGO) test -p event-schemas --test schemas_match_types
