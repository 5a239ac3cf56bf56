#!/usr/bin/env bash
# The local stack in one command: a private PostgreSQL, two silos and a gateway on loopback.
#
#   scripts/dev.sh up [--no-build] [--co-hosted]
#                                    build (Debug, or $PIGEON_DEV_CONFIGURATION), start PostgreSQL, migrate, start the processes,
#                                    wait until all are ready, print the API's URL; --co-hosted: no gateway, the silos
#                                    serve the API themselves (Pigeon:Silo:ServeApi), silo-1's address is the URL
#   scripts/dev.sh down              stop exactly what `up` started, then PostgreSQL
#   scripts/dev.sh status            say what runs (exit 0 when everything does, 3 otherwise)
#
# Everything lives in .dev/local/ (or $PIGEON_DEV_DIR): postgres/ (the data directory, see
# scripts/postgres.sh), token-signing-key (mode 0600, generated once), ports, api-mode (gateway or
# co-hosted, what the last `up` chose; `up` in the other mode stops the stack first), and for each process
# <name>.pid and <name>.log, and bin/pigeon, a wrapper that runs the built CLI (`up` prints the PATH
# line that makes it `pigeon`, unless a `pigeon` already is on the PATH). The processes run in their own sessions (setsid), so closing the
# terminal leaves them running; `down` stops them by the pids it recorded, after checking that each
# pid still is the process it started (its command line and a PIGEON_DEV_STACK marker in its
# environment), SIGTERM first and SIGKILL after a timeout.
#
# The apps are built in Debug by default, the same output `dotnet build Pigeon.sln` and the tests
# use; PIGEON_DEV_CONFIGURATION=Release builds and runs Release instead (for benchmarks). They run
# with `dotnet <App>.dll`. Ports are free loopback ports picked on the first `up` and reused while
# free; they come from below Linux's ephemeral port range and are checked by binding them (see
# scripts/ports.sh). PIGEON_DEV_GATEWAY_PORT fixes the HTTP port of the API (the gateway's, or silo-1's
# when co-hosted). `up` is idempotent: what already
# runs is left alone and what does not is started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
DEV="${PIGEON_DEV_DIR:-$ROOT/.dev/local}"
mkdir -p "$DEV"
DEV="$(cd "$DEV" && pwd)"
readonly DEV
readonly PG_DATA="$DEV/postgres"
readonly CONFIGURATION="${PIGEON_DEV_CONFIGURATION:-Debug}"
[[ "$CONFIGURATION" == Debug || "$CONFIGURATION" == Release ]] \
  || { echo "dev.sh: PIGEON_DEV_CONFIGURATION must be Debug or Release, not '$CONFIGURATION'" >&2; exit 2; }
readonly TFM=net10.0
# PIGEON_DEV_SILOS=1 runs a single silo (the benchmark setup); two by default.
case "${PIGEON_DEV_SILOS:-2}" in
  1) readonly SILOS=(silo-1) ;;
  2) readonly SILOS=(silo-1 silo-2) ;;
  *) echo "dev.sh: PIGEON_DEV_SILOS must be 1 or 2, not '${PIGEON_DEV_SILOS}'" >&2; exit 2 ;;
esac
readonly STOP_TIMEOUT=25
readonly READY_TIMEOUT=120
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { echo "dev.sh: $*"; }
die() { echo "dev.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# app_dll NAME [CONFIGURATION]: the dll a process runs, in this run's configuration by default.
app_dll() {
  local configuration="${2:-$CONFIGURATION}"
  case "$1" in
    silo-*) echo "$ROOT/Pigeon.Silo/bin/$configuration/$TFM/Pigeon.Silo.dll" ;;
    gateway) echo "$ROOT/Pigeon.Gateway/bin/$configuration/$TFM/Pigeon.Gateway.dll" ;;
    client) echo "$ROOT/Pigeon.Client/bin/$configuration/$TFM/pigeon.dll" ;;
  esac
}

# --- ports ---------------------------------------------------------------------------------------

# port_range, port_allowed, port_free, pick_free_port: outside the ephemeral range, checked by binding.
# shellcheck source=scripts/ports.sh
source "$ROOT/scripts/ports.sh"

