"""Writes: how `Index` changes its store, one writer at a time.

A write embeds first, without any lock, then takes the writer lock, reads again
what other writers stored meanwhile, writes a new generation of rows, switches the
documents to it, lists them in the manifest, and only then deletes the older rows:
a writer killed at any point leaves the previous version answering, and a manifest
that cannot be written (a full disk) switches the documents back, so the manifest
and the store always agree.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from . import prepare
from .errors import StoreError, UnknownDocument
from .folder import manifest_path, read_only
from .records import Document, IndexResult
from .store import StoredDocument

log = logging.getLogger("askdoc")

#: Hears (sentences embedded so far, sentences to embed) while documents are indexed.
Progress = Callable[[int, int], None]


class Writes:
    """The write side of `Index` (a mixin: the attributes are `Index`'s)."""

    @contextlib.contextmanager
    def _writing(self):
        """One writer at a time: threads through a lock, processes through the lock file.
        It starts from what the last writer committed and, when it changed the store,
        leaves a new stamp for the readers."""
        if self._folder.is_copy:  # answering from a copy of a read-only folder
            raise read_only(self.settings.index_dir)
        with self._lock, self._folder.writer_lock():
            self._sync()
            self._touched, self._recorded, done = False, False, False
            try:
                yield
                if self.embedded and not self._recorded:
                    self._write_manifest()
                done = True
            finally:
                if self._touched:
                    stamp = self._publish()
                    if done:  # this object's caches already hold the change
                        self._seen = stamp

    def _publish(self) -> str | None:
        try:
            return self._folder.publish()
        except OSError as exc:  # a full disk: the change stands, other processes see it at the next write
            log.warning("could not leave the stamp that tells other processes of this change: %s", exc)
            return None

    def _write_manifest(self, docs: Sequence[Document] = (), without: str | None = None) -> None:
        """List the stored documents, and ``docs`` (being written), in the manifest."""
        listed = {d.doc_id: {"title": d.title, "source": d.source} for d in [*self.documents(), *docs]}
        listed.pop(without, None)
        path = manifest_path(self.settings.index_dir, self._name)
        tmp = path.with_suffix(".tmp")
        try:
            # Compact: json's C encoder (indent= takes the Python one, 25 ms a write at 700 documents).
            tmp.write_text(json.dumps(listed, separators=(",", ":")), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)  # the old manifest stands
            raise

    def _record(self, rows: Sequence[prepare.DocumentRows], previous: Sequence[StoredDocument], gen: str) -> None:
        """List the documents just switched to ``gen`` in the manifest, or, when it cannot be
        written (a full disk), switch them back to ``previous``: the store and the manifest
        always agree, and `--rebuild` restores what the store holds."""
        if not self.embedded:
            return
        try:
            self._write_manifest([r.doc for r in rows])
        except OSError as exc:
            back = {d.document.doc_id for d in previous}
            self.store.switch_back(previous, [r.doc.doc_id for r in rows if r.doc.doc_id not in back], gen)
            n = len(rows)
            raise StoreError(
                f"nothing was indexed: {_unwritable(self, exc)}; the {n} document{'s' * (n > 1)} written were "
                "rolled back, so the index is as it was"
            ) from None
        self._recorded = True

    def add_documents(
        self, docs: Sequence[Document], given_ids: bool = False, progress: Progress | None = None
    ) -> list[IndexResult]:
        """Index several documents in one pass: their sentences are embedded in
        shared batches and written in one store write. Unchanged ones are skipped.

        A document read from a file is that file's: it updates the document
        stored from the same source (each of them, when the file was also indexed
        under an id of the caller's: their results follow the others'), and never
        replaces another source's document that has its id, taking one of its own
        instead (``a-2``).
        With ``given_ids`` the caller chose the ids: each replaces what its id names.

        The embedding, which takes most of the time, happens before the writer lock
        is taken: the lock is held for the store write and the switch only.
        ``progress`` hears (sentences embedded so far, sentences to embed) as it goes.
        """
        self._sync()
        placed, results, todo = self._changes(docs, given_ids)
        if not todo:
            return [results[d.doc_id] for d in placed]  # without the lock or the model
        # Everything is computed before the store is touched, so a failure here
        # leaves the index as it was.
        made = prepare.document_rows([(d, fp) for d, fp, _ in todo], self.settings, self.embedder, progress)
        prepared = {(r.doc.doc_id, r.fingerprint): r for r in made}
        with self._writing():
            # Read again under the lock: another writer may have stored some of them meanwhile.
            placed, results, todo = self._changes(docs, given_ids)
            if todo:
                late = [(d, fp) for d, fp, _ in todo if (d.doc_id, fp) not in prepared]
                made = prepare.document_rows(late, self.settings, self.embedder)  # rarely any
                prepared.update({(r.doc.doc_id, r.fingerprint): r for r in made})
                rows = [replace(prepared[(d.doc_id, fp)], doc=d) for d, fp, _ in todo]
                for (doc, _, was_stored), r in zip(todo, rows):
                    results[doc.doc_id] = _result(doc, "updated" if was_stored else "added", len(r.chunks))
                previous = self.store.get_documents([d.doc_id for d, _, was_stored in todo if was_stored])
                self._touched = True
                # The older versions' rows go only once the manifest lists the new ones (see `_record`).
                gen, written = self.store.put_documents(rows, sweep=False)
                self._record(rows, previous, gen)
                self.store.sweep([r.doc.doc_id for r in rows], gen)
                stored = {
                    r.doc.doc_id: StoredDocument(r.doc, r.fingerprint, len(r.chunks), len(r.sentences), gen)
                    for r in rows
                }
                self._changed(stored, written)
        if self.embedded and self._retriever is None:
            # A writer keeps the lexical snapshot current (it tokenizes only what it wrote),
            # so that the next process to open the index need not read every chunk.
            self._get_retriever()
        return [results[d.doc_id] for d in placed]

    def _changes(
        self, docs: Sequence[Document], given_ids: bool
    ) -> tuple[list[Document], dict[str, IndexResult], list[tuple[Document, str, bool]]]:
        """The documents under the ids they will be stored as, the results of those
        stored unchanged, and the others with their fingerprints and whether a
        document is stored under their id."""
        if not given_ids:
            docs = self._own_ids(docs)
        unique = list({d.doc_id: d for d in docs}.values())  # the last of a doc_id given twice wins
        results: dict[str, IndexResult] = {}
        todo: list[tuple[Document, str, bool]] = []
        for doc in unique:
            fp = self.fingerprint(doc)
            prev = self.store.get_document(doc.doc_id)
            if prev is not None and prev.fingerprint == fp:
                results[doc.doc_id] = _result(doc, "unchanged", prev.chunks)
            else:
                todo.append((doc, fp, prev is not None))
        return list(docs), results, todo

    def _own_ids(self, docs: Sequence[Document]) -> list[Document]:
        """``docs`` with ids that keep each source's document apart (settled under the writer lock);
        then, for a file stored under more than one id (``--id X`` as well as its own), a copy
        for each other id, so that re-indexing the file updates them all."""
        sources = sorted({d.source for d in docs if d.source})
        if not sources:
            return list(docs)
        stored = self.store.ids_by_source(sources)  # source -> its documents' ids
        placed = {source: ids[0] for source, ids in stored.items()}
        claimed: dict[str, str | None] = {}  # id -> source, in this batch

        def taken(doc_id: str, source: str) -> bool:
            if doc_id in claimed:
                return claimed[doc_id] != source
            stored = self.store.source_of(doc_id)
            return stored is not None and stored != source

        out = []
        for doc in docs:
            doc_id = doc.doc_id
            if doc.source:
                if doc.source in placed:
                    doc_id = placed[doc.source]
                else:
                    n = 1
                    while taken(doc_id, doc.source):
                        n += 1
                        doc_id = f"{doc.doc_id}-{n}"
                    placed[doc.source] = doc_id
            claimed[doc_id] = doc.source
            out.append(doc if doc_id == doc.doc_id else replace(doc, doc_id=doc_id))
        also = [replace(doc, doc_id=i) for doc in docs if doc.source for i in stored.get(doc.source, [])[1:]]
        return out + also

    def remove(self, doc_id: str) -> None:
        """Drop a document and all its chunks."""
        with self._writing():
            if self.store.get_document(doc_id) is None:
                raise UnknownDocument(f"no document {doc_id!r} in the index")
            if self.embedded:
                # Unlisted first: when the manifest cannot be written (a full disk), nothing changes.
                try:
                    self._write_manifest(without=doc_id)
                except OSError as exc:
                    raise StoreError(f"{doc_id} was not removed: {_unwritable(self, exc)}") from None
                self._recorded = True
            self._touched = True
            self.store.delete_document(doc_id)
            self._changed({doc_id: None}, [])


def _unwritable(idx: Writes, exc: OSError) -> str:
    return f"{manifest_path(idx.settings.index_dir, idx._name)} could not be written ({exc.strerror or exc})"


def _result(doc: Document, status: str, chunks: int) -> IndexResult:
    furniture = len(doc.text[doc.body_end :].strip())
    return IndexResult(doc.doc_id, doc.title, status, chunks, doc.body_end - doc.body_start, furniture)
