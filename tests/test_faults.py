"""Index faults: damaged or missing stores, a writer killed half-way, concurrent writers, a server that goes away."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import ARTICLE, ROOT, free_port, run_cli, serving
from .test_server import _chroma_exe


def _garble(index_dir) -> None:
    db = index_dir / "chroma.sqlite3"
    data = bytearray(db.read_bytes())
    data[:512] = os.urandom(512)
    db.write_bytes(bytes(data))


def test_damaged_default_index_is_rebuilt(tmp_path):
    env = {"ASKDOC_INDEX_DIR": str(tmp_path / "index")}
    assert run_cli("ask", "When was NAM established?", env=env).returncode == 0
    _garble(tmp_path / "index")
    done = run_cli("ask", "When was NAM established?", env=env)
    assert done.returncode == 0, done.stderr
    assert "1961" in done.stdout and "damaged" in done.stderr  # a warning, then the answer
    assert [p.name for p in tmp_path.iterdir() if ".damaged-" in p.name]  # the old folder was kept aside


def test_damaged_index_with_user_documents_needs_rebuild(tmp_path):
    folder = tmp_path / "index"
    doc = tmp_path / "zeta.txt"
    doc.write_text("Zeta Notes\n\nThe zeta reactor is cooled by liquid sodium.\n", encoding="utf-8")
    assert run_cli("index", str(doc), "--index-dir", str(folder)).returncode == 0
    _garble(folder)
    done = run_cli("ask", "What cools the zeta reactor?", "--index-dir", str(folder))
    assert done.returncode == 4
    assert "damaged" in done.stderr and "askdoc index --rebuild" in done.stderr and "Traceback" not in done.stderr
    rebuilt = run_cli("index", "--rebuild", "--index-dir", str(folder))
    assert rebuilt.returncode == 0 and "zeta" in rebuilt.stdout
    done = run_cli("ask", "What cools the zeta reactor?", "--json", "--index-dir", str(folder))
    assert "sodium" in json.loads(done.stdout)["text"]


def test_a_missing_store_is_damage_and_rebuild_restores_it(tmp_path):
    """chroma.sqlite3 gone while the manifest lists the user's documents: not a new index.
    Nothing is written (the manifest stays as it was), and `--rebuild` restores them."""
    from askdoc import Index
    from askdoc.errors import IndexDamaged

    folder = tmp_path / "index"
    doc = tmp_path / "zeta.txt"
    doc.write_text("Zeta Notes\n\nThe zeta reactor is cooled by liquid sodium.\n", encoding="utf-8")
    assert run_cli("index", str(doc), "--index-dir", str(folder)).returncode == 0
    manifest = (folder / "askdoc-manifest.json").read_text()
    (folder / "chroma.sqlite3").unlink()
    for args in (("docs",), ("ask", "What cools the zeta reactor?")):
        done = run_cli(*args, "--index-dir", str(folder))
        assert done.returncode == 4 and "Traceback" not in done.stderr, done.stderr
        assert "chroma.sqlite3 is missing" in done.stderr and "askdoc index --rebuild" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(IndexDamaged, match="lists 1 document"):
        Index(folder)
    assert (folder / "askdoc-manifest.json").read_text() == manifest and not (folder / "chroma.sqlite3").exists()
    rebuilt = run_cli("index", "--rebuild", "--index-dir", str(folder))
    assert rebuilt.returncode == 0 and "zeta" in rebuilt.stdout, rebuilt.stderr
    assert "sodium" in Index(folder).answer("What cools the zeta reactor?").text
    # An index that held only the bundled article still rebuilds itself.
    env = {"ASKDOC_INDEX_DIR": str(tmp_path / "default")}
    assert run_cli("index", env=env).returncode == 0
    (tmp_path / "default" / "chroma.sqlite3").unlink()
    done = run_cli("ask", "When was NAM established?", env=env)
    assert done.returncode == 0 and "1961" in done.stdout, done.stderr


def test_named_indexes_in_one_folder_keep_their_own_manifests(tmp_path):
    from askdoc import Index
    from askdoc.errors import IndexDamaged

    one, two = Index(tmp_path, name="one"), Index(tmp_path, name="two")
    one.add_text("The first vault holds gold.", doc_id="gold")
    two.add_text("The second vault holds silver.", doc_id="silver")
    assert json.loads((tmp_path / "askdoc-manifest-one.json").read_text()).keys() == {"gold"}
    assert json.loads((tmp_path / "askdoc-manifest-two.json").read_text()).keys() == {"silver"}
    assert Index(tmp_path, name="three").documents() == []  # a new name is a new index, not damage
    (tmp_path / "askdoc-manifest-four.json").write_text('{"lost": {"title": "Lost", "source": null}}')
    with pytest.raises(IndexDamaged, match="holds no index 'four'"):
        Index(tmp_path, name="four")


def test_rebuild_with_an_unreadable_manifest_says_what_it_restored_and_where_the_old_index_went(tmp_path):
    """It used to drop the user's documents silently (and add the bundled article instead)."""
    folder = tmp_path / "index"
    doc = tmp_path / "zeta.txt"
    doc.write_text("Zeta Notes\n\nThe zeta reactor is cooled by liquid sodium.\n", encoding="utf-8")
    assert run_cli("index", str(doc), "--index-dir", str(folder)).returncode == 0
    (folder / "askdoc-manifest.json").write_text("{not json", encoding="utf-8")
    done = run_cli("index", "--rebuild", "--json", "--index-dir", str(folder))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    asides = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert len(asides) == 1 and str(asides[0]) in done.stderr
    assert "askdoc-manifest.json is not valid JSON" in done.stderr and "old store's own list" in done.stderr
    assert [r["doc_id"] for r in json.loads(done.stdout)] == ["zeta"]  # restored from the old store's list
    # Manifest and store both unreadable: nothing can be restored, and it says so.
    (folder / "askdoc-manifest.json").write_text("{not json", encoding="utf-8")
    _garble(folder)
    time.sleep(1.1)  # a new name for the folder moved aside
    done = run_cli("index", "--rebuild", "--index-dir", str(folder))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "none of the old index's documents could be restored" in done.stderr
    assert len([p for p in tmp_path.iterdir() if ".damaged-" in p.name]) == 2


