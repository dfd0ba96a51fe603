"""eval/gpu_check.py on the CPU: its own file, so that pytest's workers run it beside the
bench's smoke run rather than after it."""

from __future__ import annotations

import json

from .conftest import ROOT


def test_gpu_check_runs_without_store_or_model_package(tmp_path):
    """eval/gpu_check.py, as on a bare GPU machine: no store imported, and a model folder
    without weights (random ones are drawn, and the report says so). Here on the CPU."""
    import os
    import shutil
    import subprocess
    import sys

    from askdoc.embed import bundled_model_path

    kit = tmp_path / "minilm"
    shutil.copytree(bundled_model_path(), kit, ignore=shutil.ignore_patterns("model.safetensors"))
    out = tmp_path / "gpu"
    cmd = [sys.executable, "eval/gpu_check.py", "--out", str(out), "--chunks", "20", "--pairs", "16", "--device", "cpu"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "ASKDOC_MINILM_DIR": str(kit)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "gpu_check.json").read_text())
    assert result["random_weights"] is True and result["store_free"] is True
    assert result["index"]["chunks"] >= 20 and result["index"]["index_chunks_per_s"] > 0
    assert result["reader"]["reader_pairs_per_s"] > 0 and set(result["targets"]) == {
        "index_chunks_per_s", "reader_pairs_per_s"}  # fmt: skip
    assert "target index_chunks_per_s" in (out / "gpu_check.md").read_text()
