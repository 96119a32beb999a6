#!/usr/bin/env bash
# Render every Kubernetes overlay (k8s/overlays/*) into one manifest each: OUT/<overlay>.yaml
# (OUT: $1, default build/k8s). Apply one with `kubectl apply -f build/k8s/cloud-cpu.yaml`.
# kustomize runs with --load-restrictor LoadRestrictionsNone because the ConfigMap of profiles
# is built from conf/ at the repository root, outside k8s/, so the profiles have one copy.
# Uses the pinned kustomize that `bash scripts/setup.sh k8s` installs into .tools/bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-build/k8s}")
bash scripts/setup.sh k8s >/dev/null
mkdir -p "$out"
for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  .tools/bin/kustomize build --load-restrictor LoadRestrictionsNone "$overlay" > "$out/$name.yaml"
  echo "rendered $out/$name.yaml ($(grep -c '^kind:' "$out/$name.yaml") resources)"
done
