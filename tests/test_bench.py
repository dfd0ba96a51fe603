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
        "--growth",
        "12",
        "--growth-batch",
        "10",
        "--out",
        str(out),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "bench.json").read_text())
    assert {"help_s", "cold", "indexing", "article", "conversation", "scales", "targets"} <= set(result)
    assert set(result["cold"]["stages"]) == {"imports", "index_open", "model_load", "reader_load", "first_answer"}
    assert result["indexing"]["raw_encode_chunks_per_s"] > 0 and result["indexing"]["index_chunks_per_s"] > 0
    (row,) = result["scales"]["embedded"]
    assert row["chunks"] >= 60 and row["answer_p50_ms"] > 0 and row["embed_p50_ms"] > 0
    # The reader's own cost, beside answers without it: a difference of two medians, which a
    # smoke run's few questions on a busy machine can put below zero, so only its presence.
    assert isinstance(row["reader_p50_ms"], float)
    assert row["add_doc_s"] > 0 and row["disk_mb"] > 0 and row["rss_mb"] > 0
    # The article's questions are still answered from a collection around it.
    assert row["hit@1"] >= 0.5
    conversation = result["conversation"]
    assert conversation["turns"] == 5 and conversation["answer_history_p50_ms"] > 0 and conversation["ratio"] > 0
    # Adding documents one by one and in a batch: per-document costs, and the share spent embedding.
    one, batch = result["growth"]["one_by_one"], result["growth"]["batch"]
    assert set(one["ms_per_document"]) == {"10", "12"} and one["last_vs_10th"] > 0
    assert 0 < one["embedding_share"] < 1 and batch["documents"] == 10 and batch["vs_embedding_alone"] >= 1
    assert len(result["targets"]) == 12 and all("met" in t for t in result["targets"])
    assert (out / "bench.png").stat().st_size > 10_000
    assert "target" in (out / "bench.md").read_text() and "target" in done.stdout
