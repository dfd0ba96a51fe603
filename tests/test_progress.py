"""Long indexing runs say how they go: sentences embedded and left (API, CLI and upload)."""

from __future__ import annotations

import io

from askdoc.ingest import make_document

TEXT = "Gamma Log\n\n" + " ".join(f"Gamma entry {i} was logged on day {i}." for i in range(120))


def test_add_documents_reports_sentences_embedded(tmp_path):
    from askdoc import Index

    idx = Index(tmp_path / "index", batch_size=16)
    calls: list[tuple[int, int]] = []
    idx.add_documents([make_document(TEXT, doc_id="gamma")], progress=lambda done, total: calls.append((done, total)))
    total = calls[-1][1]
    assert total >= 120 and calls[-1] == (total, total) and len(calls) >= 5
    assert [d for d, _ in calls] == sorted(d for d, _ in calls) and {t for _, t in calls} == {total}
    calls.clear()
    idx.add_documents([make_document(TEXT, doc_id="gamma")], progress=lambda *a: calls.append(a))
    assert calls == []  # unchanged: nothing embedded


def test_cli_progress_is_quiet_for_quick_runs_and_counts_down_for_long_ones():
    from askdoc.report import IndexingProgress

    now = [0.0]
    out = io.StringIO()
    quick = IndexingProgress(out, clock=lambda: now[0])
    for done in range(0, 101, 10):
        now[0] += 0.1
        quick(done, 100)
    assert out.getvalue() == ""
    now[0] = 0.0
    slow = IndexingProgress(out, clock=lambda: now[0])
    for done in range(1_000, 50_001, 1_000):
        now[0] += 1.0
        slow(done, 50_000)
    lines = out.getvalue().splitlines()
    assert 8 <= len(lines) <= 12
    assert lines[0] == "askdoc: embedded 2,000 of 50,000 sentences, 48,000 left (about 48 s)"
    assert lines[-1] == "askdoc: embedded 50,000 of 50,000 sentences, 0 left"


def test_upload_progress_says_how_many_sentences_are_left(tmp_path):
    from askdoc import Index
    from askdoc.chatapp import ChatApp

    doc = tmp_path / "gamma-log.txt"
    doc.write_text(TEXT, encoding="utf-8")
    app = ChatApp(Index(tmp_path / "index", batch_size=16))
    said: list[str] = []
    msg, _ = app.upload(str(doc), progress=lambda frac, desc="": said.append(desc))
    assert "Indexed" in msg
    assert any("sentences left" in d for d in said) and said[-1] == "Done"
