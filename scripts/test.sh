#!/usr/bin/env bash
# Sets everything up, then runs the linter, the test suite and the answer-quality
# gates (`askdoc eval` exits 1 when a metric falls below eval/baseline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests eval app.py
# The gates run beside pytest, their report printed after it: pytest's workers wait on
# processes, servers and a browser part of the time, which the gates' CPU fills (the
# article, its dialogues and our informal sets; then a collection: every paragraph of two
# held-out SQuAD v2 articles a document, questions asked of all, a sample at 10 and 90).
gates=$(mktemp)
trap 'kill "${gate:-}" 2>/dev/null || true; rm -f "$gates"' EXIT
(
  failed=0
  .venv/bin/askdoc eval --quiet || failed=$?
  .venv/bin/askdoc eval --quiet --squad eval/data/squad2-dev-2articles.json --collection --sizes 10 0 --questions 80 \
    || failed=$?
  exit "$failed"
) >"$gates" 2>&1 &
gate=$!
# Two workers, a test file each at a time: on two cores most tests wait on a process, a
# server or a browser part of the time.
status=0
.venv/bin/python -m pytest -n 2 --dist loadfile "$@" || status=$?
wait "$gate" || status=$?
cat "$gates"
exit "$status"
