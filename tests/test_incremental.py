"""Indexing at scale: batched embedding, bulk adds, and an index that grows in place."""

from __future__ import annotations

import numpy as np
import pytest

from askdoc import Index
from askdoc.ingest import make_document
from askdoc.lexical import Lexical

from .conftest import ARTICLE

TEXTS = [
    "The harbour froze in the winter of 1903 and ships waited for weeks.",
    "Copper mining made the town rich; the mines closed in 1961.",
    "The winter festival fills the harbour with lanterns every January.",
    "Ships from Norway brought timber, and the harbour grew.",
]


def test_lexical_add_and_drop_score_like_a_fresh_build():
    grown = Lexical()
    grown.add(TEXTS[:2])
    grown.add(["A paragraph about something else entirely, soon dropped."])
    grown.add(TEXTS[2:])
    grown.drop([2])
    fresh = Lexical()
    fresh.add(TEXTS)
    for query in (["harbour", "winter"], ["mine", "1961"], ["ship"]):
        got = grown.scores(query)
        assert got[2] == 0.0
        assert np.allclose(np.delete(got, 2), fresh.scores(query), atol=1e-6)
    assert grown.df == fresh.df and grown.idf("harbour") == fresh.idf("harbour")
    # Scoring only some rows leaves the others at 0.
    only = grown.scores(["harbour"], rows=np.array([0, 1]))
    assert only[3] == 0.0 and only[4] == 0.0


def test_batched_encoding_matches_sentence_transformers(embedder):
    texts = TEXTS + ["Short.", "A much longer sentence " * 20, "Mid-length text about a harbour in the north."]
    ours = embedder.encode(texts)
    reference = embedder.model.encode(texts, normalize_embeddings=True, batch_size=64)
    assert np.allclose(ours, reference, atol=1e-5)
    # A pooled chunk vector is the mean of its sentences' token vectors.
    vecs, sums = embedder.encode_pooled(TEXTS[:2])
    assert np.allclose(sums[0] / np.linalg.norm(sums[0]), vecs[0], atol=1e-5)


def test_fp16_stays_close_to_fp32():
    from askdoc.embed import Embedder

    half, full = Embedder(precision="fp16"), Embedder(precision="fp32")
    assert half.precision == "fp16" and full.precision == "fp32"  # "auto" is fp32 on a CPU
    cos = np.sum(half.encode(TEXTS) * full.encode(TEXTS), axis=1)
    assert cos.min() > 0.995


def test_a_document_joins_and_leaves_without_reloading_the_collection(fresh_index, monkeypatch):
    idx = fresh_index
    idx.add_file(ARTICLE)
    assert idx.answer("Who is the chairman of NAM?").found  # the lexical index is built here, once

    def reload(*_a, **_k):
        raise AssertionError("the whole collection was reloaded")

    monkeypatch.setattr(idx.store, "all_chunks", reload)
    monkeypatch.setattr(idx.store, "list_documents", reload)
    idx.add_text("Harbour Notes\n\n" + " ".join(TEXTS), doc_id="harbour")
    ans = idx.answer("When did the copper mines close?")
    assert ans.found and "1961" in ans.text and ans.citations[0].doc_id == "harbour"
    assert "Harbour Notes" in [d.title for d in idx.documents()]
    idx.remove("harbour")
    assert all(p.doc_id != "harbour" for p in idx.answer("When did the copper mines close?").passages)
    assert idx.answer("Where was the summit held?").found


def test_bulk_add_writes_each_document_once(fresh_index):
    docs = [make_document(f"Note {n}\n\n{text}", doc_id=f"note-{n}", title=f"Note {n}") for n, text in enumerate(TEXTS)]
    results = fresh_index.add_documents(docs + [docs[0]])  # a doc_id given twice is indexed once
    assert [r.status for r in results] == ["added"] * 4 + ["added"]
    assert fresh_index.add_documents(docs)[0].status == "unchanged"
    assert len(fresh_index.documents()) == 4
    assert fresh_index.store.chunks.count() == sum(r.chunks for r in results[:4])
    ans = fresh_index.answer("What did ships from Norway bring?")
    assert ans.found and "timber" in ans.text


@pytest.mark.parametrize("bad", ["fp8", "half"])
def test_unknown_precision_is_a_setting_error(bad):
    from askdoc.errors import ConfigError

    with pytest.raises(ConfigError, match="precision"):
        Index(precision=bad)