def test_missing_index_folder_is_rebuilt(tmp_path):
    env = {"ASKDOC_INDEX_DIR": str(tmp_path / "index")}
    assert run_cli("index", env=env).returncode == 0
    import shutil

    shutil.rmtree(tmp_path / "index")
    done = run_cli("ask", "Who is the chairman of NAM?", env=env)
    assert done.returncode == 0 and "Ilham Aliyev" in done.stdout


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    from askdoc import Index
    from askdoc import store

    real_add = store.Store._add

    def slow_add(self, collection, *rows, **more):
        real_add(self, collection, *rows, **more)
        print("WROTE", collection.name, flush=True)
        time.sleep(30)  # killed here, between the new rows and the switch

    store.Store._add = slow_add
    Index(sys.argv[1]).add_text(sys.argv[2], doc_id="alpha")
    """
)


def test_writer_killed_half_way_leaves_the_previous_version(tmp_path):
    from askdoc import Index

    folder = tmp_path / "index"
    v1 = "Alpha Report\n\nThe alpha project started in 2001. It was led by Maria Gomez."
    v2 = "Alpha Report\n\nThe alpha project started in 2009. It was led by Ivan Petrov."
    Index(folder).add_text(v1, doc_id="alpha")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(folder), v2], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        line = proc.stdout.readline()  # new chunk rows are in the store
        assert line.startswith("WROTE"), line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    idx = Index(folder)
    ans = idx.answer("When did the alpha project start?")
    assert ans.found and "2001" in ans.text and "2009" not in ans.text
    assert all("2009" not in p.text for p in idx.answer("Who led the alpha project?").passages)
    # The next write sweeps the orphans: one generation of rows remains.
    assert idx.add_text(v2, doc_id="alpha").status == "updated"
    assert len({m["gen"] for m in idx.store.chunks.get(include=["metadatas"])["metadatas"]}) == 1
    assert "2009" in idx.answer("When did the alpha project start?").text


def test_two_processes_indexing_at_once_make_one_copy(tmp_path):
    folder = tmp_path / "index"
    doc = tmp_path / "zeta.txt"
    doc.write_text(
        "Zeta Notes\n\n" + " ".join(f"Zeta fact {i} is recorded here." for i in range(300)), encoding="utf-8"
    )
    cmd = [sys.executable, "-m", "askdoc.cli", "index", str(doc), "--index-dir", str(folder), "--json"]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    statuses = sorted(json.loads(out)[0]["status"] for out, _ in outs)
    assert statuses == ["added", "unchanged"]
    from askdoc import Index

    idx = Index(folder)
    (stored,) = idx.store.list_documents()
    assert idx.store.chunks.count() == stored.chunks
    assert _sentences_stored(idx) == stored.sentences


def _sentences_stored(idx) -> int:
    from askdoc.sentencerows import unpack_sentences as _unpack

    return sum(len(_unpack(m).spans) for m in idx.store.sentences.get(include=["metadatas"])["metadatas"])


def test_chroma_server_that_goes_away_fails_fast_and_recovers(tmp_path):
    from askdoc import Index, StoreUnavailable

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [_chroma_exe(), "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(cmd, f"{url}/api/v2/heartbeat", tmp_path / "first.log", timeout=60) as server:
        idx = Index(chroma_url=url, name="faults")
        idx.add_file(ARTICLE)
        assert idx.answer("Who is the chairman of NAM?").found
        server.kill()
        server.wait(timeout=20)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            idx.answer("Who is the chairman of NAM?")
        assert time.monotonic() - started < 15
    with serving(cmd, f"{url}/api/v2/heartbeat", tmp_path / "second.log", timeout=60):
        ans = idx.answer("Who is the chairman of NAM?")
        assert ans.found and "Ilham Aliyev" in ans.text


def test_a_frozen_chroma_server_is_reported_within_the_timeout(tmp_path):
    """A server stopped with SIGSTOP still accepts connections but never answers: `askdoc docs`
    hung past 90 s and a held Index for 150 s. ASKDOC_CHROMA_TIMEOUT now bounds every call."""
    from askdoc import Index, StoreUnavailable
    from askdoc.folder import REPLY_WAIT

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [_chroma_exe(), "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with serving(cmd, f"{url}/api/v2/heartbeat", tmp_path / "chroma.log", timeout=60) as server:
        idx = Index(chroma_url=url, name="frozen", chroma_timeout=1.0)
        idx.add_text("Zeta Notes\n\nThe zeta reactor is cooled by liquid sodium.", doc_id="zeta")
        assert "sodium" in idx.answer("What cools the zeta reactor?").text
        os.kill(server.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                idx.answer("What cools the zeta reactor?")
            assert time.monotonic() - started < 2 * REPLY_WAIT * 1.0 + 5
            started = time.monotonic()
            done = run_cli("docs", "--chroma-url", url, env={"ASKDOC_CHROMA_TIMEOUT": "1"}, timeout=60)
            assert done.returncode == 4 and "unreachable" in done.stderr, done.stderr
            assert time.monotonic() - started < 30  # the process's start included
        finally:
            os.kill(server.pid, signal.SIGCONT)
        assert "sodium" in idx.answer("What cools the zeta reactor?").text  # and it carries on


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf"])
def test_a_bad_chroma_timeout_is_a_clear_error(value):
    done = run_cli("docs", env={"ASKDOC_CHROMA_TIMEOUT": value})
    assert done.returncode == 2 and "ASKDOC_CHROMA_TIMEOUT must be" in done.stderr and "Traceback" not in done.stderr


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from filelock import FileLock

    with FileLock(sys.argv[1]):
        print("HELD", flush=True)
        time.sleep(120)
    """
)


