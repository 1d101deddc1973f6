#!/usr/bin/env bash
# Checks deploy/kubernetes/ without a cluster:
#   1. renders the base, each overlay, and production with the Ingress example instead of the
#      HTTPRoute, with `kubectl kustomize` (Kustomize 5, built into kubectl);
#   2. validates every object against the Kubernetes $K8S_VERSION schemas, strictly (an unknown
#      field fails), with kubernetes-validate, and the Secret template too;
#   3. runs the drift checks of scripts/kubernetes_drift.py: probe paths are routes the server
#      serves, ports are the ones it listens on, every variable is one it reads and every
#      required one is set, secretKeyRefs name keys of the Secret template and no secret sits in
#      a ConfigMap, selectors pick the pods they mean, no `:latest`, the restricted pod security
#      standard, the shutdown grace, the connection sum, the alert rules' metric names; then
#      breaks the production render once per check to prove each can fail.
# kubernetes-validate and promql-parser (pinned) go into a venv under target/ on first use, from
# PyPI. Takes a few seconds once they are installed.
#   scripts/kubernetes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

K8S_VERSION=1.32.0
KUBERNETES_VALIDATE_VERSION=1.37.0
PROMQL_PARSER_VERSION=0.11.0
out=target/kubernetes
venv=$out/venv

log() { printf '[kubernetes] %s\n' "$*" >&2; }

if ! command -v kubectl >/dev/null; then
  log "kubectl is not installed: it renders the Kustomize overlays (kubectl kustomize)."
  log "Install kubectl 1.27 or later (https://kubernetes.io/docs/tasks/tools/); no cluster is needed."
  exit 1
fi

# The venv, made again when a pinned version changes.
want="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION promql-parser==$PROMQL_PARSER_VERSION"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
  log "installing $want into $venv (once)"
  rm -rf "$venv"
  mkdir -p "$out"
  python3 -m venv "$venv" || {
    log "python3 -m venv failed (on Debian: apt-get install python3-venv)"
    exit 1
  }
  # shellcheck disable=SC2086 # two requirements, split on purpose
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
  printf '%s' "$want" >"$venv/.installed"
fi

# Production with the Ingress example in place of the HTTPRoute: a kustomization of its own
# under target/, pointing back at the overlay and the component (Kustomize takes relative paths
# only).
mkdir -p "$out/production-ingress"
here=../../..
cat >"$out/production-ingress/kustomization.yaml" <<EOF
# Made by scripts/kubernetes.sh: production with the Ingress example instead of the HTTPRoute.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $here/deploy/kubernetes/overlays/production
components:
  - $here/deploy/kubernetes/components/ingress
patches:
  - patch: |-
      \$patch: delete
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata:
        name: accounts
        namespace: accounts
EOF

renders=(base dev production production-ingress)
declare -A dirs=(
  [base]=deploy/kubernetes/base
  [dev]=deploy/kubernetes/overlays/dev
  [production]=deploy/kubernetes/overlays/production
  [production-ingress]=$out/production-ingress
)
status=0
for name in "${renders[@]}"; do
  if ! kubectl kustomize "${dirs[$name]}" >"$out/$name.yaml"; then
    log "kubectl kustomize ${dirs[$name]} failed"
    status=1
  fi
done
[ "$status" -eq 0 ] || exit 1

# Strict schema validation. kubernetes-validate exits 0 when it has no schema for a kind (it
# warns): only the Gateway API's HTTPRoute may lack one (a CRD, not part of Kubernetes), and the
# drift checks below cover its references; any other warning fails.
validate() {
  local file=$1 report
  report=$("$venv/bin/kubernetes-validate" --strict -k "$K8S_VERSION" --quiet "$file") || {
    printf '%s\n' "$report"
    return 1
  }
  local unexpected
  unexpected=$(printf '%s\n' "$report" | grep -v '^$' |
    grep -v "Couldn't find schema for kind HTTPRoute with api version gateway.networking.k8s.io/v1 " || true)
  if [ -n "$unexpected" ]; then
    printf '%s\n' "$unexpected"
    return 1
  fi
}
for name in "${renders[@]}"; do
  if validate "$out/$name.yaml"; then
    log "valid against Kubernetes $K8S_VERSION (strict): $name ($(grep -c '^kind:' "$out/$name.yaml") objects)"
  else
    log "$name does not validate against Kubernetes $K8S_VERSION"
    status=1
  fi
done
if validate deploy/kubernetes/secret.example.yaml; then
  log "valid against Kubernetes $K8S_VERSION (strict): secret.example.yaml"
else
  status=1
fi

args=()
for name in "${renders[@]}"; do args+=("$name=$out/$name.yaml"); done
"$venv/bin/python" scripts/kubernetes_drift.py --self-test "${args[@]}" || status=1
exit "$status"
