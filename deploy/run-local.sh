#!/usr/bin/env bash
# `make run`: Pinguin's three binaries against the PostgreSQL and Redis of
# this machine, logs interleaved with a prefix; Ctrl-C stops all of them.
# PINGUIN_DATABASE_URL and PINGUIN_REDIS_URL are used when set; otherwise the
# local defaults, and the database is created if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export PINGUIN_DATABASE_URL="${PINGUIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/pinguin?sslmode=disable}"
export PINGUIN_REDIS_URL="${PINGUIN_REDIS_URL:-redis://127.0.0.1:6379/0}"
api_addr="${PINGUIN_API_ADDR:-127.0.0.1:8080}"

say() { printf 'make run: %s\n' "$*" >&2; }

# The database's server, and the server's maintenance database.
db_name=$(sed -E 's#^[a-z]+://[^/]*/([^?]*).*#\1#' <<<"$PINGUIN_DATABASE_URL")
admin_url=$(sed -E "s#^([a-z]+://[^/]*/)[^?]*#\1postgres#" <<<"$PINGUIN_DATABASE_URL")

if command -v pg_isready >/dev/null && ! pg_isready -q -d "$admin_url"; then
	say "PostgreSQL does not answer at $(sed -E 's#//[^@]*@#//#' <<<"$admin_url")."
	say "  Debian/Ubuntu: sudo apt-get install postgresql && sudo service postgresql start"
	say "  macOS:         make install && brew services start postgresql@16"
	say "  or point PINGUIN_DATABASE_URL at a running server."
	exit 1
fi
if command -v psql >/dev/null; then
	if ! psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
		say "creating database $db_name"
		psql "$admin_url" -qc "CREATE DATABASE \"$db_name\"" >/dev/null
	fi
else
	say "psql not found: assuming database $db_name exists (install the PostgreSQL client to have it created)."
fi
if command -v redis-cli >/dev/null && ! redis-cli -u "$PINGUIN_REDIS_URL" ping >/dev/null 2>&1; then
	say "Redis does not answer at $PINGUIN_REDIS_URL."
	say "  Debian/Ubuntu: sudo apt-get install redis-server && sudo service redis-server start"
	say "  macOS:         make install && brew services start redis"
	say "  or point PINGUIN_REDIS_URL at a running server."
	exit 1
fi

pids=()
stop() {
	trap - INT TERM EXIT
	say "stopping"
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop INT TERM EXIT

start() { # name, then the command
	local name=$1
	shift
	"$@" > >(sed -u "s/^/[$name] /") 2>&1 &
	pids+=($!)
}

PINGUIN_API_ADDR="$api_addr" start "api      " bin/api
# The api applies migrations; scheduler and worker wait for them by themselves.
PINGUIN_ADMIN_ADDR="${PINGUIN_SCHEDULER_ADMIN_ADDR:-127.0.0.1:9101}" start "scheduler" bin/scheduler
PINGUIN_ADMIN_ADDR="${PINGUIN_WORKER_ADMIN_ADDR:-127.0.0.1:9102}" start "worker   " bin/worker
say "api on http://$api_addr, scheduler metrics on :9101, worker metrics on :9102. Ctrl-C stops all."
say "On the first start the api logs an admin token below (look for 'first admin API token'): export PINGUIN_TOKEN=<it>."
# Any one of them exiting stops the others.
wait -n "${pids[@]}" || true