def test_readers_do_not_wait_for_a_writer(tmp_path):
    """Another process holds the writer lock (as during a long indexing run): questions
    and `askdoc docs` are answered at once, not after it (up to the lock's 600 s timeout)."""
    from askdoc import Index

    folder = tmp_path / "index"
    assert run_cli("index", "--index-dir", str(folder)).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder / ".askdoc.lock")], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert holder.stdout.readline().startswith("HELD")
        started = time.monotonic()
        ans = Index(folder).answer("Who is the chairman of NAM?")
        assert ans.found and "Ilham Aliyev" in ans.text
        assert time.monotonic() - started < 20
        for args in (["docs"], ["ask", "When was NAM established?"]):
            done = run_cli(*args, "--index-dir", str(folder), timeout=60)
            assert done.returncode == 0, done.stderr
        assert "azerbaijan-leads-nam" in run_cli("docs", "--index-dir", str(folder), timeout=60).stdout
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_a_writer_embeds_before_it_takes_the_lock(tmp_path):
    """The writer lock is free while the sentences are embedded; it is taken for the write."""
    from askdoc import Index

    folder = tmp_path / "index"
    idx = Index(folder)
    probe = "import sys; from filelock import FileLock; FileLock(sys.argv[1]).acquire(timeout=0)"
    free_while_embedding = []
    real = idx.embedder.encode_pooled

    def encode_pooled(texts, progress=None):
        got = subprocess.run([sys.executable, "-c", probe, str(folder / ".askdoc.lock")], capture_output=True)
        free_while_embedding.append(got.returncode == 0)
        return real(texts, progress)

    idx.embedder.encode_pooled = encode_pooled
    assert idx.add_text("Beta Notes\n\nThe beta unit was built in 1990.", doc_id="beta").status == "added"
    assert free_while_embedding == [True]
    assert "1990" in idx.answer("When was the beta unit built?").text


