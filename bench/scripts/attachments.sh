#!/usr/bin/env bash
# Upload and download rates of files through the real CLI, and the server's memory meanwhile
# (docs/benchmarks.md, "Files"). Needs a stack from `scripts/dev.sh up` (URL as $1) and the Release
# CLI (`dotnet build -c Release Pigeon.Client`). Each size is sent and saved RUNS times, back to back;
# the gateway's and the silo's resident memory is sampled every 50 ms during each transfer.
set -euo pipefail
url="${1:?usage: attachments.sh GATEWAY_URL [RUNS]}"
runs="${2:-3}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
pigeon=(dotnet "$root/Pigeon.Client/bin/Release/net10.0/pigeon.dll")
work="$(mktemp -d /tmp/pigeon-files-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export PIGEON_HOME="$work/home"

alice=$("${pigeon[@]}" -p alice --json init --server "$url" --name Alice --no-passphrase | sed 's/.*"accountId":"\([a-z2-7]*\)".*/\1/')
bob=$("${pigeon[@]}" -p bob --json init --server "$url" --name Bob --no-passphrase | sed 's/.*"accountId":"\([a-z2-7]*\)".*/\1/')
"${pigeon[@]}" -p alice invite "$bob" >/dev/null
"${pigeon[@]}" -p bob sync --wait 0 >/dev/null
"${pigeon[@]}" -p bob accept "$alice" >/dev/null
"${pigeon[@]}" -p alice sync --wait 0 >/dev/null
"${pigeon[@]}" -p bob settings --auto-download 0 >/dev/null

gateway_pid=$(pgrep -f 'Pigeon.Gateway.dll' | head -1)
silo_pid=$(pgrep -f 'Pigeon.Silo.dll' | head -1)
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# Runs a command while sampling both servers' RSS; prints "seconds gateway_max_kib silo_max_kib".
measured() {
  local samples="$work/samples" start end
  : >"$samples"
  ( while :; do echo "$(rss "$gateway_pid") $(rss "$silo_pid")" >>"$samples"; sleep 0.05; done ) &
  local sampler=$!
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  echo "$(echo "$end - $start" | bc) $(awk 'BEGIN{g=0;s=0} {if($1>g)g=$1; if($2>s)s=$2} END{print g, s}' "$samples")"
}

printf 'gateway RSS before: %s KiB, silo RSS before: %s KiB\n' "$(rss "$gateway_pid")" "$(rss "$silo_pid")"
for mib in 10 100; do
  head -c $((mib * 1024 * 1024)) /dev/urandom >"$work/file-$mib.bin"
  for run in $(seq "$runs"); do
    read -r up up_gw up_silo < <(measured "${pigeon[@]}" -p alice send Bob --file "$work/file-$mib.bin")
    "${pigeon[@]}" -p bob sync --wait 0 >/dev/null
    id=$("${pigeon[@]}" -p bob --json attachments | grep -o '"id":"[0-9a-f-]*"' | head -1 | sed 's/"id":"\([0-9a-f]*\)-.*/\1/')
    rm -f "$work/saved.bin"
    read -r down down_gw down_silo < <(measured "${pigeon[@]}" -p bob save "$id" "$work/saved.bin")
    cmp -s "$work/file-$mib.bin" "$work/saved.bin" || { echo "run $run of $mib MiB: the saved file differs" >&2; exit 1; }
    printf '%s MiB run %s: upload %.2f s (%.1f MiB/s; gateway max %s KiB, silo max %s KiB), download %.2f s (%.1f MiB/s; gateway max %s KiB, silo max %s KiB)\n' \
      "$mib" "$run" "$up" "$(echo "$mib / $up" | bc -l)" "$up_gw" "$up_silo" "$down" "$(echo "$mib / $down" | bc -l)" "$down_gw" "$down_silo"
  done
done
