#!/usr/bin/env bash
# A private PostgreSQL for development and tests, run from the machine's own binaries.
#
#   scripts/postgres.sh start  <datadir> [port]   initialise if empty, start, print the connection string
#   scripts/postgres.sh stop   <datadir>          fast shutdown
#   scripts/postgres.sh status <datadir>          exit 0 and print the connection string when running
#
# The server listens on 127.0.0.1 only, trusts loopback connections for the superuser `postgres`, and
# keeps its unix socket and its log (`<datadir>/postgres.log`) inside the data directory. The
# connection string (Npgsql format) is also written to `<datadir>/connection-string`.
#
# Running as root: PostgreSQL refuses to run as root, so initdb/pg_ctl run as the `postgres` user
# (created by Debian's package) through runuser. That user owns the data directory (mode 0700) and
# must be able to traverse every folder above it; any ancestor it cannot traverse gets `o+x`
# (search only: nobody gains the right to list or read those folders). This keeps the data under
# the checkout, where `stop` and `status` find it, whether the checkout lives in /work, /tmp or /root.
set -euo pipefail

readonly PG_USER=postgres

die() { echo "postgres.sh: $*" >&2; exit 1; }

usage() {
  echo "usage: $0 start <datadir> [port] | stop <datadir> | status <datadir>" >&2
  exit 2
}

# Finds a directory holding initdb and pg_ctl, installing Debian's postgresql when there is none.
find_bindir() {
  local candidate
  if command -v pg_config >/dev/null 2>&1; then
    candidate="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then echo "$candidate"; return; fi
  fi
  # Newest major version first.
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then echo "$candidate"; return; fi
  done
  return 1
}

