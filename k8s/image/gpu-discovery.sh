#!/usr/bin/env bash
# Spark's GPU discovery script (spark.{driver,executor}.resource.gpu.discoveryScript): prints the
# GPUs this container may use as {"name": "gpu", "addresses": ["0", ...]}. In a pod, the NVIDIA
# device plugin exposes only the GPUs (or the one MIG slice) the pod was given, and CUDA numbers
# them from 0. No nvidia-smi, or no GPU: an empty list, which Spark reports as a resource shortage.
set -euo pipefail
addresses=""
if command -v nvidia-smi >/dev/null 2>&1; then
  addresses=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null \
              | tr -d ' ' | grep -E '^[0-9]+$' | sed 's/.*/"&"/' | paste -sd, - || true)
fi
printf '{"name": "gpu", "addresses": [%s]}\n' "$addresses"
