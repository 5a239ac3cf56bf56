#!/usr/bin/env bash
# The test command: build, then run the test tiers fastest first, and summarise them all.
#
#   bash scripts/test.sh [--tier protocol|client|server|system]... [extra dotnet test arguments]
#
# The tiers are the projects under Pigeon.Tests/, run in this order:
#   protocol  Pigeon.Tests/Protocol  pure: the protocol and its published vectors (seconds)
#   client    Pigeon.Tests/Client    the pigeon command in-process and the load generator's logic; no server
#   server    Pigeon.Tests/Server    grains on a TestCluster, the gateway in memory, SQL, hosting (PostgreSQL)
#   system    Pigeon.Tests/System    real processes, dev.sh, failover, Helm and Dockerfiles, bench smoke
# --tier (repeatable) runs only those tiers; without it every tier runs. Extra arguments go to every
# `dotnet test`, e.g. --filter "FullyQualifiedName~Pigeon.Tests.Grains".
#
# PostgreSQL, needed from the server tier on, runs from .dev/test-postgres/ on a free loopback port
# (see scripts/postgres.sh, which also explains how it copes with running as root) and is stopped on
# exit, unless it was already running. Each test creates and drops its own database, so the cluster
# is reused between runs. Tests find it through PIGEON_TEST_POSTGRES, a superuser connection string.
# The system tier drives the full-screen chat through tmux: when tmux is missing it is installed with
# apt as root (CI runs as root on a fresh Debian machine); otherwise that test fails saying so.
# Before the system tier, scripts/helm.sh checks the Helm chart (lint --strict, template with the
# default and the production values); a failure there counts as one failed test.
# TRX results go to .dev/test-results/<tier>.trx. The last line printed is always
# "N passed, N failed, N skipped" over every tier that ran; the exit code is non-zero if the build
# or any test failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

readonly ALL_TIERS=(protocol client server system)
PG_DATA="$ROOT/.dev/test-postgres"
RESULTS="$ROOT/.dev/test-results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

tiers=()
args=()
while (( $# > 0 )); do
  case "$1" in
    --tier)
      [[ $# -ge 2 && " ${ALL_TIERS[*]} " == *" $2 "* ]] || { echo "test.sh: --tier takes one of: ${ALL_TIERS[*]}" >&2; exit 2; }
      tiers+=("$2"); shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
(( ${#tiers[@]} > 0 )) || tiers=("${ALL_TIERS[@]}")

selected() { [[ " ${tiers[*]} " == *" $1 "* ]]; }

passed=0 failed=0 skipped=0
helm_failed=0
timings=()

# Counts one TRX file into the totals; prints "passed failed skipped" for it.
count_trx() {
  local counters value p f s
  counters="$(grep -o '<Counters [^>]*>' "$1" | head -n1)"
  [[ -n "$counters" ]] || { echo "0 0 0"; return; }
  attr() { value="$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters")"; echo "${value:-0}"; }
  p=$(attr passed)
  f=$(( $(attr failed) + $(attr error) + $(attr timeout) + $(attr aborted) ))
  s=$(( $(attr notExecuted) + $(attr inconclusive) ))
  echo "$p $f $s"
}

summary() {
  local line
  for line in "${timings[@]}"; do echo "$line"; done
  echo "$passed passed, $(( failed + helm_failed )) failed, $skipped skipped"
}

ensure_tmux() {
  command -v tmux >/dev/null 2>&1 && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing tmux (apt-get) for the full-screen chat test"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q tmux >&2
  else
    echo "test.sh: tmux is missing and cannot be installed here (not root): the full-screen chat test will fail; install tmux" >&2
  fi
}

stop_postgres() {
  bash "$ROOT/scripts/postgres.sh" stop "$PG_DATA" >/dev/null 2>&1 || true
}

start_postgres() {
  [[ -n "${PIGEON_TEST_POSTGRES:-}" ]] && return 0
  echo "==> starting PostgreSQL in $PG_DATA"
  # A server someone started by hand (to debug, say) is used and left running.
  if ! bash "$ROOT/scripts/postgres.sh" status "$PG_DATA" >/dev/null 2>&1; then
    trap stop_postgres EXIT
  fi
  if ! PIGEON_TEST_POSTGRES="$(bash "$ROOT/scripts/postgres.sh" start "$PG_DATA" </dev/null)"; then
    echo "PostgreSQL did not start" >&2
    return 1
  fi
  export PIGEON_TEST_POSTGRES
  echo "    $PIGEON_TEST_POSTGRES"
}

run_tier() {
  local tier="$1" project started status p f s
  project="Pigeon.Tests/${tier^}/Pigeon.Tests.${tier^}.csproj"
  echo "==> tier $tier: dotnet test $project ${args[*]}"
  started=$SECONDS
  dotnet test "$project" --no-build --logger "trx;LogFileName=$tier.trx" --results-directory "$RESULTS" \
    --blame-hang-timeout 15m "${args[@]}" </dev/null
  status=$?
  if [[ -f "$RESULTS/$tier.trx" ]]; then
    read -r p f s < <(count_trx "$RESULTS/$tier.trx")
  else
    # No results at all (the test host did not start): count the tier as one failure.
    read -r p f s <<<"0 $(( status == 0 ? 0 : 1 )) 0"
  fi
  # A test host that crashed or hung after writing results still fails the run.
  (( status == 0 || f > 0 )) || f=1
  passed=$(( passed + p )) failed=$(( failed + f )) skipped=$(( skipped + s ))
  timings+=("tier $tier: $p passed, $f failed, $s skipped in $(( SECONDS - started )) s")
}

rm -rf "$RESULTS"
mkdir -p "$RESULTS"

echo "==> dotnet build Pigeon.sln"
if ! dotnet build Pigeon.sln </dev/null; then
  echo "build failed" >&2
  failed=1
  summary
  exit 1
fi

for tier in "${ALL_TIERS[@]}"; do
  selected "$tier" || continue
  if [[ "$tier" == server || "$tier" == system ]] && ! start_postgres; then
    failed=$(( failed + 1 ))
    break
  fi
  if [[ "$tier" == system ]]; then
    ensure_tmux
    echo "==> bash scripts/helm.sh check"
    if ! bash "$ROOT/scripts/helm.sh" check </dev/null; then
      echo "helm chart check failed" >&2
      helm_failed=1
    fi
  fi
  run_tier "$tier"
done

summary
if (( failed > 0 || helm_failed > 0 )); then
  exit 1
fi
