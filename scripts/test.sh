#!/usr/bin/env bash
# The test command: build, start a private PostgreSQL, run every test, summarise.
#
#   bash scripts/test.sh [extra dotnet test arguments, e.g. --filter "FullyQualifiedName~Pigeon.Tests.Database"]
#
# PostgreSQL runs from .dev/test-postgres/ on a free loopback port (see scripts/postgres.sh, which
# also explains how it copes with running as root) and is stopped on exit, unless it was already
# running. Each test creates and drops its own database, so the cluster is reused between runs. Tests find it through
# PIGEON_TEST_POSTGRES, a superuser connection string, so they can create their own databases.
# Before the .NET tests, scripts/helm.sh checks the Helm chart (lint --strict, template with the
# default and the production values); a failure there counts as one failed test.
# TRX results go to .dev/test-results/. The last line printed is always
# "N passed, N failed, N skipped"; the exit code is non-zero if the build or any test failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PG_DATA="$ROOT/.dev/test-postgres"
RESULTS="$ROOT/.dev/test-results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

passed=0 failed=0 skipped=0
helm_failed=0

summary() {
  local trx counters value
  shopt -s nullglob
  for trx in "$RESULTS"/*.trx "$RESULTS"/**/*.trx; do
    counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n1)"
    [[ -n "$counters" ]] || continue
    attr() { value="$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters")"; echo "${value:-0}"; }
    passed=$(( passed + $(attr passed) ))
    failed=$(( failed + $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted) ))
    skipped=$(( skipped + $(attr notExecuted) + $(attr inconclusive) ))
  done
  failed=$(( failed + helm_failed ))
  echo "$passed passed, $failed failed, $skipped skipped"
}

stop_postgres() {
  bash "$ROOT/scripts/postgres.sh" stop "$PG_DATA" >/dev/null 2>&1 || true
}

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

echo "==> dotnet build Pigeon.sln"
if ! dotnet build Pigeon.sln </dev/null; then
  echo "build failed" >&2
  summary
  exit 1
fi

echo "==> bash scripts/helm.sh check"
if ! bash "$ROOT/scripts/helm.sh" check </dev/null; then
  echo "helm chart check failed" >&2
  helm_failed=1
fi

echo "==> starting PostgreSQL in $PG_DATA"
# A server someone started by hand (to debug, say) is used and left running.
if ! bash "$ROOT/scripts/postgres.sh" status "$PG_DATA" >/dev/null 2>&1; then
  trap stop_postgres EXIT
fi
if ! PIGEON_TEST_POSTGRES="$(bash "$ROOT/scripts/postgres.sh" start "$PG_DATA" </dev/null)"; then
  echo "PostgreSQL did not start" >&2
  summary
  exit 1
fi
export PIGEON_TEST_POSTGRES
echo "    $PIGEON_TEST_POSTGRES"

echo "==> dotnet test Pigeon.sln $*"
dotnet test Pigeon.sln --no-build --logger trx --results-directory "$RESULTS" \
  --blame-hang-timeout 15m "$@" </dev/null
status=$?

summary
if (( status != 0 || failed > 0 || helm_failed > 0 )); then
  exit 1
fi