ensure_binaries() {
  if BINDIR="$(find_bindir)"; then return; fi
  [[ "$(id -u)" == 0 ]] || die "no PostgreSQL binaries found; install the 'postgresql' package (needs root)"
  echo "postgres.sh: no PostgreSQL binaries found, installing Debian's postgresql" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  BINDIR="$(find_bindir)" || die "postgresql installed but initdb/pg_ctl not found"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# Runs a PostgreSQL tool as the user that owns the cluster.
as_owner() {
  if is_root; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

# As root, makes sure the postgres user can reach the data directory (see the header).
grant_traverse() {
  local dir="$1" parent
  id "$PG_USER" >/dev/null 2>&1 || die "user '$PG_USER' does not exist; install the 'postgresql' package"
  parent="$(dirname "$dir")"
  while [[ "$parent" != "/" ]]; do
    if ! runuser -u "$PG_USER" -- test -x "$parent"; then
      chmod o+x "$parent"
    fi
    parent="$(dirname "$parent")"
  done
}

# port_allowed, port_free, pick_free_port: outside the ephemeral range, checked by binding.
# shellcheck source=scripts/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

connection_string() {
  echo "Host=127.0.0.1;Port=$1;Username=$PG_USER;Database=postgres"
}

configured_port() {
  if [[ -f "$DATADIR/pigeon.conf" ]]; then
    sed -n "s/^port = \([0-9]*\)$/\1/p" "$DATADIR/pigeon.conf" | tail -n1
  fi
}

is_running() {
  [[ -f "$DATADIR/PG_VERSION" ]] && as_owner "$BINDIR/pg_ctl" status -D "$DATADIR" >/dev/null 2>&1
}

write_settings() {
  local port="$1" socket_dir="$DATADIR"
  # A unix socket path is limited to 107 bytes; a deep checkout falls back to TCP only.
  if (( ${#socket_dir} + 20 > 100 )); then socket_dir=""; fi
  cat >"$DATADIR/pigeon.conf" <<EOF
# Written by scripts/postgres.sh: a private, loopback-only server for development and tests.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$socket_dir'
max_connections = 200
shared_buffers = 256MB
# Durability is part of what the tests check, so nothing here trades it for speed.
fsync = on
synchronous_commit = on
full_page_writes = on
# Pigeon's envelope table is a queue (sql/0005): look for tables to vacuum every few seconds rather
# than every minute, so dead rows do not pile up between passes under load.
autovacuum_naptime = 5s
logging_collector = off
log_min_messages = warning
log_timezone = 'UTC'
timezone = 'UTC'
EOF
  if is_root; then chown "$PG_USER:" "$DATADIR/pigeon.conf"; fi
}

init_cluster() {
  mkdir -p "$DATADIR"
  if is_root; then
    grant_traverse "$DATADIR"
    chown "$PG_USER:" "$DATADIR"
  fi
  chmod 0700 "$DATADIR"
  as_owner "$BINDIR/initdb" -D "$DATADIR" -U "$PG_USER" --auth-local=trust --auth-host=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$DATADIR.initdb.log" 2>&1 \
    || { cat "$DATADIR.initdb.log" >&2; die "initdb failed"; }
  rm -f "$DATADIR.initdb.log"
  echo "include 'pigeon.conf'" >>"$DATADIR/postgresql.conf"
  # Only the local socket and loopback TCP, whatever listen_addresses says.
  cat >"$DATADIR/pg_hba.conf" <<EOF
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  if is_root; then chown "$PG_USER:" "$DATADIR/pg_hba.conf"; fi
}

cmd_start() {
  local requested_port="${1:-}" port attempt
  if is_running; then
    port="$(configured_port)"
    connection_string "$port" | tee "$DATADIR/connection-string"
    return
  fi
  if [[ ! -f "$DATADIR/PG_VERSION" ]]; then
    if [[ -d "$DATADIR" && -n "$(ls -A "$DATADIR")" ]]; then
      die "$DATADIR is neither empty nor a PostgreSQL data directory"
    fi
    init_cluster
  elif is_root; then
    grant_traverse "$DATADIR"
  fi

  for attempt in 1 2 3 4 5; do
    port="${requested_port:-$(configured_port)}"
    # A port chosen earlier is kept while it is still free and outside the ephemeral range.
    if [[ -z "$port" ]] || { [[ -z "$requested_port" ]] && ! { port_allowed "$port" && port_free "$port"; }; }; then
      port="$(pick_free_port)" || die "no free TCP port found on 127.0.0.1"
    fi
    write_settings "$port"
    if as_owner "$BINDIR/pg_ctl" start -D "$DATADIR" -l "$DATADIR/postgres.log" -w -t 60 -s >/dev/null 2>&1; then
      break
    fi
    # A port taken between the check and the start is the usual reason; any other reason is in the log.
    if [[ -n "$requested_port" || "$attempt" == 5 ]]; then
      tail -n 20 "$DATADIR/postgres.log" >&2 || true
      die "PostgreSQL did not start (log: $DATADIR/postgres.log)"
    fi
  done

  for attempt in $(seq 1 60); do
    if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER"; then
      connection_string "$port" >"$DATADIR/connection-string"
      cat "$DATADIR/connection-string"
      return
    fi
    sleep 0.5
  done
  die "PostgreSQL started but is not accepting connections on 127.0.0.1:$port"
}

cmd_stop() {
  if [[ ! -f "$DATADIR/PG_VERSION" ]]; then
    echo "postgres.sh: no cluster in $DATADIR" >&2
    return
  fi
  if is_running; then
    as_owner "$BINDIR/pg_ctl" stop -D "$DATADIR" -m fast -w -t 60 -s
  fi
  rm -f "$DATADIR/connection-string"
}

cmd_status() {
  if is_running; then
    echo "running: $(connection_string "$(configured_port)")"
  else
    echo "stopped"
    return 3
  fi
}

[[ $# -ge 2 ]] || usage
COMMAND="$1"
DATADIR="$2"
shift 2
# An absolute, normalised path: pg_ctl runs in another working directory as another user.
mkdir -p "$(dirname "$DATADIR")"
DATADIR="$(cd "$(dirname "$DATADIR")" && pwd)/$(basename "$DATADIR")"
ensure_binaries

case "$COMMAND" in
  start) cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) usage ;;
esac
