"""askdoc eval: SQuAD import, metrics, the baseline gate and the reports."""

from __future__ import annotations

import json

import pytest

from askdoc import evaluate as ev
from askdoc import gate
from askdoc.errors import DataSetError

from .conftest import ROOT, run_cli

MINI = ROOT / "tests" / "data" / "squad-mini.json"


def test_squad_import_joins_paragraphs_and_keeps_spans():
    docs, questions = ev.load_squad(MINI)
    assert [d.title for d in docs] == ["Lighthouses", "Honey bees"]
    texts = {d.doc_id: d.text for d in docs}
    assert texts["squad-000"].count("\n\n") == 2  # three paragraphs, joined
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) == 9 and len(questions) == 14
    for q in answerable:
        for (s, e), a in zip(q.spans, q.answers):
            assert texts[q.doc_id][s:e] == a
    assert all(q.kind == "unanswerable" and not q.answers for q in questions if not q.answerable)
    docs, questions = ev.load_squad(MINI, limit=1)
    assert len(docs) == 1 and {q.doc_id for q in questions} == {"squad-000"}


def test_squad_files_read_alike_as_json_gzip_or_xz(tmp_path):
    import gzip
    import lzma

    raw = MINI.read_bytes()
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "a.json.xz").write_bytes(lzma.compress(raw))
    (tmp_path / "bad.json.xz").write_bytes(b"not xz")
    want = ev.read_squad_articles(MINI)
    assert ev.read_squad_articles(tmp_path / "a.json.gz") == want == ev.read_squad_articles(tmp_path / "a.json.xz")
    with pytest.raises(DataSetError, match="not a readable SQuAD file"):
        ev.read_squad_articles(tmp_path / "bad.json.xz")


def test_article_set_is_well_formed():
    doc, questions = ev.load_article_set(ev.default_set_path())
    kinds = {q.kind for q in questions}
    assert len(questions) >= 80
    assert {"factoid", "paraphrase", "why_how", "multi_sentence", "byline", "unanswerable"} <= kinds
    assert sum(not q.answerable for q in questions) >= 20
    for q in questions:  # load_jsonl already checks every span against the text
        assert q.answerable == bool(q.spans)


def test_bad_gold_span_is_rejected(tmp_path):
    doc = ev.EvalDoc("d", "T", "The sky is blue.")
    path = tmp_path / "set.jsonl"
    line = {"id": "x", "question": "What colour is the sky?", "kind": "factoid", "answerable": True}
    path.write_text(json.dumps({**line, "answer": "blue", "start": 0, "end": 4}) + "\n", encoding="utf-8")
    with pytest.raises(DataSetError, match="does not hold"):
        ev.load_jsonl(path, doc)


def test_token_f1_uses_squad_normalisation():
    assert ev.token_f1("The Cat sat.", "cat sat") == 1.0
    assert ev.token_f1("a dog", "the cat") == 0.0
    assert 0.0 < ev.token_f1("the black cat sat", "black cat") < 1.0


def test_regressions_respect_tolerance_and_direction():
    base = {"s": {"overall": {"hit@1": 0.9, "false_abstention": 0.05, "latency_p50_ms": 10}}}
    same = {"s": {"overall": {"hit@1": 0.89, "false_abstention": 0.06, "latency_p50_ms": 99}}}
    assert gate.regressions(same, base, tolerance=0.02) == []
    worse = {"s": {"overall": {"hit@1": 0.85, "false_abstention": 0.10, "latency_p50_ms": 10}}}
    dropped = gate.regressions(worse, base, tolerance=0.02)
    assert len(dropped) == 2
    assert any(d.startswith("s/overall/hit@1") for d in dropped)
    assert any(d.startswith("s/overall/false_abstention") for d in dropped)


def test_a_small_kind_may_lose_one_question_but_not_two():
    base = {"s": {"few": {"exact_match": 0.5625, "abstention_recall": 0.75}}}
    one = {"s": {"few": {"exact_match": 0.53125, "abstention_recall": 0.75, "answerable": 32, "unanswerable": 8}}}
    assert gate.regressions(one, base, tolerance=0.02) == []  # 1 of 32: noise between CPUs
    two = {"s": {"few": {"exact_match": 0.5, "abstention_recall": 0.625, "answerable": 32, "unanswerable": 8}}}
    assert gate.regressions(two, base, tolerance=0.02) == ["s/few/exact_match: 0.5000 (baseline 0.5625)"]
    many = {"s": {"few": {"exact_match": 0.53, "answerable": 1000}}}
    assert len(gate.regressions(many, base, tolerance=0.02)) == 1  # big sets keep the plain tolerance


def test_eval_cli_reports_gates_and_is_deterministic(tmp_path):
    baseline = tmp_path / "baseline.json"
    out = tmp_path / "out"
    out.mkdir()
    args = ["eval", "--squad", str(MINI), "--baseline", str(baseline), "--quiet"]
    first = run_cli(*args, "--update-baseline", "--json", str(out / "r.json"), "--report", str(out / "r.md"))
    assert first.returncode == 0, first.stderr
    assert "squad:squad-mini" in first.stdout and "hit@1" in first.stdout
    saved = json.loads(baseline.read_text())
    figures = saved["squad:squad-mini"]["overall"]
    assert figures["citation_exactness"] == 1.0
    report = (out / "r.md").read_text()
    assert "Failed questions" in report and "![metrics by kind](r.png)" in report
    assert (out / "r.png").read_bytes()[:4] == b"\x89PNG"
    results = json.loads((out / "r.json").read_text())["squad:squad-mini"]
    assert len(results["results"]) == 14

    # Same code, same figures: the gate passes against the baseline it just wrote.
    again = run_cli(*args, "--json", str(out / "r2.json"))
    assert again.returncode == 0, again.stderr

    def quality(metrics):  # everything but the (noisy) latencies
        return {kind: {k: v for k, v in m.items() if "latency" not in k} for kind, m in metrics.items()}

    rerun = json.loads((out / "r2.json").read_text())["squad:squad-mini"]
    assert quality(rerun["metrics"]) == quality(results["metrics"])
    assert [r["text"] for r in rerun["results"]] == [r["text"] for r in results["results"]]

    # A baseline above what askdoc achieves fails the gate and names the metric.
    saved["squad:squad-mini"]["overall"]["answer_or_abstain"] = figures["answer_or_abstain"] + 0.1
    baseline.write_text(json.dumps(saved))
    failed = run_cli(*args)
    assert failed.returncode == 1
    assert "squad:squad-mini/overall/answer_or_abstain" in failed.stderr


def test_eval_cli_bad_input_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = run_cli("eval", "--squad", str(bad), "--quiet")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("askdoc: error:") and "bad.json" in done.stderr
