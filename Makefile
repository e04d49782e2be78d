# StableSteering: `make run` builds and serves the app, `make test` runs everything.
# Both install what is missing first (scripts/bootstrap.sh), from the package registries only.

SHELL := /bin/bash
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(CARGO_BIN):$(PATH)
export CARGO_TERM_COLOR ?= never
export LEPTOS_OUTPUT_NAME := stablesteering

ADDR ?= 127.0.0.1:3000
DATA_DIR ?= ./data
WASM_RUNNER := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner CHROMEDRIVER=/usr/bin/chromedriver

.PHONY: run site test bootstrap bootstrap-test fmt-check clippy unit-test a1111-check api-fuzz wasm-test cuda-check e2e bench-workers

run: bootstrap site
	@echo "Starting StableSteering on http://$(ADDR)/ (data in $(DATA_DIR)); Ctrl-C stops it."
	./target/release/stablesteering serve --addr $(ADDR) --data-dir $(DATA_DIR) --site-root target/site

site:
	./scripts/build-site.sh

bootstrap:
	./scripts/bootstrap.sh

bootstrap-test:
	./scripts/bootstrap.sh --browser

test: bootstrap-test
	@start=$$SECONDS; \
	step() { printf '== [%ss] %s\n' "$$((SECONDS-start))" "$$1"; }; \
	set -e; \
	step "cargo fmt --check"; $(MAKE) --no-print-directory fmt-check; \
	step "clippy (ssr + native crates, hydrate + wasm)"; $(MAKE) --no-print-directory clippy; \
	step "site build (release server, wasm-release frontend)"; $(MAKE) --no-print-directory site; \
	step "cargo test --release"; $(MAKE) --no-print-directory unit-test; \
	step "A1111 API with the real webuiapi client"; $(MAKE) --no-print-directory a1111-check; \
	step "schemathesis over /api/openapi.json"; $(MAKE) --no-print-directory api-fuzz; \
	step "wasm-bindgen-test in headless Chromium"; $(MAKE) --no-print-directory wasm-test; \
	step "cargo check -p engine --features cuda"; $(MAKE) --no-print-directory cuda-check; \
	step "Playwright end-to-end"; $(MAKE) --no-print-directory e2e; \
	step "all green"

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --locked -p server -p engine --all-targets -- -D warnings
	cargo clippy --locked -p app --features ssr --all-targets -- -D warnings
	cargo clippy --locked -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

unit-test:
	cargo test --locked --release -p engine -p server -p app --features app/ssr

a1111-check:
	./scripts/a1111-check.sh

api-fuzz:
	./scripts/api-fuzz.sh

wasm-test:
	$(WASM_RUNNER) cargo test --locked -p app --target wasm32-unknown-unknown --features hydrate

cuda-check:
	cargo check --locked -p engine --features cuda

e2e:
	./scripts/e2e.sh

# Not in `make test`: the worker kill benchmark of issue 17 (100 SIGKILLs over 100 rounds on a
# throwaway PostgreSQL, about 4 minutes); figures go in docs/BENCHMARKS.md.
bench-workers:
	STABLESTEERING_WORKER_KILLS=100 STABLESTEERING_WORKER_ROUNDS=100 \
	  cargo test --locked --release -p server --test workers -- --nocapture