port_in_use() { ! port_free "$1"; }

declare -A PORTS=()

load_ports() {
  local key value
  [[ -f "$DEV/ports" ]] || return 0
  while IFS='=' read -r key value; do
    [[ -n "$key" && "$value" =~ ^[0-9]+$ ]] && PORTS[$key]="$value"
  done <"$DEV/ports"
}

save_ports() {
  local key
  for key in "${!PORTS[@]}"; do echo "$key=${PORTS[$key]}"; done | sort >"$DEV/ports"
}

port_taken_by_us() {
  local key
  for key in "${!PORTS[@]}"; do [[ "${PORTS[$key]}" == "$1" && "$key" != "$2" ]] && return 0; done
  return 1
}

# Keeps the recorded port while it is free and outside the ephemeral range (stable URLs between
# runs), otherwise picks a new one.
assign_port() {
  local key="$1" port attempt
  port="${PORTS[$key]:-}"
  if [[ -n "$port" ]] && port_allowed "$port" && port_free "$port" && ! port_taken_by_us "$port" "$key"; then return; fi
  for attempt in $(seq 1 100); do
    port="$(pick_free_port)" || die "no free TCP port found on 127.0.0.1"
    if ! port_taken_by_us "$port" "$key"; then PORTS[$key]="$port"; return; fi
  done
  die "no free TCP port found on 127.0.0.1"
}

# The key of the port the API answers on: the gateway's, or silo-1's when the silos serve it.
api_port_key() { if [[ "$API_MODE" == co-hosted ]]; then echo silo-1.http; else echo gateway.http; fi; }

# The process that serves the API at that port.
api_process() { if [[ "$API_MODE" == co-hosted ]]; then echo silo-1; else echo gateway; fi; }

assign_ports() {
  local silo api
  api="$(api_port_key)"
  for silo in "${SILOS[@]}"; do
    is_running "$silo" && continue
    assign_port "$silo.silo"; assign_port "$silo.gateway"
    [[ "$silo.http" == "$api" ]] || assign_port "$silo.http"
  done
  is_running "$(api_process)" && return
  if [[ -n "${PIGEON_DEV_GATEWAY_PORT:-}" ]]; then
    [[ "$PIGEON_DEV_GATEWAY_PORT" =~ ^[0-9]+$ ]] || die "PIGEON_DEV_GATEWAY_PORT must be a port number"
    if port_in_use "$PIGEON_DEV_GATEWAY_PORT"; then
      die "port $PIGEON_DEV_GATEWAY_PORT (PIGEON_DEV_GATEWAY_PORT) is taken by another program; free it, or pick another port, or unset PIGEON_DEV_GATEWAY_PORT to get a free one"
    fi
    PORTS[$api]="$PIGEON_DEV_GATEWAY_PORT"
  else
    assign_port "$api"
  fi
}

api_url() { echo "http://127.0.0.1:${PORTS[$(api_port_key)]}"; }

# gateway (the default) or co-hosted; `up` records its choice in api-mode for status and the next up.
API_MODE=gateway
load_api_mode() {
  local recorded
  recorded="$(cat "$DEV/api-mode" 2>/dev/null || true)"
  [[ "$recorded" == co-hosted ]] && API_MODE=co-hosted
  return 0
}

http_port_of() {
  case "$1" in
    gateway) echo "${PORTS[gateway.http]:-}" ;;
    *) echo "${PORTS[$1.http]:-}" ;;
  esac
}

# --- processes -----------------------------------------------------------------------------------

# Whether <pid> is the process `up` started as <name>: alive, running our assembly, and carrying our
# marker. A pid reused by an unrelated program fails this and is never signalled.
is_ours() {
  local name="$1" pid="$2"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  # Either configuration: `up` may have run with another PIGEON_DEV_CONFIGURATION than `down`.
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null \
    | grep -qxF -e "$(app_dll "$name" Debug)" -e "$(app_dll "$name" Release)" || return 1
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "PIGEON_DEV_STACK=$DEV/$name" || return 1
}

