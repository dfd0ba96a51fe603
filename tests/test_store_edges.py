"""The store at its edges: another process re-indexing mid-question, damaged vector files, a full disk."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from .conftest import ROOT

FILLER = " ".join(f"Ledger line {i} is kept in the harbour office." for i in range(30))


def _alpha(year: int) -> str:
    return f"Alpha Report\n\nThe alpha project started in {year}. It was led by Maria Gomez. {FILLER}"


REINDEXER = textwrap.dedent(
    """
    import sys, time
    from tests.fakes import use_fake_embedder
    use_fake_embedder()
    from tests.test_store_edges import _alpha
    from askdoc import Index

    idx = Index(sys.argv[1], reader="off")
    idx.add_text(_alpha(1999), doc_id="warm")
    print("READY", flush=True)
    year, until = 2001, time.monotonic() + float(sys.argv[2])
    while time.monotonic() < until:
        idx.add_text(_alpha(year), doc_id="alpha")
        year += 1
    print(year - 2001, flush=True)
    """
)


def test_answers_while_another_process_reindexes_the_document(tmp_path, fake_embedder):
    """Another process re-indexes the document being asked about, again and again: every
    answer comes from one version or the next, never an error. A search limited to the
    document failed ("vector store error (InternalError): ... Error finding id") on 201 of
    477 questions: Chroma looked the writer's new rows up in a vector index loaded before them."""
    from askdoc import Index

    folder = tmp_path / "index"
    idx = Index(folder, reader="off")
    idx.add_text(_alpha(2000), doc_id="alpha")
    idx.add_text("Beta Notes\n\nThe beta unit was built in 1990. " + FILLER, doc_id="beta")
    writer = subprocess.Popen([sys.executable, "-c", REINDEXER, str(folder), "3"], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)  # fmt: skip
    try:
        assert writer.stdout.readline().startswith("READY")
        asked, years = 0, set()
        while writer.poll() is None:
            ans = idx.answer("When did the alpha project start?", doc_ids=["alpha"] if asked % 2 else None)
            asked += 1
            for p in ans.passages:  # each passage is one version's text, cited where it is
                if p.doc_id == "alpha" and "started in" in p.text:
                    years.add(int(p.text.split("started in ")[1][:4]))
        writes = int(writer.stdout.read())
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert writes >= 3 and asked >= 5, (writes, asked)
    assert years <= set(range(2000, 2001 + writes)) and len(years) >= 2
    last = idx.answer("When did the alpha project start?", doc_ids=["alpha"])
    assert any(f"started in {2000 + writes}." in p.text for p in last.passages)

