#!/usr/bin/env bash
# Sets everything up, then runs the linter, the test suite and the answer-quality
# gate (`askdoc eval` exits 1 when a metric falls below eval/baseline.json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check src tests eval app.py
.venv/bin/python -m pytest "$@"
# The article, its dialogues and our informal sets (forum, reviews, chat); then a collection: every
# paragraph of two held-out SQuAD v2 articles a document, questions asked of all (a sample, at 10 and 90).
.venv/bin/askdoc eval --quiet
.venv/bin/askdoc eval --quiet --squad eval/data/squad2-dev-2articles.json --collection --sizes 10 0 --questions 80