pid_of() { [[ -f "$DEV/$1.pid" ]] && cat "$DEV/$1.pid" 2>/dev/null || true; }

is_running() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && is_ours "$1" "$pid"
}

# Starts `dotnet <dll>` in a session of its own with the given environment; its pid goes to
# <name>.pid from inside (exec keeps it), so what is recorded is exactly the app's pid.
start_process() {
  local name="$1" dll
  shift
  dll="$(app_dll "$name")"
  : >"$DEV/$name.log"
  (
    cd "$(dirname "$dll")"
    # Production, so errors look exactly as they do when deployed (no developer exception page).
    export PIGEON_DEV_STACK="$DEV/$name" DOTNET_ENVIRONMENT=Production ASPNETCORE_ENVIRONMENT=Production
    for assignment in "$@"; do export "${assignment?}"; done
    setsid bash -c 'echo $$ >"$1"; exec dotnet "$2"' _ "$DEV/$name.pid" "$dll" \
      </dev/null >>"$DEV/$name.log" 2>&1 &
  )
}

wait_ready() {
  local name="$1" port deadline
  port="$(http_port_of "$name")"
  deadline=$(( SECONDS + READY_TIMEOUT ))
  while (( SECONDS < deadline )); do
    if ! is_running "$name"; then
      # In the first instant the pid file may not be written yet, or its pid may still be the bash
      # that is about to exec dotnet: only a pid that is gone means the app exited.
      if [[ -s "$DEV/$name.pid" ]] && ! kill -0 "$(pid_of "$name")" 2>/dev/null; then
        tail -n 30 "$DEV/$name.log" >&2 || true
        die "$name exited during startup (log: $DEV/$name.log)"
      fi
    elif curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
      return
    fi
    sleep 0.5
  done
  tail -n 30 "$DEV/$name.log" >&2 || true
  die "$name was not ready within ${READY_TIMEOUT}s (log: $DEV/$name.log)"
}

# SIGTERM to every named process that is ours, then SIGKILL whatever is left after the timeout.
stop_processes() {
  local name pid deadline left
  local -a pids=() names=()
  for name in "$@"; do
    pid="$(pid_of "$name")"
    if [[ -z "$pid" ]]; then continue; fi
    if is_ours "$name" "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); names+=("$name")
    elif kill -0 "$pid" 2>/dev/null; then
      say "$name: pid $pid is not the process dev.sh started (reused pid?), leaving it alone"
      rm -f "$DEV/$name.pid"
    else
      rm -f "$DEV/$name.pid"
    fi
  done
  deadline=$(( SECONDS + STOP_TIMEOUT ))
  while :; do
    left=0
    for i in "${!pids[@]}"; do
      if kill -0 "${pids[$i]}" 2>/dev/null && is_ours "${names[$i]}" "${pids[$i]}"; then left=1; fi
    done
    (( left )) || break
    if (( SECONDS >= deadline )); then
      for i in "${!pids[@]}"; do
        if is_ours "${names[$i]}" "${pids[$i]}"; then
          say "${names[$i]} (pid ${pids[$i]}) did not stop within ${STOP_TIMEOUT}s of SIGTERM; sending SIGKILL"
          kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
      done
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  for i in "${!names[@]}"; do
    say "stopped ${names[$i]} (pid ${pids[$i]})"
    rm -f "$DEV/${names[$i]}.pid"
  done
}

# The processes of this stack: the silos, and the gateway unless the silos serve the API.
stack_processes() {
  echo "${SILOS[@]}"
  [[ "$API_MODE" == co-hosted ]] || echo gateway
}

all_running() {
  local name
  for name in $(stack_processes); do is_running "$name" || return 1; done
}

# --- commands ------------------------------------------------------------------------------------

require_dotnet() {
  command -v dotnet >/dev/null 2>&1 \
    || die "dotnet is not installed or not on PATH: install the .NET 10 SDK (see global.json) and run again"
  dotnet --list-sdks 2>/dev/null | grep -q '^10\.' \
    || die "no .NET 10 SDK found (dotnet --list-sdks): install the .NET 10 SDK and run again"
}

