# chatsync: everyday verbs. Everything installs what it needs by itself:
# a Python venv outside the clone (moto server, cfn-lint, aws-sam-cli, cargo-lambda) and Rust targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# One target dir per clone, kept across sessions outside the clone (the AWS SDK crates are slow
# to build on 2 cores). Keyed by the clone's path so one clone never runs another's binaries.
CLONE_KEY := $(notdir $(CURDIR))-$(shell printf '%s' '$(CURDIR)' | sha256sum | cut -c1-12)
CARGO_TARGET_DIR ?= $(HOME)/.cache/chatsync-target/$(CLONE_KEY)
export CARGO_TARGET_DIR
VENV ?= $(HOME)/.cache/chatsync/venv
export CHATSYNC_VENV := $(VENV)
export SAM_CLI_TELEMETRY := 0
export PATH := $(VENV)/bin:$(HOME)/.cargo/bin:$(PATH)
BIN_DIR := $(CARGO_TARGET_DIR)/debug
VENV_STAMP := $(VENV)/.installed-$(shell sha256sum tools/python/requirements.txt | cut -c1-16)

.PHONY: venv help demo dev test unit conformance fuzz lint lint-modules fmt-check clippy lint-template lint-selfcheck bins events bench bench-profiles build deploy clean-local

help:
	@echo "make demo    set up and run the whole pipeline locally (moto + function host), then stop"
	@echo "make dev     the same, and stay up (intake on http://127.0.0.1:3000)"
	@echo "make test    fmt, clippy, cfn-lint, sam validate, every test suite"
	@echo "make unit    unit tests and the in-process suites only: no moto, no Python, no child processes"
	@echo "make conformance  the emulator against captured Salesforce answers (../shared/fixtures, CI only)"
	@echo "make bench   benchmarks (see BENCHMARKS.md)"
	@echo "make fuzz    fuzz every platform parser for FUZZ_SECONDS (default 60) each"
	@echo "make build   sam build: arm64 bootstrap binaries through cargo-lambda"
	@echo "make deploy  sam deploy (--guided the first time)"

$(VENV_STAMP): tools/python/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r tools/python/requirements.txt
	touch $@

venv: $(VENV_STAMP)

bins:
	cargo build --workspace --bins

demo: venv bins
	$(BIN_DIR)/chatsync-local demo --bin-dir $(BIN_DIR)

dev: venv bins
	$(BIN_DIR)/chatsync-local dev --bin-dir $(BIN_DIR) --schedule-every 60s

events: bins
	$(BIN_DIR)/chatsync-local events

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	# The conformance suite is built only with its feature; it compiles without the fixtures.
	cargo clippy -p sf-emulator --all-targets --features conformance -- -D warnings

lint-template: venv
	cfn-lint template.yaml
	sam validate --lint --region eu-west-1 >/dev/null

# The pinned cfn-lint must still catch a misspelt FunctionResponseTypes value (1.54-1.58 do not).
lint-selfcheck: venv
	@sed 's/\[ReportBatchItemFailures\]/[ReportBatchItemFailure]/' template.yaml > $(CARGO_TARGET_DIR)/misspelt-template.yaml
	@if cfn-lint $(CARGO_TARGET_DIR)/misspelt-template.yaml >/dev/null; then \
	  echo "cfn-lint no longer flags a misspelt FunctionResponseTypes value: pin a version that does"; exit 1; \
	else echo "cfn-lint flags a misspelt FunctionResponseTypes value: ok"; fi