def test_a_read_only_index_answers_and_refuses_changes(tmp_path):
    """A read-only folder (a read-only volume, another user's index) still answers, from a
    private copy (Chroma's embedded store writes even to read); a change is a one-line error.
    Tests run as root, whom file modes do not stop, so the commands run without root's
    capabilities (setpriv), which makes `chmod a-w` binding as it is for any other user."""
    import shutil

    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a folder read-only")
    folder = tmp_path / "index"
    assert run_cli("index", "--index-dir", str(folder)).returncode == 0
    before = sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*"))
    subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)
    as_user = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, sys.executable, "-m", "askdoc.cli", *args, "--index-dir", str(folder)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip

    try:
        docs = cli("docs")
        assert docs.returncode == 0 and "azerbaijan-leads-nam" in docs.stdout, docs.stderr
        ask = cli("ask", "Who is the chairman of NAM?")
        assert ask.returncode == 0 and "Ilham Aliyev" in ask.stdout, ask.stderr
        done = cli("remove", "azerbaijan-leads-nam")
        assert done.returncode == 4, done.stderr
        assert "not writable" in done.stderr and "internal error" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert not [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
        assert sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*")) == before
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)


def test_a_read_only_index_copy_follows_its_owners_changes(tmp_path, monkeypatch):
    """A reader of a read-only index answers from a private copy; when the folder's owner
    changes the index, the reader copies it again before its next answer (never stale)."""
    from askdoc import Index
    from askdoc import folder as folder_module
    from askdoc.errors import IndexReadOnly

    folder = tmp_path / "index"
    owner = Index(folder)
    owner.add_text("Tide Tables\n\nHigh tide at Marrow Point comes at 06:15 on weekdays.", doc_id="tide")
    monkeypatch.setattr(folder_module, "_writable", lambda f: Path(f) != folder)  # read-only, for this reader
    reader = Index(folder)
    assert reader._folder.is_copy and "06:15" in reader.answer("When is high tide at Marrow Point?").text
    owner.add_text("Tide Tables\n\nHigh tide at Marrow Point comes at 07:45 on weekdays.", doc_id="tide")
    assert "07:45" in reader.answer("When is high tide at Marrow Point?").text
    with pytest.raises(IndexReadOnly):
        reader.remove("tide")


