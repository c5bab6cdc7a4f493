# Pinguin's commands. `make help` lists them.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION ?= 2025.1.1

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: up
up: ## start everything with Docker Compose (TimescaleDB, Redis, api, scheduler, 2 workers)
	docker compose up --build -d
	@echo "Pinguin is starting: the API answers on http://127.0.0.1:8080 once healthy (make logs to follow)."
	@echo "On the first start the api logs an admin token; show it with:"
	@echo "  docker compose logs api | grep 'first admin API token'"

.PHONY: down
down: ## stop the Compose stack (data volumes are kept; docker compose down -v drops them)
	docker compose down

.PHONY: logs
logs: ## follow the Compose stack's logs
	docker compose logs -f --tail=100

.PHONY: build
build: ## build the three binaries into bin/
	$(GO) build -o bin/ ./cmd/...

.PHONY: run
run: build ## run api, scheduler and worker against local PostgreSQL and Redis (Ctrl-C stops all)
	@deploy/run-local.sh

.PHONY: install
install: ## install Go, PostgreSQL and Redis with Homebrew (see the Brewfile)
	brew bundle --file=Brewfile

.PHONY: test
test: ## run every test (needs PostgreSQL and Redis; see README)
	$(GO) vet ./...
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) test -race -count=1 -timeout 15m ./...

.PHONY: lint
lint: ## run staticcheck (fetched from the Go module proxy)
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

.PHONY: bench
bench: ## load run: PINGUIN_BENCH_MONITORS (10000) at PINGUIN_BENCH_INTERVAL (10s) for PINGUIN_BENCH_DURATION (60s)
	$(GO) test -run '^$$' -bench '^BenchmarkLoad$$' -benchtime 1x -timeout 60m ./internal/bench
