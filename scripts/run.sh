#!/usr/bin/env bash
# Sets everything up, then runs askdoc's main job on the default article.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ $# -eq 0 ]; then set -- "Where was the summit held?"; fi
.venv/bin/askdoc ask "$@"