def test_whole_collections_are_read_in_pages(fresh_index, monkeypatch):
    from askdoc import store

    docs = [make_document(f"Note {n}\n\n{text}", doc_id=f"note-{n}", title=f"Note {n}") for n, text in enumerate(TEXTS)]
    fresh_index.add_documents(docs)
    monkeypatch.setattr(store, "PAGE", 3)  # 10^5 rows in one get() overflow SQLite's variable limit
    assert len(fresh_index.store.all_chunks()) == fresh_index.store.chunks.count() >= 4
    assert [d.document.doc_id for d in fresh_index.store.list_documents()] == [d.doc_id for d in docs]


def test_copies_of_one_text_take_one_place_among_the_passages(fresh_index, monkeypatch):
    idx = fresh_index
    copy = "Harbour Notes\n\n" + " ".join(TEXTS)
    idx.add_documents([make_document(copy, doc_id=f"copy-{n}", title="Harbour Notes") for n in range(6)])
    idx.add_text("Mining Notes\n\nThe copper mines closed in 1961 after the harbour froze.", doc_id="other")
    question = "When did the harbour freeze and the mines close?"
    passages = idx.answer(question, k=3).passages
    assert len({p.text for p in passages}) == len(passages)  # no text twice
    assert "other" in {p.doc_id for p in passages}
    # A new process tells the copies apart from the snapshot's text keys alone, reading no chunk.
    idx.flush()
    again = Index(idx.settings.index_dir)
    monkeypatch.setattr(again.store, "all_chunks", lambda ids=None: pytest.fail(f"read chunks of {ids}"))
    assert again.answer(question, k=3).passages == passages


def test_lexical_rows_survive_export_and_reload():
    grown = Lexical()
    grown.add(TEXTS)
    loaded = Lexical.from_arrays(*grown.export(range(len(TEXTS))))
    loaded.add(["The harbour museum opened in 1961."])  # rows added after a load score alike
    loaded.drop([1])
    fresh = Lexical()
    fresh.add([TEXTS[0], TEXTS[2], TEXTS[3], "The harbour museum opened in 1961."])
    for query in (["harbour", "winter"], ["mine", "1961"], ["ship"]):
        assert np.allclose(np.delete(loaded.scores(query), 1), fresh.scores(query), atol=1e-6)
    assert loaded.df == fresh.df
    # Exporting some rows (loaded and added alike) and keeping some of them on reload.
    words, ptr, ids, counts = loaded.export([0, 2, 3, 4])
    kept = Lexical.from_arrays(words, ptr, ids, counts, keep=np.array([True, False, True, True]))
    again = Lexical()
    again.add([TEXTS[0], TEXTS[3], "The harbour museum opened in 1961."])
    assert np.allclose(kept.scores(["harbour", "1961"]), again.scores(["harbour", "1961"]), atol=1e-6)


def _notes(n: int, extra: str = "") -> list:
    return [make_document(f"Note {i}\n\n{TEXTS[i % 4]} Entry {i}.{extra}", doc_id=f"note-{i}", title=f"Note {i}")
            for i in range(n)]  # fmt: skip


def test_a_new_process_opens_from_the_lexical_snapshot_and_tops_it_up(tmp_path, monkeypatch):
    """The snapshot saves re-reading and re-tokenizing every chunk, yet a document written
    after it was saved (added, changed or removed) is never answered from stale rows."""
    from askdoc import retrieve

    monkeypatch.setattr(retrieve, "SNAPSHOT_MIN_ROWS", 0)
    folder = tmp_path / "index"
    writer = Index(folder)
    writer.add_documents(_notes(6))
    writer.add_file(ARTICLE)
    snapshot = folder / "askdoc-lexical-askdoc.npz"
    assert snapshot.is_file()  # the writer saved it: no process has asked anything yet
    question = "When did the copper mines close?"
    before = writer.answer(question)
    monkeypatch.setattr(retrieve, "SNAPSHOT_MIN_ROWS", 10**9)  # from here on, nothing saves it again
    other = Index(folder)
    fetched: list = []
    real = other.store.all_chunks
    monkeypatch.setattr(other.store, "all_chunks", lambda ids=None: fetched.append(ids) or real(ids))
    assert other.answer(question) == before
    assert fetched == []  # nothing came from the store: every document was in the snapshot
    # Another writer changes one note, removes one, adds one: a new process fetches just those.
    writer.add_documents([make_document("Note 1\n\nThe copper mines closed in 1972, not before.", doc_id="note-1",
                                        title="Note 1")])  # fmt: skip
    writer.remove("note-2")
    writer.add_text("Tide Notes\n\nHigh tide at Marrow Point comes at 06:15.", doc_id="tide")
    third = Index(folder)
    real = third.store.all_chunks
    monkeypatch.setattr(third.store, "all_chunks", lambda ids=None: fetched.append(sorted(ids)) or real(ids))
    ans = third.answer(question)
    assert fetched == [["note-1", "tide"]]
    assert "1972" in ans.text and all(p.doc_id != "note-2" for p in ans.passages)
    snapshot.unlink()  # the same answers as a process that built everything from the store
    for q in (question, "When is high tide at Marrow Point?", "Where was the summit held?"):
        assert Index(folder).answer(q) == third.answer(q)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 not a zip", None])