build() {
  local project
  say "building the apps ($CONFIGURATION)"
  for project in Pigeon.Silo Pigeon.Gateway Pigeon.Client; do
    dotnet build "$ROOT/$project/$project.csproj" -c "$CONFIGURATION" -v quiet -nologo </dev/null >"$DEV/build.log" 2>&1 \
      || { tail -n 40 "$DEV/build.log" >&2; die "building $project failed (log: $DEV/build.log)"; }
  done
}

ensure_token_key() {
  if [[ ! -s "$DEV/token-signing-key" ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$DEV/token-signing-key")
  fi
  chmod 0600 "$DEV/token-signing-key"
}

start_postgres() {
  local connection
  connection="$(bash "$ROOT/scripts/postgres.sh" start "$PG_DATA" </dev/null)" \
    || die "PostgreSQL did not start (see the message above; log: $PG_DATA/postgres.log)"
  CONNECTION_STRING="$connection"
}

silo_environment() {
  local silo="$1"
  if [[ "$API_MODE" == co-hosted ]]; then
    echo "Pigeon__Silo__ServeApi=true"
    echo "Pigeon__Auth__TokenSigningKey=$(cat "$DEV/token-signing-key")"
    api_origins "${PORTS[$silo.http]}"
  fi
  echo "ConnectionStrings__Pigeon=$CONNECTION_STRING"
  echo "Pigeon__Cluster__ServiceId=pigeon"
  echo "Pigeon__Cluster__ClusterId=dev"
  echo "Pigeon__Silo__AdvertisedAddress=127.0.0.1"
  echo "Pigeon__Silo__SiloPort=${PORTS[$silo.silo]}"
  echo "Pigeon__Silo__GatewayPort=${PORTS[$silo.gateway]}"
  echo "Pigeon__Silo__ShutdownTimeout=00:00:10"
  echo "Urls=http://127.0.0.1:${PORTS[$silo.http]}"
}

gateway_environment() {
  echo "ConnectionStrings__Pigeon=$CONNECTION_STRING"
  echo "Pigeon__Cluster__ServiceId=pigeon"
  echo "Pigeon__Cluster__ClusterId=dev"
  echo "Pigeon__Auth__TokenSigningKey=$(cat "$DEV/token-signing-key")"
  echo "Orleans__Gateway__GatewayListRefreshPeriod=00:00:05"
  echo "Urls=http://127.0.0.1:${PORTS[gateway.http]}"
  api_origins "${PORTS[gateway.http]}"
}

# The origins a sign-in may be signed for (Pigeon:Auth:Origins): the API's loopback address by both names.
api_origins() {
  echo "Pigeon__Auth__Origins__0=http://127.0.0.1:$1"
  echo "Pigeon__Auth__Origins__1=http://localhost:$1"
}

print_usage_hint() {
  local url serving
  url="$(api_url)"
  if [[ "$API_MODE" == co-hosted ]]; then serving="silo-1, co-hosted"; else serving="gateway"; fi
  cat <<EOF

Pigeon runs locally:
  API       $url   ($serving: API under /v1, /health/ready, /metrics, /openapi/v1.json)
  silos     ${SILOS[*]}
  data      $DEV   (logs: *.log)

$(pigeon_on_path_hint)
Create an identity and register it with this server:
  pigeon init --server $url --name alice
A second user on the same machine: add --profile bob (or PIGEON_HOME=...).

Stop everything with: scripts/dev.sh down
EOF
}

# bin/pigeon: the CLI this checkout built, as a command (what `dotnet tool install` gives, without installing).
write_pigeon_wrapper() {
  mkdir -p "$DEV/bin"
  printf '#!/bin/sh\nexec dotnet %q "$@"\n' "$(app_dll client)" >"$DEV/bin/pigeon"
  chmod 0755 "$DEV/bin/pigeon"
}

pigeon_on_path_hint() {
  if [[ "$(command -v pigeon 2>/dev/null)" == "$DEV/bin/pigeon" ]]; then
    echo "The pigeon command is on your PATH ($DEV/bin/pigeon)."
  else
    echo "Put the pigeon command on your PATH (this shell):"
    echo "  export PATH=\"$DEV/bin:\$PATH\""
  fi
}

cmd_up() {
  local build=1 name started=0 line mode=gateway
  local -a environment
  for arg in "$@"; do
    case "$arg" in
      --no-build) build=0 ;;
      --co-hosted) mode=co-hosted ;;
      *) usage ;;
    esac
  done
  require_dotnet
  load_ports
  load_api_mode
  if [[ "$mode" != "$API_MODE" ]] && { is_running gateway || is_running silo-1 || is_running silo-2; }; then
    say "the stack runs with the API $API_MODE; stopping it to start it $mode"
    stop_processes gateway silo-1 silo-2
  fi
  API_MODE="$mode"
  echo "$API_MODE" >"$DEV/api-mode"

  if all_running && bash "$ROOT/scripts/postgres.sh" status "$PG_DATA" >/dev/null 2>&1; then
    write_pigeon_wrapper
    say "already running"
    print_usage_hint
    return
  fi

  (( build )) && build
  for name in $(stack_processes); do
    [[ -f "$(app_dll "$name")" ]] || die "$(app_dll "$name") is not built: run without --no-build"
  done
  write_pigeon_wrapper
  ensure_token_key
  say "starting PostgreSQL in $PG_DATA"
  start_postgres
  say "applying migrations"
  ConnectionStrings__Pigeon="$CONNECTION_STRING" dotnet "$(app_dll silo-1)" migrate </dev/null >"$DEV/migrate.log" 2>&1 \
    || { tail -n 30 "$DEV/migrate.log" >&2; die "migrations failed (log: $DEV/migrate.log)"; }

  assign_ports
  save_ports
  for name in "${SILOS[@]}"; do
    if is_running "$name"; then say "$name already running (pid $(pid_of "$name"))"; continue; fi
    environment=()
    while IFS= read -r line; do environment+=("$line"); done < <(silo_environment "$name")
    say "starting $name (silo port ${PORTS[$name.silo]}, gateway port ${PORTS[$name.gateway]}, http ${PORTS[$name.http]})"
    start_process "$name" "${environment[@]}"
    started=1
  done
  # The silos start together; the gateway needs one of them up to report ready.
  for name in "${SILOS[@]}"; do wait_ready "$name"; done
  if [[ "$API_MODE" == co-hosted ]]; then
    :
  elif is_running gateway; then
    say "gateway already running (pid $(pid_of gateway))"
  else
    environment=()
    while IFS= read -r line; do environment+=("$line"); done < <(gateway_environment)
    say "starting gateway (http ${PORTS[gateway.http]})"
    start_process gateway "${environment[@]}"
    started=1
  fi
  [[ "$API_MODE" == co-hosted ]] || wait_ready gateway
  (( started )) && say "all ready"
  print_usage_hint
}