def _as_before_sentence_rows(idx) -> None:
    """Rewrite an index's sentences as askdoc wrote them before sentence rows: one row per
    sentence, its vector in an HNSW index, in ``<name>-sentences``."""
    from askdoc.sentencerows import unpack_sentences as _unpack

    store, client = idx.store, idx.store._client
    old = client.create_collection(store.sentences.name.replace("-sentence-rows", "-sentences"),
                                   embedding_function=None, configuration={"hnsw": {"space": "cosine"}})  # fmt: skip
    got = store.sentences.get(include=["metadatas"])
    for cid, meta in zip(got["ids"], got["metadatas"]):
        doc_id, gen, chunk = cid.split("::")
        row = _unpack(meta)
        old.add(
            ids=[f"{doc_id}::{gen}::s{row.first + k}" for k in range(len(row.spans))],
            embeddings=row.vecs,
            metadatas=[
                {"doc_id": doc_id, "start": int(a), "end": int(b), "chunk": int(chunk), "gen": gen}
                for a, b in row.spans
            ],  # fmt: skip
        )
    client.delete_collection(store.sentences.name)


QUESTIONS = ["When was NAM established?", "Who is the chairman of NAM?", "What does the old vault hold?"]


def test_an_index_from_before_sentence_rows_is_converted_and_answers_the_same(tmp_path, article_text):
    """Sentence vectors moved out of an HNSW index (its memory, at 10^5 chunks). An index written
    before answers at once, converted rather than re-indexed, with the same quotes at the same places, and
    other processes see the change."""
    from askdoc import Index

    folder = tmp_path / "index"
    idx = Index(folder)
    idx.add_text(article_text, doc_id="nam")
    idx.add_text("Vault Notes\n\nThe old vault holds gold bars. It was sealed in 1931.", doc_id="vault")
    before = [idx.answer(q) for q in QUESTIONS]
    gens = idx.store.document_gens()
    _as_before_sentence_rows(idx)
    stamp = (folder / "askdoc-stamp").read_text()

    again = Index(folder)
    names = {c.name for c in again.store._client.list_collections()}
    assert "askdoc-sentence-rows" in names and "askdoc-sentences" not in names
    assert (folder / "askdoc-stamp").read_text() != stamp  # a write: other processes reopen
    assert again.store.document_gens() == gens  # converted, not re-indexed
    after = [again.answer(q) for q in QUESTIONS]
    assert [(a.text, a.exact, a.citations) for a in after] == [(b.text, b.exact, b.citations) for b in before]
    assert Index(folder).store.needs_conversion is False


def test_a_read_only_index_from_before_sentence_rows_answers(tmp_path, monkeypatch):
    """A read-only folder cannot be converted in place: its private copy is, and the folder is untouched."""
    from askdoc import Index
    from askdoc import folder as folder_module

    folder = tmp_path / "index"
    owner = Index(folder)
    owner.add_text("Tide Tables\n\nHigh tide at Marrow Point comes at 06:15 on weekdays.", doc_id="tide")
    _as_before_sentence_rows(owner)
    before = sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*"))
    monkeypatch.setattr(folder_module, "_writable", lambda f: Path(f) != folder)
    reader = Index(folder)
    assert reader._folder.is_copy
    assert "06:15" in reader.answer("When is high tide at Marrow Point?").text
    assert sorted((p.relative_to(folder), p.stat().st_mtime_ns) for p in folder.rglob("*")) == before