# No import cycle among a crate's modules (one module per file; tests left out). The Salesforce
# emulator's request router (rest, composite, collections, upsert; server and admin) is left out.
lint-modules:
	@for src in shared/src functions/*/src tools/cli/src tools/local/src tests/src; do \
	  python3 tools/module-cycles.py $$src || exit 1; done

lint: fmt-check clippy lint-modules lint-template lint-selfcheck

test: venv lint bins
	$(BIN_DIR)/chatsync-local events --check
	cargo test --workspace --no-fail-fast

# The quick loop: every crate's unit tests (lib and bins), shared's pure suites (parser fuzz
# targets at their default case count, the identity corpus) and the emulator's and the
# attachment fetcher's suites, whose servers run in-process. Nothing here starts moto, Python
# or a child process; chatsync-tests (moto, the function host) is left to `make test`.
unit:
	cargo test --workspace --exclude chatsync-tests --lib --bins --test it --test attachments

# The emulator against captured real Salesforce answers, which live beside the repository
# (../shared/fixtures/salesforce) on the team's CI only and are never copied into it. Not part of
# `make test`: the conformance test target exists only with sf-emulator's `conformance` feature.
SF_FIXTURES := ../shared/fixtures/salesforce
conformance:
	@test -d $(SF_FIXTURES) || { \
	  echo "make conformance: the captured Salesforce answers are missing: expected $(abspath $(SF_FIXTURES))"; \
	  echo "(check out the shared folder beside this clone, as CI does; make test does not need it)"; \
	  exit 1; }
	cargo test -p sf-emulator --features conformance --test conformance

# One proptest target per platform parser, each run for FUZZ_SECONDS; a failure prints the
# shrunk input and the seed to replay it (PROPTEST_RNG_SEED).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test -p shared --test it fuzz_parsers:: -- --nocapture --test-threads 4

FUNCTIONS := -p webhook-intake -p identity-resolver -p case-writer -p retry-drainer -p salesforce-listener -p chat-writer -p salesforce-poller -p inbox-app

bench: venv
	# Functions built on their own, as sam build builds them (no feature unification with tools).
	cargo build --release $(FUNCTIONS)
	cargo build --release -p chatsync-local -p rng-init
	@echo "== intake handler work (verify + parse + queue_events), typical and 64 KiB payloads, release"
	cargo bench -p chatsync-tests --bench intake
	@echo "== whole intake on the local stack (release webhook-intake under RIE, on moto)"
	cargo bench -p chatsync-tests --bench intake_stack
	@echo "== identity corpus through the resolver and the emulator: precision, recall, calls per resolution"
	cargo test -q -p chatsync-tests --test it identity_corpus:: -- --nocapture 2>&1 | grep "identity corpus"
	@echo "== Salesforce API calls per chat event: the scenario and a 50-conversation replay (release pipeline on the local stack)"
	cargo bench -p chatsync-tests --bench writer_calls
	@echo "== Salesforce → chat: save → on both platforms, and API calls per change (release functions on the local stack)"
	cargo bench -p chatsync-tests --bench to_chat
	@echo "== inbox panel: a signed Canvas Kit request, uncached and cached, and Salesforce calls per view"
	cargo bench -p chatsync-tests --bench panel
	@echo "== Salesforce client overhead per composite, emulator throughput"
	cargo bench -p chatsync-tests --bench salesforce
	@echo "== release binary size and cold start per function (under RIE, on moto)"
	$(CARGO_TARGET_DIR)/release/chatsync-local coldstart --bin-dir $(CARGO_TARGET_DIR)/release --runs 9
	@echo "== AWS-LC first random draw: as built (jitter entropy off, .cargo/config.toml) and with it on"
	$(CARGO_TARGET_DIR)/release/rng-init 21
	AWS_LC_SYS_NO_JITTER_ENTROPY=0 CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/jitter-on cargo build --quiet --release -p rng-init
	$(CARGO_TARGET_DIR)/jitter-on/release/rng-init 21

bench-profiles: venv
	cargo build --release -p chatsync-local
	tools/bench-profiles.sh

build: venv
	rustup target add aarch64-unknown-linux-gnu
	sam build

deploy: build
	@if [ -f .aws-sam/.deployed ]; then sam deploy; else sam deploy --guided && touch .aws-sam/.deployed; fi

clean-local:
	rm -rf .local
