#!/usr/bin/env bash
# Sets everything up, then opens askdoc's browser chat on the default article
# at http://127.0.0.1:7860 (arguments go to `askdoc serve`, e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python app.py "$@"
