# The two commands that matter: `make run` and `make test`. `make help` lists the rest.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

DEV_PG_DIR ?= .data/postgres
DEV_PG_PORT ?= 54329
export DEV_PG_DIR DEV_PG_PORT

.PHONY: help run watch admin seed cluster kubernetes test lint unit e2e size lighthouse bench soak db stop-db tools fmt

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## Build and serve the app at http://127.0.0.1:3000 (starts Postgres if DATABASE_URL is unset)
	@scripts/run.sh serve

watch: ## Like run, rebuilding and reloading the browser on every change
	@scripts/run.sh watch

admin: ## Create an administrator: make admin EMAIL=… FIRST=… LAST=… PHONE=… (asks for the password)
	@scripts/run.sh admin "$(EMAIL)" "$(FIRST)" "$(LAST)" "$(PHONE)"

seed: ## Fill the database `make run` uses with ~40 demo products (again: adds nothing; never in production)
	@scripts/run.sh seed

cluster: ## Serve the release build from 3 app servers behind nginx at https://127.0.0.1:8443 (REPLICAS=2 for two)
	@scripts/cluster.sh $(REPLICAS)

kubernetes: ## Render deploy/kubernetes/ with kubectl kustomize, validate it against Kubernetes 1.32, check it against the code
	@scripts/kubernetes.sh

test: ## Every check and test: fmt, clippy (server and WASM), unit, integration, end-to-end
	@scripts/test.sh all

lint: ## Only rustfmt and clippy
	@scripts/test.sh lint

unit: ## Only the unit and integration tests (real Postgres)
	@scripts/test.sh unit

e2e: ## Only the end-to-end tests (builds the app; real Postgres and Chromium)
	@scripts/test.sh e2e

size: ## Release-build the app, print each page's first-load download (fails over budget) and every file's size
	@E2E_ARGS=tests/size.spec.ts scripts/test.sh e2e
	@node scripts/size.mjs target/site/pkg

lighthouse: ## Lighthouse (mobile) on the release build for /, /register, /login, /products, /account: a table, JSON in target/lighthouse
	@scripts/lighthouse.sh

bench: ## Benchmark the release build: registration vs bare argon2, latency, email delay, GET /api/profile, token issue, admin search, catalogue search, orders, webhook latency, 1 vs 2 replicas behind nginx
	@bench/run.sh

soak: ## 10 minutes (SOAK_SECONDS) of mixed traffic at half of saturation on the release build: no 5xx, memory flat, p99 per endpoint
	@bench/soak.sh

db: ## Start the project's Postgres (kept in .data/) and print its DATABASE_URL
	@scripts/postgres.sh start $(DEV_PG_DIR) $(DEV_PG_PORT)

stop-db: ## Stop the project's Postgres
	@scripts/postgres.sh stop $(DEV_PG_DIR)

tools: ## Install the build and test tools that are missing
	@scripts/tools.sh build node browser nginx deploy

fmt: ## Format the Rust code
	cargo fmt --all
