#!/usr/bin/env bash
# Free loopback TCP ports for the local stack (dev.sh) and the private PostgreSQL (postgres.sh).
#
#   bash scripts/ports.sh pick          print a free port from the range below
#   bash scripts/ports.sh free PORT     exit 0 when PORT can be bound on 127.0.0.1, 1 when not
#   bash scripts/ports.sh range         print the range ports are picked from: "LOW HIGH"
#   source scripts/ports.sh             define port_range, port_free, port_allowed, pick_free_port
#
# Ports come from below Linux's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range, usually
# 32768-60999), from 10000 up: the kernel hands ephemeral ports to outgoing connections at any
# moment (every Npgsql and Orleans connection takes one), so a port picked there can be taken
# between the check and the bind. When the ephemeral range leaves too little room below it, the
# room above it is used. A port counts as free only if it can be bound on 127.0.0.1 (with python3,
# which Debian has; without it, if `ss` shows no listener; without ss, if nothing accepts a
# connection): a connect test misses a port that is bound but not yet listening.

# port_range: "LOW HIGH" of the ports to pick from.
port_range() {
  local start=32768 end=60999 low=10000
  if [[ -r /proc/sys/net/ipv4/ip_local_port_range ]]; then
    read -r start end </proc/sys/net/ipv4/ip_local_port_range || true
  fi
  if (( start - 1 - low >= 1000 )); then
    echo "$low $(( start - 1 ))"
  elif (( 65535 - end - 1 >= 1000 )); then
    echo "$(( end + 1 )) 65535"
  else
    echo "ports.sh: the ephemeral port range $start-$end leaves no room for fixed ports" >&2
    return 1
  fi
}

# port_allowed PORT: whether PORT lies in port_range.
port_allowed() {
  local range low high
  range="$(port_range)" || return 1
  read -r low high <<<"$range"
  [[ "$1" =~ ^[0-9]+$ ]] && (( $1 >= low && $1 <= high ))
}

# port_free PORT: whether PORT can be bound on 127.0.0.1 now.
port_free() {
  local port="$1"
  if command -v python3 >/dev/null 2>&1; then
    # No SO_REUSEADDR: a port with connections lingering in TIME_WAIT counts as taken too.
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
' "$port"
  elif command -v ss >/dev/null 2>&1; then
    [[ -z "$(ss -Htan "( sport = :$port )" 2>/dev/null)" ]]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
  fi
}

# pick_free_port: a free port of port_range.
pick_free_port() {
  local range low high port attempt
  range="$(port_range)" || return 1
  read -r low high <<<"$range"
  for attempt in $(seq 1 200); do
    port=$(( low + (RANDOM * 32768 + RANDOM) % (high - low + 1) ))
    if port_free "$port"; then echo "$port"; return 0; fi
  done
  echo "ports.sh: no free TCP port found on 127.0.0.1 in $low-$high" >&2
  return 1
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    pick) pick_free_port ;;
    free) [[ $# -eq 2 ]] || { echo "usage: $0 free PORT" >&2; exit 2; }; port_free "$2" ;;
    range) port_range ;;
    *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
fi