cmd_down() {
  say "stopping the gateway"
  stop_processes gateway
  say "stopping the silos"
  # Both, whatever PIGEON_DEV_SILOS says now: `up` may have run with another value.
  stop_processes silo-1 silo-2
  if [[ -f "$PG_DATA/PG_VERSION" ]]; then
    say "stopping PostgreSQL"
    bash "$ROOT/scripts/postgres.sh" stop "$PG_DATA" </dev/null || die "PostgreSQL did not stop (log: $PG_DATA/postgres.log)"
  fi
  say "stopped"
}

cmd_status() {
  local name all=1 pg
  load_ports
  load_api_mode
  if pg="$(bash "$ROOT/scripts/postgres.sh" status "$PG_DATA" 2>/dev/null)"; then
    echo "postgres  $pg"
  else
    echo "postgres  stopped"; all=0
  fi
  for name in $(stack_processes); do
    if is_running "$name"; then
      echo "$(printf '%-9s' "$name") running (pid $(pid_of "$name"), http://127.0.0.1:$(http_port_of "$name"))"
    else
      echo "$(printf '%-9s' "$name") stopped"; all=0
    fi
  done
  if (( all )); then
    echo "API URL: $(api_url) ($API_MODE)"
    return 0
  fi
  return 3
}

[[ $# -ge 1 ]] || usage
command="$1"
shift
case "$command" in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) usage ;;
esac
