#!/usr/bin/env bash
# Sets everything up, then runs the linter, the test suite and the answer-quality
# gate (`askdoc eval` exits 1 when a metric falls below eval/baseline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests eval app.py
# Two workers, a test file each at a time: on two cores most tests wait on a process, a
# server or a browser part of the time (user CPU 1.6x the wall time, measured).
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
# The article, its dialogues and our informal sets (forum, reviews, chat); then a collection: every
# paragraph of two held-out SQuAD v2 articles a document, questions asked of all (a sample, at 10 and 90).
.venv/bin/askdoc eval --quiet
.venv/bin/askdoc eval --quiet --squad eval/data/squad2-dev-2articles.json --collection --sizes 10 0 --questions 80