def test_a_damaged_or_foreign_snapshot_is_ignored(tmp_path, monkeypatch, damage):
    from askdoc import retrieve

    monkeypatch.setattr(retrieve, "SNAPSHOT_MIN_ROWS", 0)
    folder = tmp_path / "index"
    Index(folder).add_documents(_notes(4))
    want = Index(folder).answer("What did ships from Norway bring?")
    snapshot = folder / "askdoc-lexical-askdoc.npz"
    if damage is None:  # another index's snapshot under this name: its origin differs
        Index(folder, name="other").add_documents(_notes(4, " Other."))
        Index(folder, name="other").answer("ships")
        (folder / "askdoc-lexical-other.npz").replace(snapshot)
    else:
        snapshot.write_bytes(damage)
    assert Index(folder).answer("What did ships from Norway bring?") == want


def test_flush_leaves_a_snapshot_that_a_new_process_reads_whole(tmp_path, monkeypatch):
    from askdoc import retrieve

    monkeypatch.setattr(retrieve, "SNAPSHOT_MIN_ROWS", 10**9)  # never saved on its own here
    folder = tmp_path / "index"
    writer = Index(folder)
    writer.add_documents(_notes(5))
    assert not (folder / "askdoc-lexical-askdoc.npz").exists()
    writer.flush()
    reader = Index(folder)
    monkeypatch.setattr(reader.store, "all_chunks", lambda ids=None: pytest.fail(f"read chunks of {ids}"))
    assert "timber" in reader.answer("What did ships from Norway bring?").text


def test_rows_renumbered_after_many_removals_answer_as_a_fresh_process_does(tmp_path, monkeypatch):
    """Removed documents' rows are renumbered away once they outnumber the live ones; the
    renumbered rows keep every chunk's offsets, sentences, title and byline, and copies."""
    from askdoc import retrieve

    monkeypatch.setattr(retrieve, "RENUMBER_MIN_DEAD", 0)
    folder = tmp_path / "index"
    idx = Index(folder)
    idx.add_file(ARTICLE)
    idx.add_documents(_notes(6))
    idx.add_documents([make_document("Copy\n\n" + TEXTS[0], doc_id=f"copy-{n}", title="Copy") for n in range(2)])
    retriever = idx._get_retriever()
    for round_ in range(5):  # each round leaves the notes' old rows dead
        idx.add_documents(_notes(6, f" Round {round_}."))
        renumbered = retriever.lexical.rows == retriever.lexical.n
        if renumbered:
            break
    assert renumbered
    questions = ["When did the copper mines close?", "Who wrote the article?", "What is the title of the article?",
                 "Where was the summit held?", "What did ships from Norway bring?"]  # fmt: skip
    fresh = Index(folder)
    (folder / "askdoc-lexical-askdoc.npz").unlink(missing_ok=True)  # built from the store alone
    for q in questions:
        assert idx.answer(q) == fresh.answer(q)
    assert _table(retriever) == _table(fresh._get_retriever())


def _table(retriever) -> dict:
    """What a retriever holds of each live chunk, its role chunks and its copies' stand-ins."""
    t = retriever.rows
    chunks = {cid: (t.doc_id(r), t.offsets(r), t.sentence_range(r), t.section(r), t.roles.get(r), t.keys[r])
              for cid, r in t.row.items()}  # fmt: skip
    roles = {role: {d: sorted(t.ids[r] for r in rows) for d, rows in by.items() if rows}
             for role, by in t.role_rows.items()}  # fmt: skip
    return {"chunks": chunks, "roles": roles, "canonical": {k: t.ids[r] for k, r in t.canonical.items()}}
