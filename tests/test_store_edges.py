"""The store at its edges: another process re-indexing mid-question, damaged vector files, a full disk."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from askdoc.folder import forget_client

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


# -- damaged vector files -------------------------------------------------------

LEDGER = "Ledger\n\n" + " ".join(f"Fact {i} is kept in the harbour office ledger." for i in range(1001))


@pytest.fixture(scope="module")
def ledger_index(tmp_path_factory):
    """An index whose chunk vectors Chroma has written to disk: HNSW files and their id map
    (``index_metadata.pickle``) appear once a collection passes 1,000 rows; below that the
    vectors are rebuilt from Chroma's log and damage to the files goes unnoticed."""
    import askdoc.index
    from askdoc import Index

    from .fakes import FakeEmbedder

    base = tmp_path_factory.mktemp("ledger")
    (base / "ledger.txt").write_text(LEDGER, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(askdoc.index, "Embedder", FakeEmbedder)
        idx = Index(base / "index", reader="off", chunk_tokens=16, chunk_overlap=0)
        assert idx.add_file_result(base / "ledger.txt").chunks > 1000
    forget_client(base / "index")
    return idx.settings


def _vector_files(folder: Path) -> Path:
    """The folder of the chunk collection's HNSW files."""
    with sqlite3.connect(folder / "chroma.sqlite3") as db:
        (segment,) = db.execute(
            "SELECT s.id FROM segments s JOIN collections c ON s.collection = c.id "
            "WHERE c.name = 'askdoc-chunks' AND s.scope = 'VECTOR'"
        ).fetchone()
    return folder / segment


DAMAGES = {
    "deleted": lambda seg: [p.unlink() for p in seg.glob("*.bin")],
    "truncated": lambda seg: os.truncate(seg / "data_level0.bin", 1000),
    "corrupt pickle": lambda seg: (seg / "index_metadata.pickle").write_bytes(b"\x80\x04garbage" * 20),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_vector_files_name_rebuild(damage, ledger_index, tmp_path, fake_embedder, monkeypatch, capsys):
    """Deleted or truncated HNSW files, or a corrupt id map, failed every question with a Chroma
    internal error ("Error loading hnsw index", "Error finding id", "Error deserializing pickle
    file"), and a truncated file could kill the process (a segmentation fault in hnswlib). Now they
    are `IndexDamaged`, naming `askdoc index --rebuild`, which restores the index."""
    from askdoc import Index
    from askdoc.cli import main
    from askdoc.errors import IndexDamaged
    from askdoc.library import rebuild

    folder = tmp_path / "index"
    shutil.copytree(ledger_index.index_dir, folder)
    DAMAGES[damage](_vector_files(folder))
    for path in folder.rglob("*"):  # damage found later, not files that a writer is still writing
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    settings = ledger_index.with_(index_dir=folder)
    with pytest.raises(IndexDamaged, match=r"is damaged \(its vector files .*askdoc index --rebuild"):
        # Missing or cut-short files are found before Chroma loads them (a truncated one could
        # crash the process in hnswlib); a corrupt id map when Chroma reads it.
        Index(settings=settings).answer("Where is fact 7 kept?")
    monkeypatch.setenv("ASKDOC_READER", "off")
    assert main(["ask", "Where is fact 7 kept?", "--index-dir", str(folder)]) == 4
    err = capsys.readouterr().err
    assert "askdoc index --rebuild" in err and "internal" not in err and len(err.strip().splitlines()) == 1
    if damage == "deleted":  # (the same for all three: rebuilding needs no vector file)
        forget_client(folder)
        done = rebuild(settings)
        assert [r.doc_id for r in done.results] == ["ledger"] and not done.lost
        assert done.index.answer("Where is fact 7 kept?").passages  # answers again


# -- a full disk ----------------------------------------------------------------


def test_a_full_disk_rolls_the_write_back_and_says_so(tmp_path, fake_embedder, monkeypatch, capsys):
    """ENOSPC on the manifest, after the store had committed the document: it used to print
    "internal error: OSError [Errno 28]" with the document stored and left out of the manifest
    (so `--rebuild` would drop it). Now the write is rolled back, and the error says so."""
    import errno
    import json

    from askdoc import Index
    from askdoc.cli import main
    from askdoc.errors import StoreError

    folder = tmp_path / "index"
    idx = Index(folder, reader="off")
    idx.add_text(_alpha(2000), doc_id="alpha")
    real_write = Path.write_text

    def full(path, *args, **kwargs):
        if path.name.startswith("askdoc-manifest"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(path, *args, **kwargs)

    def agree() -> set[str]:
        listed = set(json.loads((folder / "askdoc-manifest.json").read_text()))
        assert listed == {d.document.doc_id for d in Index(folder, reader="off").store.list_documents()}
        return listed

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(StoreError, match="nothing was indexed: .*No space left on device.*index is as it was"):
        idx.add_text(_alpha(2001), doc_id="alpha")  # an update: the old version answers again
    with pytest.raises(StoreError, match="nothing was indexed"):
        idx.add_texts({"beta": "Beta Notes\n\nThe beta unit was built in 1990.", "alpha": _alpha(2002)})
    assert agree() == {"alpha"} and "2000" in Index(folder, reader="off").document("alpha").text
    assert "started in 2000" in " ".join(p.text for p in idx.answer("When did the alpha project start?").passages)
    with pytest.raises(StoreError, match="alpha was not removed: .*No space left"):
        idx.remove("alpha")
    assert agree() == {"alpha"}
    (tmp_path / "beta.txt").write_text("Beta Notes\n\nThe beta unit was built in 1990.", encoding="utf-8")
    monkeypatch.setenv("ASKDOC_READER", "off")
    assert main(["index", str(tmp_path / "beta.txt"), "--index-dir", str(folder)]) == 4
    err = capsys.readouterr().err
    assert "internal error" not in err and "nothing was indexed" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setattr(Path, "write_text", real_write)  # space again
    assert Index(folder, reader="off").add_text(_alpha(2003), doc_id="alpha").status == "updated"
    assert agree() == {"alpha"}


def test_a_batch_larger_than_the_client_takes_is_written_in_parts(tmp_path, fake_embedder):
    """Chroma refuses a write of more rows than its max batch size (5,461 embedded): 10,000
    documents in one `add_documents` failed whole, on their documents' rows. Every write keeps
    to the limit, here made 4, and every document is indexed, then replaced, then removed."""
    from askdoc import Index
    from askdoc.ingest import make_document

    idx = Index(tmp_path / "index", reader="off")
    idx.add_text("Warm-up.", doc_id="warm")  # (the store opens here)
    store, sizes = idx.store, []
    store._max_batch = 4
    for collection in (store.docs, store.chunks, store.sentences):
        for name in ("add", "upsert"):
            real = getattr(collection, name)

            def counted(*args, _real=real, **kw):
                sizes.append(len(kw["ids"]))
                assert len(kw["ids"]) <= 4, f"a write of {len(kw['ids'])} rows"
                return _real(*args, **kw)

            object.__setattr__(collection, name, counted)
    texts = [f"Note {i}\n\nBuoy {i} is painted red in spring {2000 + i}." for i in range(10)]
    docs = [make_document(t, doc_id=f"n{i}") for i, t in enumerate(texts)]
    assert {r.status for r in idx.add_documents(docs, given_ids=True)} == {"added"}
    assert max(sizes) == 4 and {d.doc_id for d in idx.documents()} >= {f"n{i}" for i in range(10)}
    again = [make_document(d.text.replace("red", "blue"), doc_id=d.doc_id) for d in docs]
    assert {r.status for r in idx.add_documents(again, given_ids=True)} == {"updated"}
    assert "blue" in idx.answer("What colour is buoy 7 painted?", doc_ids=["n7"]).passages[0].text
    assert store.chunks.count() == sum(d.chunks for d in store.list_documents())  # old rows swept
