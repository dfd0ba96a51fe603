#!/usr/bin/env bash
# Sets everything up, then runs the test suite (pytest exits non-zero on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests
.venv/bin/python -m pytest "$@"
