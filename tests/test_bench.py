"""A small run of `askdoc bench` (the full one is a maintainer's command, not a test)."""

from __future__ import annotations

import json

from .conftest import ROOT, run_cli


def test_bench_smoke_run_writes_every_measure(tmp_path):
    out = tmp_path / "bench"
    done = run_cli(
        "bench",
        "--squad",
        str(ROOT / "tests" / "data" / "squad-mini.json"),
        "--scales",
        "60",
        "--clients",
        "0",
        "--repeats",
        "1",
        "--questions",
        "6",
        "--out",
        str(out),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "bench.json").read_text())
    assert {"help_s", "cold", "indexing", "article", "scales", "targets"} <= set(result)
    assert set(result["cold"]["stages"]) == {"imports", "index_open", "model_load", "reader_load", "first_answer"}
    assert result["indexing"]["raw_encode_chunks_per_s"] > 0 and result["indexing"]["index_chunks_per_s"] > 0
    (row,) = result["scales"]["embedded"]
    assert row["chunks"] >= 60 and row["answer_p50_ms"] > 0 and row["embed_p50_ms"] > 0
    assert row["reader_p50_ms"] > 0  # the reader's own cost, beside answers without it
    assert row["add_doc_s"] > 0 and row["disk_mb"] > 0 and row["rss_mb"] > 0
    # The article's questions are still answered from a collection around it.
    assert row["hit@1"] >= 0.5
    assert len(result["targets"]) == 6 and all("met" in t for t in result["targets"])
    assert (out / "bench.png").stat().st_size > 10_000
    assert "target" in (out / "bench.md").read_text() and "target" in done.stdout
