#!/usr/bin/env bash
# Sets everything up, then runs the linter, the test suite and the answer-quality
# gate (`askdoc eval` exits 1 when a metric falls below eval/baseline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests eval app.py
.venv/bin/python -m pytest "$@"
.venv/bin/askdoc eval --quiet
