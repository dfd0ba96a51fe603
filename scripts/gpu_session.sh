#!/usr/bin/env bash
# One device session, prepared (issues #12 and #15): run on a lent GPU machine from the repo
# root, with .gpu carried (scripts/gpu_kit.sh assembles it here first):
#
#   bash scripts/gpu_session.sh "$OUT"
#
# 1. the GPU check (eval/gpu_check.py): indexing chunks/s end to end and reader pairs/s;
# 2. the reader trained from the bundled MiniLM on all of SQuAD v1.1 train plus 10 of the 16
#    extra SQuAD v2.0 articles, with generated near misses, the other 6 held out. Neither eval
#    set (XQuAD, the 16-article v2 subset) is trained on, so every eval figure stays held out.
#
# Brings back under $OUT: gpu_check.{json,md}, and reader/ with the model card and
# reader.safetensors in parts under 16 MiB (join: cat reader.safetensors.part-* > reader.safetensors).
# The int8 reader.onnx is made back here (the machine lacks ONNX Runtime):
#   .venv/bin/python -c "from askdoc.read import export_onnx; export_onnx('FOLDER')"
# Knobs for a dry run on a CPU: DEVICE=cpu STEPS=2 CHUNKS=300 PAIRS=200.
set -euo pipefail
OUT=${1:?usage: scripts/gpu_session.sh OUT_DIR}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
pip install -q --no-index --no-deps --target /tmp/askdoc-site .gpu/*.whl
export PYTHONPATH="/tmp/askdoc-site:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
# MiniLM, its weights unpacked from the kit's int8 outside the tree (the package is not installed here).
export ASKDOC_MINILM_DIR=/tmp/askdoc-minilm
rm -rf "$ASKDOC_MINILM_DIR" && cp -r .gpu/minilm "$ASKDOC_MINILM_DIR" && rm "$ASKDOC_MINILM_DIR/model-int8.safetensors"
python3 - <<'PY'
import os
from safetensors.torch import load_file, save_file
packed = load_file(".gpu/minilm/model-int8.safetensors")
out = {name: (t.float() * packed[name + ".int8_scale"].float() if name + ".int8_scale" in packed else t.float())
       for name, t in packed.items() if not name.endswith(".int8_scale")}
save_file(out, os.path.join(os.environ["ASKDOC_MINILM_DIR"], "model.safetensors"))
PY
python3 eval/gpu_check.py --out "$OUT" --device "$DEVICE" --chunks "${CHUNKS:-100000}" --pairs "${PAIRS:-50000}"
python3 -m askdoc.cli train-reader .gpu/train-data/squad-train-v1.1.json.xz .gpu/train-data/squad2-dev-more16.json.xz \
  --epochs 1 --batch-size 256 --lr 1e-4 --negative-weight 2 --near-misses 0.5 --seed 13 --device "$DEVICE" \
  ${STEPS:+--max-steps "$STEPS"} --out "$OUT/reader" --json \
  --hold-out Ctenophora --hold-out Geology --hold-out Construction --hold-out Jacksonville,_Florida \
  --hold-out Prime_number --hold-out Rhine
split -b 15000000 -d "$OUT/reader/reader.safetensors" "$OUT/reader/reader.safetensors.part-"
rm "$OUT/reader/reader.safetensors"
ls -la "$OUT" "$OUT/reader"
